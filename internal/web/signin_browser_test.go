package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/web/browsertest"
)

// TestBrowserOneAddressThenTheLinkOrThePassword: /signin asks for the
// address once; "Email me a sign-in link" mails the link and code for that
// address without sending the password typed beside it, and the code signs
// in; with JavaScript off the same form does both as plain posts.
func TestBrowserOneAddressThenTheLinkOrThePassword(t *testing.T) {
	t.Parallel()
	for _, js := range []bool{true, false} {
		name := "with JavaScript"
		if !js {
			name = "without JavaScript"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			box := mailbox{mailtest.Start(t)}
			b := &inBrowser{
				liveSite: startSite(t, "sqlite:"+testdb.SQLitePath(t), func(c *config.Config) { c.SMTPURLs = []string{box.URL()} }),
				tab:      browsertest.NewTab(t),
			}
			b.member("ada@example.com")
			if !js {
				b.tab.DisableJavaScript()
			}
			b.open("/signin")
			// What the form posts is recorded by a listener added after
			// keyshift.js's own: it sees what the browser will send.
			if js {
				browsertest.Eval[bool](b.tab, `document.getElementById("signin-form").addEventListener("submit", (ev) => {
					sessionStorage.setItem("posted", JSON.stringify([...new FormData(ev.target, ev.submitter).keys()]));
				}), true`)
			}
			b.tab.Run(
				chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"),
				chromedp.SendKeys(chromedp.CSS("#password"), "typed, then the link chosen"),
				chromedp.Click(chromedp.CSS("#email-signin-submit")),
			)
			b.tab.WaitLocation("/signin/email")
			wantWords(t, "the answer", b.tab.Text("h1"), "Check your email")
			if js {
				// The address, and the page's time to sign in (telemetry)
				// — never the password typed before the link was chosen.
				if posted := browsertest.Eval[string](b.tab, `sessionStorage.getItem("posted") || ""`); posted != `["email","signin_ms"]` {
					t.Errorf("the link's post sent %s, want the address and the page's time only", posted)
				}
			}
			code := box.nth(t, "ada@example.com", 1).code
			b.tab.Run(
				chromedp.SendKeys(chromedp.CSS("#code"), code),
				chromedp.Click(chromedp.CSS("#email-code-submit")),
			)
			// The rollout's nudge after an email sign-in without a passkey
			// (this first proof of the mailbox also cleared the sign-up's
			// password, which the account page will say); without
			// JavaScript its answers are forms.
			b.tab.Wait("the nudge's page", `location.pathname === "/welcome/passkey" && document.readyState === "complete"`)
			if !js {
				b.tab.Run(chromedp.Click(chromedp.CSS("#nudge-later")))
				b.tab.Wait("the account page", `location.pathname === "/account" && document.getElementById("cleared-notice") !== null`)
			}
		})
	}
}
