package web_test

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/passkey/passkeytest"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// twoOrigins serves keyshift on a.localhost (the primary origin, and so
// the RP ID) and on b.localhost (config origins), both on the instance's
// port: one site on two names, as related origins serve it. The clients
// dial 127.0.0.1 whatever the name (servertest.Instance.ClientAt).
func twoOrigins(c *config.Config) {
	_, port, _ := net.SplitHostPort(c.Listen)
	c.Origin = "http://a.localhost:" + port
	c.Origins = []string{"http://b.localhost:" + port}
}

// relatedSite is keyshift on two origins, with the second's address.
type relatedSite struct {
	*liveSite
	a, b string
}

func startRelatedSite(t *testing.T, database string) *relatedSite {
	s := startPasskeySite(t, database, twoOrigins)
	return &relatedSite{liveSite: s, a: s.URL, b: s.Server.Config.Origins[0]}
}

// keyAt returns a software authenticator for the RP ID a.localhost, as a
// browser on origin uses it: clientDataJSON names origin.
func keyAt(t *testing.T, k *softKey, origin string) *softKey {
	moved := *k.Key
	moved.RP.Origin = origin
	return &softKey{Key: &moved, t: t}
}

// wantSignedInAs checks a passkey sign-in's answer: 200 for email.
func wantSignedInAs(t *testing.T, r *servertest.Response, email string) {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	var answer struct {
		User struct {
			Email string `json:"email"`
		} `json:"user"`
	}
	r.JSON(t, &answer)
	if answer.User.Email != email {
		t.Errorf("signed in as %q, want %q", answer.User.Email, email)
	}
}

func TestOnePasskeySignsInOnBothOrigins(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startRelatedSite(t, database)

		// Ada signs up and adds a passkey on A.
		onA := s.ClientAt(t, s.a)
		wantStatus(t, postJSON(onA, "/api/signup", credentials("ada@example.com", goodPassword)), http.StatusCreated)
		key := &softKey{Key: passkeytest.New(t, s.a), t: t}
		wantStatus(t, key.register(onA), http.StatusCreated)

		// On B, a browser with no cookie of A's signs in with it, both ways.
		for _, body := range []any{map[string]any{}, map[string]any{"email": "ada@example.com"}} {
			onB := s.ClientAt(t, s.b)
			wantSignedInAs(t, keyAt(t, key, s.b).signin(onB, body, "modal"), "ada@example.com")
			if got := currentSession(t, onB).User.Email; got != "ada@example.com" {
				t.Errorf("the session on B is %q's", got)
			}
			// A step-up on B is a ceremony of B's too.
			cer := begin(t, onB, "/api/reauth/begin", map[string]any{})
			a := keyAt(t, key, s.b).assertionFor(cer)
			wantStatus(t, onB.JSON(http.MethodPost, "/api/reauth/finish", map[string]any{"flowId": cer.FlowID, "credential": a.JSON()}), http.StatusOK)
		}

		// And a passkey added on B signs in on A.
		onB := s.ClientAt(t, s.b)
		wantStatus(t, postJSON(onB, "/api/signup", credentials("bob@example.com", goodPassword)), http.StatusCreated)
		bobKey := &softKey{Key: passkeytest.New(t, s.a), t: t}
		bobKey.RP.Origin = s.b
		wantStatus(t, bobKey.register(onB), http.StatusCreated)
		wantSignedInAs(t, keyAt(t, bobKey, s.a).signin(s.ClientAt(t, s.a), map[string]any{}, "modal"), "bob@example.com")
	})
}

func TestACeremonyBegunOnOneOriginIsNotFinishedOnTheOther(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startRelatedSite(t, database)
		onA := s.ClientAt(t, s.a)
		wantStatus(t, postJSON(onA, "/api/signup", credentials("ada@example.com", goodPassword)), http.StatusCreated)
		key := &softKey{Key: passkeytest.New(t, s.a), t: t}
		wantStatus(t, key.register(onA), http.StatusCreated)

		t.Run("refuses a sign-in begun on A and answered by a page on B", func(t *testing.T) {
			c := s.ClientAt(t, s.a)
			cer := begin(t, c, "/api/passkeys/login/begin", map[string]any{})
			r := finishLogin(c, cer.FlowID, keyAt(t, key, s.b).assertionFor(cer).JSON(), "modal")
			wantRefused(t, r, http.StatusUnauthorized, "passkey_rejected", "")
			if sc := r.Header.Values("Set-Cookie"); len(sc) > 0 {
				t.Errorf("a refused sign-in set cookies: %q", sc)
			}
		})
		t.Run("refuses a sign-in begun on B and answered by a page on A", func(t *testing.T) {
			c := s.ClientAt(t, s.b)
			cer := begin(t, c, "/api/passkeys/login/begin", map[string]any{"email": "ada@example.com"})
			r := finishLogin(c, cer.FlowID, keyAt(t, key, s.a).assertionFor(cer).JSON(), "modal")
			wantRefused(t, r, http.StatusUnauthorized, "passkey_rejected", "")
		})
		t.Run("refuses a registration begun on B and answered by a page on A", func(t *testing.T) {
			onB := s.ClientAt(t, s.b)
			wantSignedInAs(t, keyAt(t, key, s.b).signin(onB, map[string]any{}, "modal"), "ada@example.com")
			other := &softKey{Key: passkeytest.New(t, s.a), t: t}
			cer := begin(t, onB, "/api/passkeys/register/begin", map[string]any{})
			r := finishRegister(onB, cer.FlowID, other.attestationFor(cer).JSON(), "")
			wantRefused(t, r, http.StatusBadRequest, "invalid_credential", "wrong_origin")
			if n := len(listPasskeys(t, onB)); n != 1 {
				t.Errorf("%d passkeys after the refusal, want the one from before", n)
			}
		})
	})
}

