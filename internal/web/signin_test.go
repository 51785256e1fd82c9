package web_test

import (
	"net/http"
	"net/url"
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

		// The address is asked once: one form, two ways on — the
		// password, or a link by email posted by the same form. ("Use a
		// recovery code", folded away below, is a way of its own.)
		main, _, _ := strings.Cut(signin, `id="recovery-signin"`)
		if n := strings.Count(main, `type="email"`); n != 1 {
			t.Errorf("/signin has %d address fields, want 1", n)
		}
		if !strings.Contains(signin, `id="email-signin-submit" formaction="/signin/email" formnovalidate`) {
			t.Errorf("the email link is not a second way out of the one form:\n%s", signin)
		}
		if a, p := strings.Index(signin, `id="email"`), strings.Index(signin, `id="email-signin-submit"`); a < 0 || p < a ||
			strings.Count(signin[a:p], "<form") != 0 {
			t.Errorf("the email link's button is not in the address's form")
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

// TestOneAddressTwoWaysWithoutJavaScript: the one sign-in form posts as it
// is, without JavaScript, to either button's action — "Sign in" to
// /signin, "Email me a sign-in link" to /signin/email (whose page asks for
// the mailed code), each reading the same address field; a refusal of the
// link is shown on the same page with the address kept.
func TestOneAddressTwoWaysWithoutJavaScript(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		s.member("ada@example.com")
		// What the browser posts for "Email me a sign-in link" with a
		// password typed but kept back by keyshift.js, and without it.
		for name, v := range map[string]url.Values{
			"with JavaScript":    {"email": {"ada@example.com"}, "password": {""}},
			"without JavaScript": formValues("ada@example.com", "typed before choosing the link"),
		} {
			page := wantPage(t, s.client().Form("/signin/email", v), http.StatusOK)
			if !strings.Contains(page, `name="flowId"`) {
				t.Errorf("%s: the email link's answer has no code form", name)
			}
		}
		page := wantPage(t, s.client().Form("/signin/email", url.Values{"email": {"not an address"}, "password": {""}}), http.StatusBadRequest)
		if !strings.Contains(page, `value="not an address"`) || !strings.Contains(page, `role="alert"`) {
			t.Errorf("a refused link does not keep the address beside the refusal")
		}
		wantRedirect(t, s.client().Form("/signin", formValues("ada@example.com", goodPassword)), "/welcome/passkey")
	})
}
