package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/testdb"
)

func TestCrossOriginStateChangesAreRefused(t *testing.T) {
	t.Parallel()
	const sameOrigin = "SAME-ORIGIN" // replaced by the instance's origin
	cases := []struct {
		name    string
		headers []string // name, value pairs
		refused bool
	}{
		{"refuses a foreign Origin", []string{"Origin", "https://evil.example"}, true},
		{"refuses our host name on another port", []string{"Origin", "http://localhost:1"}, true},
		{"refuses an opaque Origin", []string{"Origin", "null"}, true},
		{"refuses Sec-Fetch-Site cross-site", []string{"Sec-Fetch-Site", "cross-site"}, true},
		{"refuses Sec-Fetch-Site same-site, a sibling subdomain", []string{"Sec-Fetch-Site", "same-site"}, true},
		{"refuses Sec-Fetch-Site cross-site even with our own Origin", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, true},
		{"allows our own Origin", []string{"Origin", sameOrigin}, false},
		{"allows Sec-Fetch-Site same-origin", []string{"Sec-Fetch-Site", "same-origin"}, false},
		{"allows Sec-Fetch-Site same-origin with our Origin", []string{"Sec-Fetch-Site", "same-origin", "Origin", sameOrigin}, false},
		{"allows a client that sends neither header, like curl", nil, false},
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		s.member(victimEmail)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				hdr := append([]string(nil), tc.headers...)
				for i := range hdr {
					if hdr[i] == sameOrigin {
						hdr[i] = s.URL
					}
				}
				before := s.written()
				c := s.client()
				r := postJSON(c, "/api/signin/password", credentials(victimEmail, goodPassword), hdr...)
				if !tc.refused {
					wantSigninAnswer(t, r, http.StatusOK, victimEmail)
					return
				}
				wantAPIError(t, r, http.StatusForbidden, "cross_origin")
				if sc := r.Header.Values("Set-Cookie"); len(sc) > 0 {
					t.Errorf("a refused sign-in set cookies: %q", sc)
				}
				s.unchangedSince(t, before)

				// Nor may another site sign a member up, out, or revoke sessions.
				wantAPIError(t, postJSON(c, "/api/signup", credentials("new@example.com", goodPassword), hdr...), http.StatusForbidden, "cross_origin")
				member := s.client()
				wantStatus(t, member.Signin(victimEmail, goodPassword), http.StatusOK)
				before = s.written()
				for _, path := range []string{"/api/session", "/api/sessions"} {
					r := member.Do(http.MethodDelete, path, nil, jsonHeader(hdr...))
					wantAPIError(t, r, http.StatusForbidden, "cross_origin")
				}
				form := member.Do(http.MethodPost, "/account/sessions/revoke-all", nil,
					http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, http.CanonicalHeaderKey(hdr[0]): {hdr[1]}})
				if form.Status != http.StatusForbidden || !strings.Contains(form.Header.Get("Content-Type"), "text/html") {
					t.Errorf("cross-origin form post: %d %q, want a 403 page", form.Status, form.Header.Get("Content-Type"))
				}
				s.unchangedSince(t, before)
				currentSession(t, member)
			})
		}
	})
}