func TestTheHostAndCrossOriginChecksAdmitEveryOrigin(t *testing.T) {
	t.Parallel()
	s := startRelatedSite(t, testdb.Backends()[0].Database(t))
	port := s.a[len("http://a.localhost:"):]
	cases := []struct {
		name    string
		host    string
		headers []string
		status  int
		code    string
	}{
		{"admits the further origin's host", "b.localhost:" + port, nil, http.StatusOK, ""},
		{"admits the primary origin's host", "a.localhost:" + port, nil, http.StatusOK, ""},
		{"refuses a host of neither", "c.localhost:" + port, nil, http.StatusMisdirectedRequest, "misdirected_request"},
		{"admits a page on A posting to B", "b.localhost:" + port, []string{"Origin", s.a, "Sec-Fetch-Site", "same-site"}, http.StatusOK, ""},
		{"admits a page on B posting to A", "a.localhost:" + port, []string{"Origin", s.b, "Sec-Fetch-Site", "same-site"}, http.StatusOK, ""},
		{"refuses a page of neither", "b.localhost:" + port, []string{"Origin", "http://c.localhost:" + port, "Sec-Fetch-Site", "same-site"}, http.StatusForbidden, "cross_origin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := s.ClientAt(t, "http://"+tc.host)
			r := postJSON(c, "/api/passkeys/login/begin", []byte(`{}`), tc.headers...)
			if tc.code == "" {
				wantStatus(t, r, tc.status)
				return
			}
			wantAPIError(t, r, tc.status, tc.code)
		})
	}
}

func TestWellKnownWebAuthnListsEveryOrigin(t *testing.T) {
	t.Parallel()
	s := startRelatedSite(t, testdb.Backends()[0].Database(t))
	// On either origin, and on a host of neither: the RP ID's host may be
	// the site's own domain, routing only this path to keyshift.
	for _, origin := range []string{s.a, s.b, "http://example.localhost:" + s.a[len("http://a.localhost:"):]} {
		t.Run("on "+origin, func(t *testing.T) {
			r := s.ClientAt(t, origin).Do(http.MethodGet, "/.well-known/webauthn", nil, nil)
			wantStatus(t, r, http.StatusOK)
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=3600" {
				t.Errorf("Cache-Control %q, want it cacheable", cc)
			}
			var doc map[string][]string
			if err := json.Unmarshal(r.Body, &doc); err != nil || len(doc) != 1 {
				t.Fatalf("body %s: %v; want {\"origins\": [...]} alone", r.Body, err)
			}
			if got := doc["origins"]; len(got) != 2 || got[0] != s.a || got[1] != s.b {
				t.Errorf("origins %q, want [%s %s], the primary first", got, s.a, s.b)
			}
		})
	}
	t.Run("lists the origin alone without further origins", func(t *testing.T) {
		one := startSite(t, testdb.Backends()[0].Database(t))
		r := one.Client(t).Do(http.MethodGet, "/.well-known/webauthn", nil, nil)
		wantStatus(t, r, http.StatusOK)
		if want := `{"origins":["` + one.URL + `"]}`; string(r.Body) != want {
			t.Errorf("body %s, want %s", r.Body, want)
		}
	})
}

// TestMailLinksKeepThePrimaryOrigin: a sign-in mail asked for on B links
// to A, the primary origin, as every mail does (docs/configuration.md,
// "Related origins").
func TestMailLinksKeepThePrimaryOrigin(t *testing.T) {
	t.Parallel()
	box := mailbox{mailtest.Start(t)}
	in := servertest.Start(t, testdb.Backends()[0].Database(t), twoOrigins, func(c *config.Config) { c.SMTPURLs = []string{box.URL()} })
	s := &emailSite{Instance: in, box: box}
	onB := s.ClientAt(t, in.Server.Config.Origins[0])
	s.start(t, onB, "ada@example.com")
	m := s.box.nth(t, "ada@example.com", 1)
	if !strings.HasPrefix(m.link, in.URL+"/email/verify?token=") {
		t.Errorf("link %q does not start at the primary origin %s", m.link, in.URL)
	}
}
