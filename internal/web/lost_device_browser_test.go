package web_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/web/browsertest"
)

// TestBrowserLostDeviceEmailSigninAddAPasskeyThenSignInWithIt: a member
// whose only passkey was on a device they lost signs in on a new browser
// by the emailed link (a restricted session, under the default policy),
// adds a passkey there — never locked out — and the next sign-in is by
// that passkey. The member is told at once (the probation notice, with
// "This wasn't me"), since a thief with the mailbox could do the same.
func TestBrowserLostDeviceEmailSigninAddAPasskeyThenSignInWithIt(t *testing.T) {
	t.Parallel()
	box := mailbox{mailtest.Start(t)}
	site := startSite(t, "sqlite:"+testdb.SQLitePath(t), func(c *config.Config) { c.SMTPURLs = []string{box.URL()} })
	old := &inBrowser{liveSite: site, tab: browsertest.NewTab(t)}
	lost := old.tab.AddAuthenticator()
	old.signUp("ada@example.com")
	// The member confirmed the address long ago: an email sign-in is then
	// no first proof of the mailbox (which would clear the account).
	_, token := confirmToken(t, box, "ada@example.com")
	wantStatus(t, confirmAPI(old.Client(t), token), http.StatusOK)
	old.addPasskey()
	lost.Remove() // the device is gone, and its passkey with it

	b := &inBrowser{liveSite: site, tab: browsertest.NewTab(t)}
	a := b.tab.AddAuthenticator()
	(&emailSite{Instance: site.Instance, box: box}).start(t, b.Client(t), "ada@example.com")
	m := box.nth(t, "ada@example.com", 1)
	b.tab.Run(chromedp.Navigate(m.link))
	b.tab.Run(chromedp.Click(chromedp.CSS("#email-continue")))
	b.tab.WaitLocation("/account")
	if m := b.authMethod(); m != "email_link" {
		t.Fatalf("signed in with %q, want email_link", m)
	}
	b.addPasskey()
	if n := len(a.Credentials()); n != 1 {
		t.Fatalf("the new device holds %d passkeys, want 1", n)
	}
	notice := box.waitMail(t, "ada@example.com", "after an email sign-in")
	wantWords(t, "the notice", notice.Text, "If it was not you", "/passkeys/wasnt-me?token=")

	b.signOut()
	b.tab.WaitLocation("/account") // the autofill offers the new passkey and signs in at once
	if m := b.authMethod(); m != "passkey_conditional" {
		t.Errorf("the next sign-in was %q, want the new passkey (passkey_conditional)", m)
	}
}
