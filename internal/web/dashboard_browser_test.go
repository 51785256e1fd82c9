package web_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyshift/keyshift/internal/web/browsertest"
)

// TestBrowserAdminStepsUpWithAPasskeyAndSeesTheDashboard: an admin who
// signed up with a password meets the step-up page at /admin, confirms
// with her passkey in the browser, and sees the figures and the chart —
// drawn without a script, under the strict CSP (an inline style would be
// refused and reported on the console, which fails the tab).
func TestBrowserAdminStepsUpWithAPasskeyAndSeesTheDashboard(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	b.tab.AddAuthenticator()
	// A population to draw: members signed in by password and passkey.
	for i, email := range []string{"bob@example.com", "cy@example.com", "dee@example.com"} {
		m := newPasskeyMember(t, b.liveSite, email)
		for range i + 1 {
			wantStatus(t, m.key.signin(b.client(), map[string]any{}, "modal"), http.StatusOK)
			wantStatus(t, b.client().Signin(email, goodPassword), http.StatusOK)
		}
	}
	b.signUp("ada@example.com")
	b.addPasskey()
	grantAdmin(t, b.liveSite, "ada@example.com")

	b.open("/admin")
	b.tab.Wait("the step-up page", `document.getElementById("admin-stepup-button") && !document.getElementById("admin-stepup-button").closest("[data-requires]").hidden`)
	shoot(b, "admin-stepup")
	b.tab.Run(chromedp.Click(chromedp.CSS("#admin-stepup-button")))
	b.tab.Wait("the dashboard", `document.readyState === "complete" && document.querySelector("svg.chart rect[class^=m-]") !== null`)
	if got, want := b.tab.Text(`[data-figure="accounts.total"]`), "4"; got != want {
		t.Errorf("accounts on the dashboard: %q, want %q", got, want)
	}
	bars := browsertest.Eval[int](b.tab, `document.querySelectorAll("svg.chart rect[class^=m-]").length`)
	if bars < 2 {
		t.Errorf("the chart has %d coloured rects, want the bars and the legend", bars)
	}
	fills := browsertest.Eval[[]string](b.tab, `["passkey_modal", "password"].map(m => getComputedStyle(document.querySelector("svg.chart rect.m-" + m)).fill)`)
	if len(fills) != 2 || fills[0] == fills[1] || fills[0] == "rgb(0, 0, 0)" || fills[1] == "rgb(0, 0, 0)" {
		t.Errorf("the chart's bars are not coloured by method by the stylesheet: fills %q", fills)
	}
	rows := browsertest.Eval[int](b.tab, `document.querySelectorAll("#dash-methods tbody tr").length`)
	if rows < 2 {
		t.Errorf("%d method rows, want passkey and password at least", rows)
	}
	shoot(b, "admin-dashboard")
	b.open("/admin?range=24h")
	b.tab.Wait("the hourly dashboard", `document.readyState === "complete" && document.querySelector("svg.chart") !== null`)
	if n := browsertest.Eval[int](b.tab, `document.querySelectorAll("svg.chart text.tick").length`); n < 3 {
		t.Errorf("%d axis labels", n)
	}
	shoot(b, "admin-dashboard-24h")
	b.open("/admin?range=1y")
	if got := b.tab.Text("#dash-error"); got == "" {
		t.Error("a bad range shows no error")
	}
}
