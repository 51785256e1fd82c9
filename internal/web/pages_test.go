package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// inputTag returns the <input> tag of the named field in page, or "".
func inputTag(page []byte, name string) string {
	re := regexp.MustCompile(`<input[^>]*\bname="` + regexp.QuoteMeta(name) + `"[^>]*>`)
	return string(re.Find(page))
}

// wantPage fails t unless r is an HTML page with status.
func wantPage(t *testing.T, r *servertest.Response, status int) string {
	t.Helper()
	wantStatus(t, r, status)
	if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q, want HTML", ct)
	}
	return string(r.Body)
}

// wantRedirect fails t unless r is a 303 to location.
func wantRedirect(t *testing.T, r *servertest.Response, location string) {
	t.Helper()
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != location {
		t.Fatalf("%d to %q, want 303 to %q; body %s", r.Status, r.Header.Get("Location"), location, r.Body)
	}
}

func TestSigninAndSignupPagesGuideTheMember(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		c := s.client()

		signin := wantPage(t, c.Do(http.MethodGet, "/signin", nil, nil), http.StatusOK)
		if tag := inputTag([]byte(signin), "email"); !strings.Contains(tag, `autocomplete="username webauthn"`) {
			t.Errorf("the sign-in email field does not offer passkey autofill: %s", tag)
		}
		if tag := inputTag([]byte(signin), "password"); !strings.Contains(tag, `autocomplete="current-password"`) {
			t.Errorf("the sign-in password field: %s", tag)
		}

		signup := wantPage(t, c.Do(http.MethodGet, "/signup", nil, nil), http.StatusOK)
		if !strings.Contains(signup, "15 or more") {
			t.Errorf("the sign-up page does not recommend 15 characters:\n%s", signup)
		}
		if tag := inputTag([]byte(signup), "password"); !strings.Contains(tag, `autocomplete="new-password"`) {
			t.Errorf("the sign-up password field: %s", tag)
		}
	})
}

func TestSignupFormShowsErrorsBesideTheirField(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, email, password string
		status                int
		field, words          string
	}{
		{"shows a short password beside the password", "new@example.com", "k3!x", 400, "password", "Use at least 8 characters"},
		{"shows a common password beside the password", "new@example.com", "iloveyou", 400, "password", "leaked in data breaches"},
		{"shows a malformed email beside the email", "not an address", goodPassword, 400, "email", "Enter your email address"},
		{"shows a taken email beside the email", "TAKEN@example.com", goodPassword, 409, "email", "already exists"},
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		s.member("taken@example.com")
		before := s.written()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := s.client().Form("/signup", formValues(tc.email, tc.password))
				page := wantPage(t, r, tc.status)
				if tag := inputTag(r.Body, tc.field); !strings.Contains(tag, `aria-invalid="true"`) {
					t.Errorf("the %s field is not marked invalid: %s", tc.field, tag)
				}
				errorText := regexp.MustCompile(`<p class="error" id="` + tc.field + `-error">([^<]*)</p>`).FindStringSubmatch(page)
				if errorText == nil || !strings.Contains(errorText[1], tc.words) {
					t.Errorf("no error %q beside the %s field:\n%s", tc.words, tc.field, page)
				}
				if tag := inputTag(r.Body, "email"); !strings.Contains(tag, `value="`+tc.email+`"`) {
					t.Errorf("the email typed is not kept: %s", tag)
				}
				if c := setCookie(t, r, sessionCookie); c != nil {
					t.Errorf("a refused sign-up set a session cookie")
				}
				s.unchangedSince(t, before)
			})
		}
	})
}

func TestSigninFormSignsInAndSendsToTheAccount(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		s.member("ada@example.com")
		c := s.client()

		wantRedirect(t, c.Do(http.MethodGet, "/account", nil, nil), "/signin")
		wantRedirect(t, c.Do(http.MethodGet, "/", nil, nil), "/signin")

		page := wantPage(t, c.Form("/signin", formValues("ada@example.com", "not the password")), http.StatusUnauthorized)
		if !strings.Contains(page, `role="alert"`) || !strings.Contains(page, "don’t match") {
			t.Errorf("a failed sign-in does not say so:\n%s", page)
		}

		r := c.Form("/signin", formValues("ada@example.com", goodPassword))
		wantRedirect(t, r, "/account")
		wantSafeCookie(t, r, sessionCookie)
		wantPage(t, c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		wantRedirect(t, c.Do(http.MethodGet, "/", nil, nil), "/account")

		// And a form sign-up works too.
		n := s.client()
		r = n.Form("/signup", formValues("new@example.com", goodPassword))
		wantRedirect(t, r, "/account")
		if got := currentSession(t, n).User.Email; got != "new@example.com" {
			t.Errorf("signed up as %q", got)
		}

		// The sign-out form ends the session.
		wantRedirect(t, c.Form("/signout", nil), "/signin")
		wantSignedOut(t, c)
		wantRedirect(t, c.Do(http.MethodGet, "/account", nil, nil), "/signin")
	})
}

