package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/testdb"
)

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
		wantRedirect(t, r, "/welcome/passkey") // the rollout's nudge: no passkey yet
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
