package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/web/browsertest"
)

// reauthEvents returns the member's successful step-ups, by method.
func (b *inBrowser) reauthEvents(email string) []string {
	b.t.Helper()
	ctx := context.Background()
	u, err := b.DB.FindUserByEmailKey(ctx, email)
	if err != nil {
		b.t.Fatal(err)
	}
	evs, err := b.DB.FindEvents(ctx, store.EventFilter{UserID: u.ID, Type: account.EventReauth})
	if err != nil {
		b.t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if e.Outcome == account.OutcomeSuccess {
			out = append(out, e.Method)
		}
	}
	return out
}

// TestBrowserRemovingAPasskeyStepsUpInline: a member with a passkey whose
// session came from the password presses "Remove"; the server wants a
// passkey (403 reauth_required), the page asks the authenticator at once
// and then removes the passkey, with no other click.
func TestBrowserRemovingAPasskeyStepsUpInline(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	b.tab.AddAuthenticator()
	b.signUp("ada@example.com")
	b.addPasskey()
	if got := b.reauthEvents("ada@example.com"); len(got) != 0 {
		t.Fatalf("step-ups before the removal: %v", got)
	}
	b.tab.Run(
		chromedp.Click(chromedp.CSS("#passkeys details.manage summary")),
		chromedp.Click(chromedp.CSS("#passkeys form.remove button")),
	)
	b.tab.Wait("the empty list", `document.querySelectorAll(".passkey-name").length === 0`)
	if got := b.reauthEvents("ada@example.com"); len(got) != 1 || got[0] != string(account.MethodPasskeyUsername) {
		t.Errorf("step-ups: %v, want one passkey step-up", got)
	}
}

// TestBrowserAStaleFormStepsUpWithThePasswordAndPosts: a member without a
// passkey whose sign-in is older than the window changes the password; the
// page asks for the password in its dialog first, a wrong one is refused in
// the dialog, and after the right one the form posts as sent.
func TestBrowserAStaleFormStepsUpWithThePasswordAndPosts(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	b.signUp("ada@example.com")
	b.Clock.Advance(6 * time.Minute)
	b.open("/account")
	const next = "a brand new passphrase"
	b.tab.Run(
		chromedp.Click(chromedp.CSS("#password details.manage summary")),
		chromedp.SendKeys(chromedp.CSS("#current-password"), goodPassword),
		chromedp.SendKeys(chromedp.CSS("#new-password"), next),
		chromedp.Click(chromedp.CSS("#password-submit")),
	)
	b.tab.Wait("the step-up dialog", `document.getElementById("stepup").open && !document.getElementById("stepup-secret").hidden`)
	wantWords(t, "the dialog", b.tab.Text("#stepup-lead"), "password")
	b.tab.Screenshot("stepup-password", 1280, 800)
	b.tab.Run(
		chromedp.SendKeys(chromedp.CSS("#stepup-secret"), "not the password"),
		chromedp.Click(chromedp.CSS("#stepup-confirm")),
	)
	wantWords(t, "the refusal", b.message("#stepup-error"), "password")
	browsertest.Eval[string](b.tab, `document.getElementById("stepup-secret").value = ""`)
	b.tab.Run(
		chromedp.SendKeys(chromedp.CSS("#stepup-secret"), goodPassword),
		chromedp.Click(chromedp.CSS("#stepup-confirm")),
	)
	b.tab.Wait("the password changed", `document.querySelector("#password .notice.ok")?.textContent.includes("Password changed")`)
	if got := b.reauthEvents("ada@example.com"); len(got) != 1 || got[0] != string(account.MethodPassword) {
		t.Errorf("step-ups: %v, want one password step-up", got)
	}
	if r := b.Client(t).Signin("ada@example.com", next); r.Status != 200 {
		t.Errorf("the new password does not sign in: %d %s", r.Status, r.Body)
	}
}
