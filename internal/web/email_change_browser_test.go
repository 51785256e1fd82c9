package web_test

import (
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/web/browsertest"
)

// TestBrowserChangeEmail changes the address through the account page's
// form, then confirms it with the link from the real mail, as a member
// does: the landing page's button, then the account page shows the new
// address.
func TestBrowserChangeEmail(t *testing.T) {
	t.Parallel()
	tab := browsertest.NewTab(t)
	s := startNoticeSite(t, "sqlite:"+testdb.SQLitePath(t))
	b := &inBrowser{liveSite: s.liveSite, tab: tab}
	b.signUp("ada@example.com")
	s.verify(t, "ada@example.com") // only a proven address moves
	b.open("/account")

	b.tab.Run(
		chromedp.Click(chromedp.CSS("#password summary")),
		chromedp.Click(chromedp.CSS("#email summary")),
		chromedp.SendKeys(chromedp.CSS("#new-email"), "nova@example.org"),
	)
	b.tab.Screenshot("account-email-password-forms", 1280, 1600)
	b.tab.Run(chromedp.Click(chromedp.CSS("#email-change")))
	wantWords(t, "the notice", b.message("#email .notice.ok"), "We sent a link to nova@example.org")
	wantWords(t, "the address shown", b.tab.Text("#email .value"), "ada@example.com")
	b.tab.Screenshot("account-email-sent", 1280, 1400)

	link, _ := linkIn(t, s.box.waitMail(t, "nova@example.org", "Confirm your new email address"), changeRE)
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	b.open(u.RequestURI())
	b.tab.Run(chromedp.Click(chromedp.CSS("#email-change-confirm")))
	// The form posts to the landing page's own path, so wait for the answer's
	// words rather than a new location: reading the page on its way out fails.
	b.tab.Wait("the confirmation page", `document.querySelector("h1")?.textContent.includes("Email address changed")`)
	wantWords(t, "the confirmation page", b.message("h1"), "Email address changed")
	wantWords(t, "the confirmation page", b.tab.Text(".lead"), "nova@example.org")

	b.open("/account")
	wantWords(t, "the address shown", b.tab.Text("#email .value"), "nova@example.org", "verified")
}
