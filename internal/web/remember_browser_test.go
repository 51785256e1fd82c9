package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyshift/keyshift/internal/web/browsertest"
)

// TestBrowserRememberedDeviceOffersThePasskey: a member who added a passkey
// and signed out is greeted by a masked address on /signin, with the passkey
// first; "Not you?" brings the usual page back.
func TestBrowserRememberedDeviceOffersThePasskey(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	a := b.tab.AddAuthenticator()
	b.signUp("ada.lovelace@example.com")
	b.addPasskey()

	a.SetUserVerified(false) // the autofill ends quietly instead of signing in
	b.signOut()
	b.waitAutofillEnded()
	wantWords(t, "the heading", b.tab.Text("h1"), "Welcome back, a…@example.com")
	wantWords(t, "the lead", b.tab.Text(".remembered .lead"), "passkey")
	if step := browsertest.Eval[string](b.tab, `document.getElementById("signin-steps").dataset.step`); step != "passkey" {
		t.Errorf("/signin offers %q first, want passkey", step)
	}
	if got := browsertest.Eval[string](b.tab, `document.activeElement.id`); got != "passkey-button" {
		t.Errorf("focus is on %q, want the passkey button", got)
	}
	if text := browsertest.Eval[string](b.tab, `document.body.innerText`); strings.Contains(text, "ada.lovelace@") {
		t.Errorf("the page shows the full address:\n%s", text)
	}
	if msg := b.tab.Text("#passkey-message"); msg != "" {
		t.Errorf("the ended autofill shows %q", msg)
	}
	for _, scheme := range []string{"light", "dark"} {
		b.tab.ColorScheme(scheme)
		b.tab.Screenshot("signin-remembered-desktop-"+scheme, 1280, 800)
		b.tab.Screenshot("signin-remembered-phone-"+scheme, 390, 844)
	}
	b.tab.ColorScheme("")

	a.SetUserVerified(true)
	b.tab.Run(chromedp.Click(chromedp.CSS("#passkey-button")))
	b.tab.WaitLocation("/account")
	if m := b.authMethod(); m != "passkey_username" {
		t.Errorf("signed in with %q, want passkey_username", m)
	}

	a.SetUserVerified(false)
	b.signOut()
	b.waitAutofillEnded()
	b.tab.Run(chromedp.Click(chromedp.CSS("#not-you")))
	b.tab.Wait("the usual sign-in page", `document.readyState === "complete" && document.getElementById("signin-steps").dataset.step === "none"`)
	wantWords(t, "the heading", b.tab.Text("h1"), "Sign in")
	if !browsertest.Eval[bool](b.tab, `document.getElementById("email").offsetParent !== null && document.getElementById("email").value === ""`) {
		t.Errorf("after Not you? the email field is not there, empty")
	}
	b.tab.Screenshot("signin-forgotten-phone", 390, 844)
}
