package web_test

// The browser tests drive the pages in Debian's Chromium (browsertest) with a
// CDP virtual authenticator: what a member does, click by click, with the
// real keyshift.js against a real keyshift. SQLite is enough here; the
// ceremonies' storage is tested on both backends elsewhere.

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/web/browsertest"
)

// One Chromium for the whole test binary; each test has its own tab.
func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

// inBrowser is a keyshift with a browser tab on it.
type inBrowser struct {
	*liveSite
	tab *browsertest.Tab
}

// startInBrowser runs keyshift on SQLite for t and opens a tab; it skips t
// (fails it in CI) when Chromium cannot start.
func startInBrowser(t *testing.T) *inBrowser {
	t.Helper()
	tab := browsertest.NewTab(t)
	return &inBrowser{liveSite: startSite(t, "sqlite:"+testdb.SQLitePath(t)), tab: tab}
}

// open loads path and waits for the page's script to have run.
func (b *inBrowser) open(path string) {
	b.t.Helper()
	b.tab.Run(chromedp.Navigate(b.URL + path))
}

// signUp creates an account through the sign-up form and lands on /account.
func (b *inBrowser) signUp(email string) {
	b.t.Helper()
	b.open("/signup")
	// The page leads with the passkey; the password is behind "Use a
	// password instead".
	b.tab.Run(
		chromedp.Click(chromedp.CSS("#signup-use-password summary")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), goodPassword),
		chromedp.Click(chromedp.CSS("#signup-password-submit")),
	)
	b.tab.WaitLocation("/account")
}

// addPasskey presses "Add a passkey" on /account and waits for the page to
// confirm it.
func (b *inBrowser) addPasskey() {
	b.t.Helper()
	n := len(b.passkeyNames())
	b.tab.Run(chromedp.Click(chromedp.CSS("#add-passkey")))
	b.tab.Wait("the new passkey in the list", fmt.Sprintf(
		`location.search === "?passkey=added" && document.readyState === "complete" && document.querySelectorAll(".passkey-name").length === %d`, n+1))
}

// signOut presses "Sign out" on /account and lands on /signin.
func (b *inBrowser) signOut() {
	b.t.Helper()
	b.tab.Run(chromedp.Click(chromedp.CSS(".signout button")))
	b.tab.WaitLocation("/signin")
}

// waitAutofillEnded waits until the sign-in page's conditional request (the
// passkeys offered in the email field) has ended.
func (b *inBrowser) waitAutofillEnded() {
	b.t.Helper()
	b.tab.Wait("the passkey autofill to end", `document.getElementById("signin-form").dataset.passkeyAutofill === "ended"`)
}

// authMethod returns how the tab's session signed in, from GET /api/session
// in the page.
func (b *inBrowser) authMethod() string {
	b.t.Helper()
	raw := browsertest.Eval[string](b.tab, `fetch("/api/session").then(r => r.text())`)
	var v sessionView
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		b.t.Fatalf("GET /api/session: %v: %s", err, raw)
	}
	return v.Session.AuthMethod
}

// message waits for the first element sel matches to have text, and
// returns the text.
func (b *inBrowser) message(sel string) string {
	b.t.Helper()
	b.tab.Wait("a message in "+sel, `document.querySelector(`+strconv.Quote(sel)+`)?.textContent.trim()`)
	return b.tab.Text(sel)
}

// passkeyNames returns the names the account page lists.
func (b *inBrowser) passkeyNames() []string {
	b.t.Helper()
	return browsertest.Eval[[]string](b.tab, `[...document.querySelectorAll(".passkey-name")].map(e => e.textContent)`)
}

func wantWords(t *testing.T, what, got string, words ...string) {
	t.Helper()
	for _, w := range words {
		if !strings.Contains(got, w) {
			t.Errorf("%s %q does not say %q", what, got, w)
		}
	}
}

