package web_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/session"
	"github.com/keyshift/keyshift/internal/testdb"
)

// withCookie returns a fresh client of s that carries only the cookie
// name=value, as a thief who copied it would.
func withCookie(t *testing.T, s *liveSite, name, value string) *servertest.Client {
	t.Helper()
	c := s.Client(t)
	c.SetCookie(name, value)
	return c
}

// sessionAlive reports whether a browser carrying only the session
// cookie value is signed in.
func sessionAlive(t *testing.T, s *liveSite, value string) bool {
	t.Helper()
	return withCookie(t, s, sessionCookie, value).JSON(http.MethodGet, "/api/session", nil).Status == http.StatusOK
}

// TestSessionTokenRotatesWhenWhatItProvesChanges: a password set or
// changed, a passkey added and a password removed each give the browser's
// session a new token; the token from before stops working at once, so a
// copy taken earlier is worth nothing, and the member stays signed in.
func TestSessionTokenRotatesWhenWhatItProvesChanges(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newMemberWithoutPasskey(t, s, "ada@example.com")
		id := currentSession(t, ada.c).Session.ID
		steps := []struct {
			name string
			do   func() *servertest.Response
			want int
		}{
			{"a password change", func() *servertest.Response {
				return ada.c.JSON(http.MethodPost, "/api/account/password", map[string]any{
					"currentPassword": goodPassword, "newPassword": "a brand new passphrase 7"})
			}, http.StatusOK},
			{"a passkey added", func() *servertest.Response {
				ada.key = newSoftKey(t, s)
				return ada.key.register(ada.c)
			}, http.StatusCreated},
			// A member with a passkey confirms with it before the
			// password goes (docs/security.md, "Step-up").
			{"a passkey step-up", func() *servertest.Response {
				return stepUpWith(t, ada.c, ada.key)
			}, http.StatusOK},
			{"the password removed", func() *servertest.Response {
				return ada.c.JSON(http.MethodDelete, "/api/account/password", nil)
			}, http.StatusNoContent},
		}
		for _, st := range steps {
			before := ada.c.Cookie(sessionCookie)
			wantStatus(t, st.do(), st.want)
			after := ada.c.Cookie(sessionCookie)
			if after == before || after == "" {
				t.Fatalf("%s: the session cookie was not renewed", st.name)
			}
			if sessionAlive(t, s, before) {
				t.Errorf("%s: the token from before still signs in", st.name)
			}
			if got := currentSession(t, ada.c).Session.ID; got != id {
				t.Errorf("%s: session %s became %s, want the same session with a new token", st.name, id, got)
			}
		}
	})
}

// TestSessionsPerMemberAreCapped: sign-ins in a loop cannot grow a
// member's sessions without bound; past session.MaxSessions the oldest
// ends, and the list comes in pages.
func TestSessionsPerMemberAreCapped(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		first := s.member("ada@example.com")
		firstToken := first.Cookie(sessionCookie)
		var last *servertest.Client
		for range session.MaxSessions + 5 {
			last = s.client()
			wantStatus(t, last.Signin("ada@example.com", goodPassword), http.StatusOK)
			s.Clock.Advance(time.Millisecond) // distinct creation times
		}
		if sessionAlive(t, s, firstToken) {
			t.Error("the oldest session survived past the cap")
		}
		seen := map[string]bool{}
		cursor := ""
		for page := 0; ; page++ {
			q := url.Values{"limit": {"20"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			r := last.JSON(http.MethodGet, "/api/sessions?"+q.Encode(), nil)
			wantStatus(t, r, http.StatusOK)
			var body struct {
				Sessions []struct {
					ID string `json:"id"`
				} `json:"sessions"`
				Next *string `json:"next"`
			}
			r.JSON(t, &body)
			for _, x := range body.Sessions {
				if seen[x.ID] {
					t.Fatalf("page %d repeats session %s", page, x.ID)
				}
				seen[x.ID] = true
			}
			if body.Next == nil {
				break
			}
			if len(body.Sessions) != 20 || page > 5 {
				t.Fatalf("page %d: %d sessions with a next page", page, len(body.Sessions))
			}
			cursor = *body.Next
		}
		if len(seen) != session.MaxSessions {
			t.Errorf("%d sessions listed, want %d", len(seen), session.MaxSessions)
		}
		for _, bad := range []string{"limit=0", "limit=51", "limit=x", "cursor=%21%21", "cursor=" + url.QueryEscape("bm9wZQ")} {
			if r := last.JSON(http.MethodGet, "/api/sessions?"+bad, nil); r.Status != http.StatusBadRequest || r.ErrorCode() != "invalid_request" {
				t.Errorf("?%s: %d %s, want 400 invalid_request", bad, r.Status, r.Body)
			}
		}
	})
}

// TestDeviceCookiesDieWithTheMembersCleanUps: a device cookie exempts its
// browser from strangers' throttling only until the member signs out
// everywhere or changes the password; a thief's copy then counts as a
// stranger's browser, while the browser that changed the password keeps
// (a renewed) trust.
func TestDeviceCookiesDieWithTheMembersCleanUps(t *testing.T) {
	cleanUps := []struct {
		name string
		do   func(t *testing.T, laptop *servertest.Client)
		// keeps: the laptop that cleaned up is still a trusted device.
		keeps bool
	}{
		{"sign out everywhere", func(t *testing.T, laptop *servertest.Client) {
			wantStatus(t, laptop.JSON(http.MethodDelete, "/api/sessions", nil), http.StatusNoContent)
		}, false},
		{"a password change", func(t *testing.T, laptop *servertest.Client) {
			wantStatus(t, laptop.JSON(http.MethodPost, "/api/account/password", map[string]any{
				"currentPassword": goodPassword, "newPassword": goodPassword + " changed"}), http.StatusOK)
		}, true},
	}
	for _, cu := range cleanUps {
		t.Run(cu.name, func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, database string) {
				t.Parallel()
				s := startSite(t, database)
				laptop := s.member(victimEmail)
				stolen := laptop.Cookie(deviceCookie)
				if stolen == "" {
					t.Fatal("no device cookie after sign-up")
				}
				cu.do(t, laptop)
				thief := withCookie(t, s, deviceCookie, stolen)
				failFreely(t, s.client(), victimEmail)
				wantThrottled(t, thief.Signin(victimEmail, goodPassword))
				if cu.keeps {
					wantSigninAnswer(t, laptop.Signin(victimEmail, goodPassword+" changed"), http.StatusOK, victimEmail)
				} else {
					wantThrottled(t, laptop.Signin(victimEmail, goodPassword))
				}
			})
		})
	}
}