func TestAccountPageManagesSessions(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		laptop := s.member("ada@example.com")
		phone := s.client()
		wantStatus(t, phone.Signin("ada@example.com", goodPassword), http.StatusOK)
		laptopID := currentSession(t, laptop).Session.ID
		phoneID := currentSession(t, phone).Session.ID

		r := laptop.Do(http.MethodGet, "/account", nil, nil)
		page := wantPage(t, r, http.StatusOK)
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("the account page has Cache-Control %q, want no-store", got)
		}
		for _, id := range []string{laptopID, phoneID} {
			if !strings.Contains(page, `<form method="post" action="/account/sessions/`+id+`/revoke">`) {
				t.Errorf("no revoke form for session %s:\n%s", id, page)
			}
		}
		if !strings.Contains(page, `action="/account/sessions/revoke-all"`) {
			t.Errorf("no sign-out-everywhere form:\n%s", page)
		}
		if n := strings.Count(page, "This device"); n != 1 {
			t.Errorf(`"This device" appears %d times, want once`, n)
		}

		// Revoking the phone from the laptop.
		wantRedirect(t, laptop.Form("/account/sessions/"+phoneID+"/revoke", nil), "/account")
		wantSignedOut(t, phone)
		page = wantPage(t, laptop.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		if strings.Contains(page, phoneID) {
			t.Errorf("the revoked session is still listed")
		}

		// Revoking this very session signs this browser out.
		tablet := s.client()
		wantStatus(t, tablet.Signin("ada@example.com", goodPassword), http.StatusOK)
		tabletID := currentSession(t, tablet).Session.ID
		wantRedirect(t, tablet.Form("/account/sessions/"+tabletID+"/revoke", nil), "/signin")
		wantSignedOut(t, tablet)

		// Sign out everywhere.
		wantStatus(t, phone.Signin("ada@example.com", goodPassword), http.StatusOK)
		wantRedirect(t, laptop.Form("/account/sessions/revoke-all", nil), "/signin")
		wantSignedOut(t, laptop)
		wantSignedOut(t, phone)

		// Without a session the forms send to the sign-in page.
		wantRedirect(t, laptop.Form("/account/sessions/revoke-all", nil), "/signin")
		wantRedirect(t, laptop.Form("/account/sessions/"+laptopID+"/revoke", nil), "/signin")
	})
}

func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		member := s.member("ada@example.com")
		anon := s.client()
		requests := []struct {
			name    string
			client  *servertest.Client
			method  string
			path    string
			body    []byte
			headers []string
			api     bool // API answers are never cached
		}{
			{"the sign-in page", anon, "GET", "/signin", nil, nil, false},
			{"the sign-up page", anon, "GET", "/signup", nil, nil, false},
			{"the account page", member, "GET", "/account", nil, nil, false},
			{"the redirect to sign-in", anon, "GET", "/account", nil, nil, false},
			{"the not-found page", anon, "GET", "/no/such/page", nil, nil, false},
			{"a refused form", anon, "POST", "/signup", []byte("email=x"), []string{"Content-Type", "application/x-www-form-urlencoded"}, false},
			{"the stylesheet", anon, "GET", "/static/style.css", nil, nil, false},
			{"the health check", anon, "GET", "/healthz", nil, nil, false},
			{"the readiness check", anon, "GET", "/readyz", nil, nil, false},
			{"a session answer", member, "GET", "/api/session", nil, nil, true},
			{"a session list", member, "GET", "/api/sessions", nil, nil, true},
			{"an unauthenticated answer", anon, "GET", "/api/session", nil, nil, true},
			{"a sign-in answer", anon, "POST", "/api/signin/password", credentials("ada@example.com", goodPassword), []string{"Content-Type", "application/json"}, true},
			{"a failed sign-in", anon, "POST", "/api/signin/password", credentials("ada@example.com", "nope nope nope"), []string{"Content-Type", "application/json"}, true},
			{"a malformed request", anon, "POST", "/api/signup", []byte("{"), []string{"Content-Type", "application/json"}, true},
			{"a wrong method", anon, "PUT", "/api/signup", nil, nil, true},
			{"an unknown API path", anon, "GET", "/api/nope", nil, nil, true},
			{"a cross-origin refusal", anon, "POST", "/api/signin/password", credentials("ada@example.com", goodPassword), []string{"Content-Type", "application/json", "Origin", "https://evil.example"}, true},
		}
		for _, rq := range requests {
			t.Run(rq.name, func(t *testing.T) {
				h := http.Header{}
				for i := 0; i+1 < len(rq.headers); i += 2 {
					h.Set(rq.headers[i], rq.headers[i+1])
				}
				r := rq.client.Do(rq.method, rq.path, rq.body, h)
				if r.Status >= 500 {
					t.Fatalf("%d: %s", r.Status, r.Body)
				}
				csp := r.Header.Get("Content-Security-Policy")
				if csp == "" || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") ||
					!strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
					t.Errorf("Content-Security-Policy %q", csp)
				}
				if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("X-Content-Type-Options %q, want nosniff", got)
				}
				switch got := r.Header.Get("Referrer-Policy"); got {
				case "same-origin", "no-referrer", "strict-origin", "strict-origin-when-cross-origin":
				default:
					t.Errorf("Referrer-Policy %q, want one that keeps paths private", got)
				}
				if got := r.Header.Get("Cache-Control"); rq.api && got != "no-store" {
					t.Errorf("Cache-Control %q on an API answer, want no-store", got)
				}
				if r.Header.Get("Strict-Transport-Security") != "" {
					t.Errorf("HSTS on an http origin")
				}
			})
		}
	})
}

func TestTheStylesheetIsServed(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		r := s.client().Do(http.MethodGet, "/static/style.css", nil, nil)
		wantStatus(t, r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
			t.Errorf("Content-Type %q, want text/css", ct)
		}
		if len(r.Body) < 100 {
			t.Errorf("stylesheet of %d bytes", len(r.Body))
		}
		wantStatus(t, s.client().Do(http.MethodGet, "/static/nope.css", nil, nil), http.StatusNotFound)
	})
}