func TestBrowserSignUpAddPasskeySignOutSignInWithTheButton(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	a := b.tab.AddAuthenticator()
	b.signUp("ada@example.com")
	if names := b.passkeyNames(); len(names) != 0 {
		t.Fatalf("a new account lists passkeys %q", names)
	}
	b.addPasskey()
	wantWords(t, "the notice", b.tab.Text("#passkeys .notice.ok"), "Passkey added")
	if names := b.passkeyNames(); len(names) != 1 {
		t.Fatalf("after adding one passkey the page lists %q", names)
	}
	wantWords(t, "the passkey's details", b.tab.Text("#passkeys li .item-main"), "This device only", "not used yet")
	if n := len(a.Credentials()); n != 1 {
		t.Fatalf("the authenticator holds %d credentials, want 1", n)
	}

	// On /signin the autofill would sign in by itself at once; with user
	// verification failing it ends quietly, and the button is what signs in.
	a.SetUserVerified(false)
	b.signOut()
	b.waitAutofillEnded()
	if msg := b.tab.Text("#passkey-message"); msg != "" {
		t.Errorf("the ended autofill shows %q", msg)
	}
	a.SetUserVerified(true)
	b.tab.Run(chromedp.Click(chromedp.CSS("#passkey-button")))
	b.tab.WaitLocation("/account")
	// The browser remembers the passkey just added: the button asks for
	// this member's passkeys (username-first).
	if m := b.authMethod(); m != "passkey_username" {
		t.Errorf("signed in with %q, want passkey_username", m)
	}
	wantWords(t, "the passkey's details", b.tab.Text("#passkeys li .meta"), "last used")
}

// Browsers before WebAuthn Level 3 have no parse*OptionsFromJSON and no
// toJSON(); keyshift.js converts base64url itself there.
func TestBrowserWithoutTheJSONHelpersPasskeysStillWork(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	b.tab.BeforeScripts(`delete PublicKeyCredential.parseCreationOptionsFromJSON;
		delete PublicKeyCredential.parseRequestOptionsFromJSON;
		delete PublicKeyCredential.prototype.toJSON;`)
	a := b.tab.AddAuthenticator()
	b.signUp("ada@example.com")
	if browsertest.Eval[bool](b.tab, `"toJSON" in PublicKeyCredential.prototype || "parseRequestOptionsFromJSON" in PublicKeyCredential`) {
		t.Fatal("the helpers are still there")
	}
	b.addPasskey()
	b.tab.Run(chromedp.Click(chromedp.CSS("#add-passkey")))
	wantWords(t, "the duplicate message", b.message("#add-passkey-message"), "already holds a passkey")

	a.SetUserVerified(false)
	b.signOut()
	b.waitAutofillEnded()
	a.SetUserVerified(true)
	b.tab.Run(chromedp.Click(chromedp.CSS("#passkey-button")))
	b.tab.WaitLocation("/account")
	// The browser remembers the passkey just added: the button asks for
	// this member's passkeys (username-first).
	if m := b.authMethod(); m != "passkey_username" {
		t.Errorf("signed in with %q, want passkey_username", m)
	}
	a.SetUserVerified(false)
	b.signOut()
	b.waitAutofillEnded()
	a.SetUserVerified(true)
	b.open("/signin")
	b.tab.WaitLocation("/account")
	if m := b.authMethod(); m != "passkey_conditional" {
		t.Errorf("signed in with %q, want passkey_conditional", m)
	}
}

func TestBrowserAutofillSignsInByItself(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	a := b.tab.AddAuthenticator()
	b.signUp("ada@example.com")
	b.addPasskey()
	a.SetUserVerified(false)
	b.signOut()
	b.waitAutofillEnded()

	a.SetUserVerified(true)
	b.open("/signin")
	b.tab.WaitLocation("/account")
	if m := b.authMethod(); m != "passkey_conditional" {
		t.Errorf("signed in with %q, want passkey_conditional", m)
	}
}

// A passkey sign-in in the page goes where /signin?return_to= said (the
// finish answer's returnTo), not to the account.
func TestBrowserPasskeySigninGoesToTheReturnAddress(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	a := b.tab.AddAuthenticator()
	b.signUp("ada@example.com")
	b.addPasskey()
	a.SetUserVerified(false)
	b.signOut()
	b.waitAutofillEnded()

	a.SetUserVerified(true)
	b.open("/signin?return_to=" + url.QueryEscape("/account?from=app"))
	b.tab.WaitLocation("/account?from=app")
	if m := b.authMethod(); m != "passkey_conditional" {
		t.Errorf("signed in with %q, want passkey_conditional", m)
	}
}

