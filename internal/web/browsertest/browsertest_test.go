package browsertest_test

import (
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyshift/keyshift/internal/web/browsertest"
)

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

// page serves one empty page on http://localhost:PORT, where WebAuthn works.
func page(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>t</title><h1 id="h">Hello</h1>`)
	}))
	t.Cleanup(srv.Close)
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
}

// ceremony is JavaScript that registers a passkey and signs in with it,
// answering "registered+asserted" or the name of the error.
const ceremony = `(async () => {
  const rnd = n => crypto.getRandomValues(new Uint8Array(n));
  try {
    await navigator.credentials.create({publicKey: {
      rp: {name: "t"}, user: {id: rnd(16), name: "a@example.com", displayName: "A"},
      challenge: rnd(32), pubKeyCredParams: [{type: "public-key", alg: -7}],
      authenticatorSelection: {residentKey: "required", userVerification: "required"}}});
  } catch (e) { return "create: " + e.name; }
  try {
    await navigator.credentials.get({publicKey: {challenge: rnd(32), userVerification: "required"}});
  } catch (e) { return "get: " + e.name; }
  return "registered+asserted";
})()`

func TestVirtualAuthenticatorRegistersAndAsserts(t *testing.T) {
	t.Parallel()
	tab := browsertest.NewTab(t)
	a := tab.AddAuthenticator()
	tab.Run(chromedp.Navigate(page(t)))
	if got := browsertest.Eval[string](tab, ceremony); got != "registered+asserted" {
		t.Fatalf("ceremony: %s", got)
	}
	creds := a.Credentials()
	if len(creds) != 1 || !creds[0].IsResidentCredential {
		t.Fatalf("the authenticator holds %d credentials, want one resident credential", len(creds))
	}

	a.SetUserVerified(false)
	if got := browsertest.Eval[string](tab, ceremony); got != "create: NotAllowedError" {
		t.Errorf("with user verification failing: %s, want create: NotAllowedError", got)
	}
	a.SetUserVerified(true)
	a.ClearCredentials()
	if n := len(a.Credentials()); n != 0 {
		t.Errorf("%d credentials after clearing", n)
	}
}

func TestTabsDoNotShareCookies(t *testing.T) {
	t.Parallel()
	url := page(t)
	one, two := browsertest.NewTab(t), browsertest.NewTab(t)
	one.Run(chromedp.Navigate(url))
	two.Run(chromedp.Navigate(url))
	browsertest.Eval[string](one, `document.cookie = "who=one"`)
	if got := browsertest.Eval[string](two, `document.cookie`); got != "" {
		t.Errorf("the second tab sees cookies %q of the first", got)
	}
}

func TestScreenshotIsAPNGOfTheRequestedWidth(t *testing.T) {
	t.Setenv(browsertest.EnvScreenshots, t.TempDir())
	tab := browsertest.NewTab(t)
	tab.Run(chromedp.Navigate(page(t)))
	f, err := os.Open(tab.Screenshot("phone page", 390, 844))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width != 390 || cfg.Height < 844 {
		t.Errorf("screenshot %d×%d, want 390 wide and at least 844 high", cfg.Width, cfg.Height)
	}
}
