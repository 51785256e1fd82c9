package web_test

import (
	"os"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/web/browsertest"
)

// An imported member opens the link of their first sign-in mail, presses
// Continue, and the account page they land on offers a passkey first; one
// press adds it.
func TestBrowserImportedMemberIsOfferedAPasskeyAfterTheEmailSignin(t *testing.T) {
	t.Parallel()
	box := mailbox{mailtest.Start(t)}
	b := &inBrowser{
		liveSite: startSite(t, "sqlite:"+testdb.SQLitePath(t), func(c *config.Config) { c.SMTPURLs = []string{box.URL()} }),
		tab:      browsertest.NewTab(t),
	}
	a := b.tab.AddAuthenticator()
	addMember(t, b.Instance, "lin@example.com")
	(&emailSite{Instance: b.Instance, box: box}).start(t, b.Client(t), "lin@example.com")
	m := box.nth(t, "lin@example.com", 1)

	b.tab.Run(chromedp.Navigate(m.link))
	b.tab.Run(chromedp.Click(chromedp.CSS("#email-continue")))
	// The rollout's nudge first; "Not now" goes on to the account page,
	// which still offers the passkey.
	b.tab.WaitLocation("/welcome/passkey")
	b.tab.Run(chromedp.Click(chromedp.CSS("#nudge-later")))
	b.tab.WaitLocation("/account")
	wantWords(t, "the offer", b.tab.Text("#passkey-offer"), "Add one now", "instead of waiting for an email")
	if !browsertest.Eval[bool](b.tab, `!document.getElementById("add-passkey").hidden`) {
		t.Fatal(`"Add a passkey" is hidden`)
	}
	if !browsertest.Eval[bool](b.tab, `document.querySelector("main section").id === "passkeys"`) {
		t.Error("the passkey section is not the first on the page")
	}
	if os.Getenv(browsertest.EnvScreenshots) != "" {
		b.tab.Screenshot("account-offer-desktop-light", 1280, 800)
	}
	b.addPasskey()
	if n := len(a.Credentials()); n != 1 {
		t.Fatalf("the authenticator holds %d credentials, want 1", n)
	}
	if browsertest.Eval[bool](b.tab, `document.getElementById("passkey-offer") !== null`) {
		t.Error("the offer stays after the passkey was added")
	}
}