func TestBrowserPasskeyButtonAbortsAPendingAutofill(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	a := b.tab.AddAuthenticator()
	b.signUp("ada@example.com")
	b.addPasskey()
	a.SetUserVerified(false)
	b.signOut()
	b.waitAutofillEnded()

	// Without a touch the autofill's request stays pending, as it does for
	// a member who has not picked a passkey yet.
	a.SetUserVerified(true)
	a.SetPresence(false)
	b.open("/signin")
	b.tab.Wait("the autofill's request", `document.getElementById("signin-form").dataset.passkeyAutofill === "waiting" &&
		performance.getEntriesByName(location.origin + "/api/passkeys/login/begin").length === 1`)

	// The button must cancel it first: a second request would fail at once
	// ("A request is already pending"). Its own request then waits for a
	// touch, like the autofill's did.
	b.tab.Run(chromedp.Click(chromedp.CSS("#passkey-button")))
	b.waitAutofillEnded()
	b.tab.Wait("the button's own request", `performance.getEntriesByName(location.origin + "/api/passkeys/login/begin").length === 2 &&
		document.getElementById("passkey-button").disabled`)
	time.Sleep(200 * time.Millisecond) // a refused request fails within milliseconds
	if msg := b.tab.Text("#passkey-message"); msg != "" {
		t.Fatalf("the button's request failed: %q", msg)
	}
	if !browsertest.Eval[bool](b.tab, `document.getElementById("passkey-button").disabled`) {
		t.Errorf("the button's request is not pending")
	}
}

func TestBrowserAutofillWithoutPasskeysStaysQuiet(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	b.tab.AddAuthenticator()
	b.member("ada@example.com")
	b.open("/signin")
	b.waitAutofillEnded()
	if msg := b.tab.Text("#passkey-message"); msg != "" {
		t.Errorf("an empty authenticator made the page say %q", msg)
	}
	if !browsertest.Eval[bool](b.tab, `!document.getElementById("passkey-signin").hidden`) {
		t.Errorf("the passkey button is hidden in a browser with WebAuthn")
	}
	// The password form still signs in.
	b.tab.Run(
		chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), goodPassword),
		chromedp.Click(chromedp.CSS("#password-submit")),
	)
	b.tab.WaitLocation("/welcome/passkey") // the rollout's nudge: no passkey yet
}

func TestBrowserSecondPasskeyOnTheSameDeviceIsExplained(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	a := b.tab.AddAuthenticator()
	b.signUp("ada@example.com")
	b.addPasskey()

	b.tab.Run(chromedp.Click(chromedp.CSS("#add-passkey")))
	msg := b.message("#add-passkey-message")
	wantWords(t, "the duplicate message", msg, "already holds a passkey for your account")
	if strings.Contains(strings.ToLower(msg), "try again") {
		t.Errorf("the duplicate message says only to try again: %q", msg)
	}
	if n := len(a.Credentials()); n != 1 {
		t.Errorf("the authenticator holds %d credentials, want still 1", n)
	}
	if names := b.passkeyNames(); len(names) != 1 {
		t.Errorf("the page lists %q, want one passkey", names)
	}
	if href := browsertest.Eval[string](b.tab, `document.querySelector("#passkey-on-device a").getAttribute("href")`); href != "#passkeys" {
		t.Errorf(`"Manage passkeys" goes to %q`, href)
	}

	// "Use that passkey to sign in" does.
	b.tab.Run(chromedp.Click(chromedp.CSS("#use-passkey")))
	b.tab.WaitLocation("/account?passkey=used")
	wantWords(t, "the notice", b.tab.Text("#passkeys .notice.ok"), "signed in with your passkey")
	if m := b.authMethod(); m != "passkey_username" {
		t.Errorf("signed in with %q, want passkey_username", m)
	}
}

func TestBrowserFailedUserVerificationIsExplained(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	a := b.tab.AddAuthenticator()
	b.signUp("ada@example.com")

	// Adding: the face or fingerprint is not recognised.
	a.SetUserVerified(false)
	b.tab.Run(chromedp.Click(chromedp.CSS("#add-passkey")))
	wantWords(t, "the message", b.message("#add-passkey-message"), "No passkey was added")
	if browsertest.Eval[bool](b.tab, `!document.getElementById("passkey-on-device").hidden`) {
		t.Errorf("a cancelled registration offers to use an existing passkey")
	}
	a.SetUserVerified(true)
	b.addPasskey()

	// Signing in: the same.
	a.SetUserVerified(false)
	b.signOut()
	b.waitAutofillEnded()
	b.tab.Run(chromedp.Click(chromedp.CSS("#passkey-button")))
	wantWords(t, "the message", b.message("#passkey-message"), "didn’t finish", "password")
	if loc := b.tab.Location(); !strings.HasSuffix(loc, "/signin") {
		t.Errorf("at %s, want still /signin", loc)
	}
}

