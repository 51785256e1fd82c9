package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/web/browsertest"
)

// TestSigninOffersARecoveryCodeForm: /signin's "Use a recovery code" signs
// in without JavaScript and goes to /account, which then asks for a passkey
// and a new set; a wrong code is refused atop /signin with the form open;
// with two or fewer codes left /account warns.
func TestSigninOffersARecoveryCodeForm(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		ada := s.member("ada@example.com")
		s.verify(t, "ada@example.com")
		codes := newRecoveryCodes(t, ada)

		page := wantPage(t, s.Client(t).Do(http.MethodGet, "/signin", nil, nil), http.StatusOK)
		if !hasID(page, "recovery-signin-form") {
			t.Fatal("/signin has no recovery-code form")
		}
		c := s.Client(t)
		page = wantPage(t, c.Form("/signin/recovery-code", url.Values{"email": {"ada@example.com"}, "code": {"AAAAA-AAAAA"}}), http.StatusUnauthorized)
		if !strings.Contains(page, `id="recovery-signin" open`) || !strings.Contains(page, `class="alert"`) {
			t.Errorf("a wrong code is not explained beside the open form:\n%s", visibleText(page))
		}
		wantSignedOut(t, c)

		r := c.Form("/signin/recovery-code", url.Values{"email": {"ada@example.com"}, "code": {codes[0]}})
		wantRedirect(t, r, "/account#passkeys")
		page = wantPage(t, c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		if !hasID(page, "recovered-notice") {
			t.Errorf("/account after a recovery-code sign-in does not ask for a passkey and new codes:\n%s", visibleText(page))
		}
		if hasID(page, "recovery-few-left") {
			t.Error("warned with 9 codes left")
		}
		if m := currentSession(t, c).Session.AuthMethod; m != "recovery_code" {
			t.Errorf("session method %q", m)
		}
		// The member's own page after a password sign-in shows no such notice.
		page = wantPage(t, ada.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		if hasID(page, "recovered-notice") {
			t.Error("a password session is told it used a recovery code")
		}

		for _, code := range codes[1:8] {
			wantStatus(t, recoverySignin(s.Client(t), "ada@example.com", code), http.StatusOK)
		}
		page = wantPage(t, c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		if !hasID(page, "recovery-few-left") || !strings.Contains(visibleText(page), "Only 2 recovery codes are left") {
			t.Errorf("no warning with 2 codes left:\n%s", visibleText(page))
		}
	})
}

// TestBrowserRecoveryCodeSigninThenAddAPasskey: a member who lost their
// passkey device and cannot get the mail signs in with a recovery code on a
// new browser, is asked for a passkey, adds one, and signs in with it.
func TestBrowserRecoveryCodeSigninThenAddAPasskey(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	b.tab.AddAuthenticator() // empty until the passkey is added
	b.signUp("ada@example.com")
	b.verify(t, "ada@example.com")
	b.open("/account")
	b.tab.Run(chromedp.Click(chromedp.CSS("#recovery-generate")))
	b.tab.Wait("the codes", `document.querySelectorAll("#recovery-codes code").length === 10`)
	if b.tab.Text("#recovery-download") == "" {
		t.Error("no download button beside the new codes")
	}
	code := b.tab.Text("#recovery-codes li:first-child code")
	b.signOut()

	b.waitAutofillEnded()
	// The browser remembers Ada: the form comes with her address.
	if v := browsertest.Eval[string](b.tab, `document.getElementById("recovery-email").value`); v != "ada@example.com" {
		t.Errorf("the recovery form's address is %q", v)
	}
	b.tab.Run(
		chromedp.Click(chromedp.CSS("#recovery-signin summary")),
		chromedp.SendKeys(chromedp.CSS("#recovery-code"), code),
		chromedp.Click(chromedp.CSS("#recovery-submit")),
	)
	b.tab.WaitLocation("/account")
	wantWords(t, "the notice", b.tab.Text("#recovered-notice"), "passkey", "new set")
	if m := b.authMethod(); m != "recovery_code" {
		t.Errorf("signed in by %q", m)
	}
	b.addPasskey()
	// Signed out, the sign-in page's passkey autofill signs the member in
	// with the new passkey by itself.
	b.signOut()
	b.tab.WaitLocation("/account")
	if m := b.authMethod(); !strings.HasPrefix(m, "passkey") {
		t.Errorf("after the passkey sign-in the session's method is %q", m)
	}
}

// TestARecoveryCodeSigninIsNotRememberedAsThePassword: after a recovery
// code the browser remembers the best way the member still has — their
// passkey here — never the password they may have lost.
func TestARecoveryCodeSigninIsNotRememberedAsThePassword(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newPasskeyMember(t, s, "ada@example.com")
		s.verify(t, ada.email)
		stepUp(t, ada)
		codes := newRecoveryCodes(t, ada.c)
		c := s.client()
		wantRedirect(t, c.Form("/signin/recovery-code", url.Values{"email": {ada.email}, "code": {codes[0]}}), "/account#passkeys")
		v := openSignin(t, c)
		if v.step != "passkey" {
			t.Errorf("/signin after a recovery-code sign-in offers %q first, want passkey", v.step)
		}
	})
}