func TestBrowserPasskeyGoneFromTheDeviceLeavesThePassword(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	a := b.tab.AddAuthenticator()
	b.signUp("ada@example.com")
	b.addPasskey()
	a.ClearCredentials() // the member deleted it in their password manager

	b.signOut()
	b.waitAutofillEnded()
	if msg := b.tab.Text("#passkey-message"); msg != "" {
		t.Errorf("the autofill with no passkey on the device says %q", msg)
	}
	b.tab.Run(chromedp.Click(chromedp.CSS("#passkey-button")))
	wantWords(t, "the message", b.message("#passkey-message"), "no passkey for this site", "password")

	// The browser remembers the member: only the password is typed.
	b.tab.Run(
		chromedp.SendKeys(chromedp.CSS("#password"), goodPassword),
		chromedp.Click(chromedp.CSS("#password-submit")),
	)
	b.tab.WaitLocation("/account")
	if m := b.authMethod(); m != "password" {
		t.Errorf("signed in with %q, want password", m)
	}
}

func TestBrowserRenameAndRemoveAPasskey(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	auth := b.tab.AddAuthenticator(browsertest.CredentialImport)
	b.signUp("ada@example.com")
	b.addPasskey()
	held := auth.Credentials()
	if len(held) != 1 {
		t.Fatalf("the authenticator holds %d passkeys, want 1", len(held))
	}

	b.tab.Run(
		chromedp.Click(chromedp.CSS("#passkeys details.manage summary")),
		chromedp.Clear(chromedp.CSS("#passkeys form.rename input")),
		chromedp.SendKeys(chromedp.CSS("#passkeys form.rename input"), "Work laptop"),
		chromedp.Click(chromedp.CSS("#passkeys form.rename button")),
	)
	b.tab.Wait("the new name", `document.querySelector(".passkey-name").textContent === "Work laptop"`)

	// A name the server refuses is explained beside the form.
	b.tab.Run(
		chromedp.Click(chromedp.CSS("#passkeys details.manage summary")),
		chromedp.SetValue(chromedp.CSS("#passkeys form.rename input"), "   "),
		chromedp.Click(chromedp.CSS("#passkeys form.rename button")),
	)
	wantWords(t, "the refusal", b.message("#passkeys form.rename .error"), "64 characters")

	b.tab.Run(chromedp.Click(chromedp.CSS("#passkeys form.remove button")))
	b.tab.Wait("the empty list", `document.querySelectorAll(".passkey-name").length === 0`)
	wantWords(t, "the passkeys section", b.tab.Text("#passkeys .empty"), "no passkeys yet")

	// The account page tells the browser which passkeys still count
	// (signalAllAcceptedCredentials): Chromium's virtual authenticator
	// drops the removed one, as a password manager hides it.
	waitFor(t, "the authenticator to drop the removed passkey", func() bool { return len(auth.Credentials()) == 0 })

	// An authenticator that kept it (no Signal API) offers it in the
	// autofill at once; keyshift refuses it, and the page says so.
	kept := held[0]
	auth.AddCredential(&webauthn.Credential{CredentialID: kept.CredentialID, IsResidentCredential: kept.IsResidentCredential,
		RpID: kept.RpID, PrivateKey: kept.PrivateKey, UserHandle: kept.UserHandle, SignCount: kept.SignCount})
	b.signOut()
	wantWords(t, "the message", b.message("#passkey-message"), "didn’t work")
	if loc := b.tab.Location(); !strings.HasSuffix(loc, "/signin") {
		t.Errorf("a removed passkey signed in: at %s", loc)
	}
	// The refusal names the passkey keyshift does not know, and the page
	// hands it to signalUnknownCredential: Chromium's virtual authenticator
	// drops it, as a password manager stops offering it.
	waitFor(t, "the authenticator to drop the passkey keyshift refused as unknown", func() bool { return len(auth.Credentials()) == 0 })
}

func TestBrowserWithoutJavaScriptTheFormsStillWork(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	b.tab.AddAuthenticator()
	b.signUp("ada@example.com")
	b.addPasskey()

	b.tab.DisableJavaScript()
	b.open("/account")
	if browsertest.Eval[bool](b.tab, `!document.getElementById("add-passkey").hidden`) {
		t.Errorf(`"Add a passkey" shows without JavaScript`)
	}
	wantWords(t, "the note", b.tab.Text(".add-passkey .hint"), "JavaScript")
	b.tab.Run(
		chromedp.Click(chromedp.CSS("#passkeys details.manage summary")),
		chromedp.SetValue(chromedp.CSS("#passkeys form.rename input"), "Phone"),
		chromedp.Click(chromedp.CSS("#passkeys form.rename button")),
	)
	b.tab.Wait("the new name", `document.querySelector(".passkey-name")?.textContent === "Phone"`)
	if loc := b.tab.Location(); !strings.HasSuffix(loc, "/account#passkeys") {
		t.Errorf("after renaming at %s, want /account#passkeys", loc)
	}
	// Removing a passkey wants a passkey step-up, which needs the
	// script: without it the page says so and keeps the passkey.
	b.tab.Run(
		chromedp.Click(chromedp.CSS("#passkeys details.manage summary")),
		chromedp.Click(chromedp.CSS("#passkeys form.remove button")),
	)
	wantWords(t, "the refusal", b.message("#passkeys .alert"), "one of your passkeys")
	if n := len(b.passkeyNames()); n != 1 {
		t.Errorf("%d passkeys after a refused removal, want 1", n)
	}

	b.signOut()
	if browsertest.Eval[bool](b.tab, `!document.getElementById("passkey-signin").hidden`) {
		t.Errorf("the passkey button shows without JavaScript")
	}
}

func TestBrowserWithoutWebAuthnThePasswordStillWorks(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	b.tab.BeforeScripts(`delete window.PublicKeyCredential;`)
	b.signUp("ada@example.com")
	if browsertest.Eval[bool](b.tab, `!document.getElementById("add-passkey").hidden`) {
		t.Errorf(`"Add a passkey" shows in a browser without WebAuthn`)
	}
	wantWords(t, "the note", b.tab.Text(".add-passkey .hint"), "supports passkeys")
	b.signOut()
	if browsertest.Eval[bool](b.tab, `!document.getElementById("passkey-signin").hidden`) {
		t.Errorf("the passkey button shows in a browser without WebAuthn")
	}
	if got := browsertest.Eval[string](b.tab, `document.getElementById("signin-form").dataset.passkeyAutofill || ""`); got != "" {
		t.Errorf("the autofill started (%q) without WebAuthn", got)
	}
	// The browser remembers the member: only the password is typed.
	b.tab.Run(
		chromedp.SendKeys(chromedp.CSS("#password"), goodPassword),
		chromedp.Click(chromedp.CSS("#password-submit")),
	)
	b.tab.WaitLocation("/account")
}

// TestBrowserScreenshots photographs the sign-in and account pages on a
// desktop and a phone, light and dark, in their usual and their refusing
// states. Set KEYSHIFT_SCREENSHOTS=DIR to keep them, and look at them.
func TestBrowserScreenshots(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	a := b.tab.AddAuthenticator()
	shoot := func(name string) {
		t.Helper()
		for _, scheme := range []string{"light", "dark"} {
			b.tab.ColorScheme(scheme)
			b.tab.Screenshot(name+"-desktop-"+scheme, 1280, 800)
			b.tab.Screenshot(name+"-phone-"+scheme, 390, 844)
		}
		b.tab.ColorScheme("")
	}

	b.open("/signin")
	b.waitAutofillEnded()
	shoot("signin")

	b.signUp("ada.lovelace@example.com")
	b.addPasskey()
	// A second, synced passkey from a security key beside the device.
	a.Remove()
	key := b.tab.AddAuthenticator(browsertest.Synced, func(o *webauthn.VirtualAuthenticatorOptions) {
		o.Transport = webauthn.AuthenticatorTransportUsb
	})
	b.addPasskey()
	b.tab.Run(chromedp.Click(chromedp.CSS("#add-passkey")))
	b.message("#add-passkey-message")
	b.tab.Run(chromedp.Click(chromedp.CSS("#passkeys details.manage summary")))
	shoot("account")

	// Without a platform authenticator there is no autofill; the button
	// asks the security key, whose user verification fails.
	key.SetUserVerified(false)
	b.signOut()
	b.tab.Wait("no autofill", `document.getElementById("signin-form").dataset.passkeyAutofill === "unavailable"`)
	b.tab.Run(chromedp.Click(chromedp.CSS("#passkey-button")))
	b.message("#passkey-message")
	shoot("signin-refused")
}

// waitFor polls ok for up to 10 s and fails t, naming what, if it never holds.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("waited 10s for %s", what)
}
