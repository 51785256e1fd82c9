package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/email/signin"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/telemetry"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/web/browsertest"
)

// signupSite is a keyshift with a mailbox, for sign-ups proven by a code.
type signupSite struct {
	*liveSite
	box mailbox
}

func startSignupSite(t *testing.T, database string, opts ...servertest.Option) *signupSite {
	t.Helper()
	box := mailbox{mailtest.Start(t)}
	opts = append([]servertest.Option{func(c *config.Config) { c.SMTPURLs = []string{box.URL()} }}, opts...)
	return &signupSite{liveSite: startPasskeySite(t, database, opts...), box: box}
}

var signupFlowID = regexp.MustCompile(`name="flowId" value="([^"]+)"`)

// passkeyOnly is the policy that takes no new passwords.
func passkeyOnly(c *config.Config) { c.Signup.Methods = []string{config.SignupPasskey} }

// TestPasskeyFirstSignupPages: /signup leads with the passkey, with the
// password one click away; the address gets a code, the page says where
// it went, the code makes the account — verified, without a password —
// and the passkey is asked for at once on the nudge's page. Without
// JavaScript every step is a form post.
func TestPasskeyFirstSignupPages(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSignupSite(t, database)
		c := s.client()
		page := wantPage(t, c.Do(http.MethodGet, "/signup", nil, nil), http.StatusOK)
		for _, want := range []string{`id="signup-passkey-form"`, "no password to remember", `id="signup-use-password"`, `formaction="/signup"`} {
			if !strings.Contains(page, want) {
				t.Errorf("/signup lacks %s", want)
			}
		}
		page = wantPage(t, c.Form("/signup/passkey", url.Values{"email": {"new@example.com"}}), http.StatusOK)
		m := signupFlowID.FindStringSubmatch(page)
		if m == nil || !strings.Contains(page, `name="signup" value="1"`) || !strings.Contains(page, "new@example.com") || !strings.Contains(page, "Wrong address?") {
			t.Fatalf("the code page of a sign-up:\n%s", visibleText(page))
		}
		code := s.box.nth(t, "new@example.com", 1).code
		r := c.Form("/email/code", url.Values{"flowId": {m[1]}, "code": {code}, "signup": {"1"}, "email": {"new@example.com"}})
		wantRedirect(t, r, "/welcome/passkey?signup=1")
		u, err := s.DB.FindUserByEmailKey(context.Background(), "new@example.com")
		if err != nil || !u.EmailVerified || u.HasPassword || u.Origin != account.OriginEmail {
			t.Fatalf("the account: %+v, %v", u, err)
		}
		page = wantPage(t, c.Do(http.MethodGet, "/welcome/passkey?signup=1", nil, nil), http.StatusOK)
		if !strings.Contains(page, `data-autostart="1"`) {
			t.Error("the nudge's page after a passkey-first sign-up does not ask at once")
		}
		// Without JavaScript, "Not now" leaves an email-only account.
		wantRedirect(t, c.Form("/welcome/passkey", url.Values{"action": {"later"}}), "/account")

		// A wrong address is one click back; the password way still works.
		r = s.client().Form("/signup", url.Values{"email": {"pat@example.com"}, "password": {goodPassword}})
		wantRedirect(t, r, "/account")

		// Where the rollout does not offer this visitor a passkey, the
		// page asks for a password instead.
		zero := 0
		moveRollout(t, s.liveSite, rollout.Change{Percent: &zero})
		page = wantPage(t, s.client().Form("/signup/passkey", url.Values{"email": {"late@example.com"}}), http.StatusOK)
		if !strings.Contains(page, "Choose a password") || !strings.Contains(page, `id="signup-use-password" open`) || !strings.Contains(page, `value="late@example.com"`) {
			t.Errorf("outside the rollout: %s", visibleText(page))
		}
		// Before the rollout offers anyone a passkey, the page is the
		// password's.
		moveRollout(t, s.liveSite, rollout.Change{Phase: new(rollout.Off)})
		if page := wantPage(t, s.client().Do(http.MethodGet, "/signup", nil, nil), http.StatusOK); strings.Contains(page, `id="signup-passkey-form"`) {
			t.Error("the rollout is off, and /signup leads with the passkey")
		}
	})
}

// TestSignupCodePageResendsAndLinks: on the sign-up's code page the
// resend rules of email sign-in apply — sending the address again within
// the quiet period mails nothing new and keeps the code that was sent; once
// it is over, a new code comes, and it makes the account — and the page's
// way back is /signup, not /signin. A sign-up finished by the mailed link
// instead of the code makes the same account and leads to the passkey.
func TestSignupCodePageResendsAndLinks(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSignupSite(t, database)
		c := s.client()
		send := func() (page, flow string) {
			t.Helper()
			page = wantPage(t, c.Form("/signup/passkey", url.Values{"email": {"new@example.com"}}), http.StatusOK)
			m := signupFlowID.FindStringSubmatch(page)
			if m == nil {
				t.Fatalf("no code form:\n%s", visibleText(page))
			}
			return page, m[1]
		}
		page, first := send()
		if !strings.Contains(page, `<a href="/signup">Back to sign-up</a>`) || strings.Contains(page, `href="/signin">Back to sign in`) {
			t.Errorf("the sign-up's code page does not lead back to /signup:\n%s", page)
		}
		code := s.box.nth(t, "new@example.com", 1).code
		s.Clock.Advance(signin.QuietFor / 2)
		if _, again := send(); again != first {
			t.Errorf("a resend within the quiet period answers flow %s, want the first, %s", again, first)
		}
		time.Sleep(200 * time.Millisecond) // a mail wrongly sent would have arrived
		if n := s.box.count("new@example.com"); n != 1 {
			t.Fatalf("%d mails after a resend within the quiet period, want 1", n)
		}
		s.Clock.Advance(signin.QuietFor)
		_, second := send()
		fresh := s.box.nth(t, "new@example.com", 2).code
		if fresh == code {
			t.Fatal("the resend after the quiet period mailed the same code")
		}
		r := c.Form("/email/code", url.Values{"flowId": {second}, "code": {fresh}, "signup": {"1"}, "email": {"new@example.com"}})
		wantRedirect(t, r, "/welcome/passkey?signup=1")

		// Finished by the link: the account is made, verified, without a
		// password, and the passkey is offered next.
		l := s.client()
		wantPage(t, l.Form("/signup/passkey", url.Values{"email": {"linked@example.com"}}), http.StatusOK)
		link := s.box.nth(t, "linked@example.com", 1)
		landing := wantPage(t, l.Do(http.MethodGet, strings.TrimPrefix(link.link, s.URL), nil, nil), http.StatusOK)
		if !strings.Contains(html.UnescapeString(landing), "Continue as l…@example.com") {
			t.Errorf("the link's landing page:\n%s", visibleText(landing))
		}
		r = l.Form("/email/verify", url.Values{"token": {link.token}})
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/welcome/passkey") {
			t.Fatalf("the link's form: %d to %q, want the passkey's page", r.Status, r.Header.Get("Location"))
		}
		u, err := s.DB.FindUserByEmailKey(context.Background(), "linked@example.com")
		if err != nil || !u.EmailVerified || u.HasPassword || u.Origin != account.OriginEmail {
			t.Fatalf("the account made by the link: %+v, %v", u, err)
		}
		wantStatus(t, newSoftKey(t, s.liveSite).register(l), http.StatusCreated)
	})
}

// TestEmailFinishSaysCreated: /api/email/finish says "created": true for
// an address that had no account, and nothing of the kind for a member.
func TestEmailFinishSaysCreated(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSignupSite(t, database)
		es := &emailSite{Instance: s.Instance, box: s.box}
		for i, who := range []string{"new@example.com", "new@example.com"} {
			c := s.client()
			flow := es.start(t, c, who)
			r, _ := finishEmail(t, c, map[string]any{"flowId": flow, "code": s.box.nth(t, who, i+1).code})
			wantStatus(t, r, http.StatusOK)
			var got struct {
				Created *bool `json:"created"`
			}
			r.JSON(t, &got)
			if first := i == 0; first != (got.Created != nil && *got.Created) {
				t.Errorf("finish #%d: %s", i+1, r.Body)
			}
		}
	})
}

// TestPasskeyOnlyPolicyTakesNoNewPasswords: signup.methods = passkey:
// POST /api/signup and the sign-up form with a password answer 403
// password_signup_disabled, /signup shows no password field, and even
// outside the rollout an address makes an email-only account. (Members
// keep their passwords: passwordauth's TestNoPasswordSignupByPolicy.)
func TestPasskeyOnlyPolicyTakesNoNewPasswords(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSignupSite(t, database, passkeyOnly)
		wantAPIError(t, postJSON(s.client(), "/api/signup", credentials("ada@example.com", goodPassword)), http.StatusForbidden, "password_signup_disabled")
		page := wantPage(t, s.client().Form("/signup", url.Values{"email": {"ada@example.com"}, "password": {goodPassword}}), http.StatusForbidden)
		if !strings.Contains(page, "made with a passkey") {
			t.Errorf("the refused form: %s", visibleText(page))
		}
		page = wantPage(t, s.client().Do(http.MethodGet, "/signup", nil, nil), http.StatusOK)
		if strings.Contains(page, `type="password"`) || !strings.Contains(page, `id="signup-passkey-form"`) {
			t.Errorf("/signup under a passkey-only policy:\n%s", page)
		}
		zero := 0
		moveRollout(t, s.liveSite, rollout.Change{Percent: &zero})
		page = wantPage(t, s.client().Form("/signup/passkey", url.Values{"email": {"bea@example.com"}}), http.StatusOK)
		if !signupFlowID.MatchString(page) {
			t.Errorf("outside the rollout with no passwords allowed, no code form:\n%s", visibleText(page))
		}
	})
}

// signupInBrowser runs the passkey-first sign-up in b's tab up to the
// code: /signup, the address, Continue, the code from the mail.
func signupInBrowser(t *testing.T, b *inBrowser, box mailbox, email string) {
	t.Helper()
	b.open("/signup")
	b.tab.Run(
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.Click(chromedp.CSS("#signup-passkey-submit")),
	)
	b.tab.Wait("the code form", `document.getElementById("signup-code-sent") !== null`)
	wantWords(t, "the code page", b.tab.Text("#signup-code-sent"), email, "Wrong address?")
	wantWords(t, "the code page's button", b.tab.Text("#email-code-submit"), "Continue")
	b.tab.Run(
		chromedp.SendKeys(chromedp.CSS("#code"), box.nth(t, email, 1).code),
		chromedp.Click(chromedp.CSS("#email-code-submit")),
	)
}

func startSignupBrowser(t *testing.T, opts ...servertest.Option) (*inBrowser, mailbox) {
	t.Helper()
	box := mailbox{mailtest.Start(t)}
	opts = append([]servertest.Option{func(c *config.Config) { c.SMTPURLs = []string{box.URL()} }}, opts...)
	b := &inBrowser{
		liveSite: startSite(t, "sqlite:"+testdb.SQLitePath(t), opts...),
		tab:      browsertest.NewTab(t),
	}
	return b, box
}

// TestBrowserPasskeyFirstSignup: end to end with real SMTP — the address,
// the mailed code, the passkey made at once, sign out, a passkey sign-in;
// the same with the passkey dialog cancelled (an email-only account,
// nudged at its next sign-in); and in a browser without WebAuthn (an
// email-only account, no passkey step). Screenshots of /signup.
func TestBrowserPasskeyFirstSignup(t *testing.T) {
	t.Parallel()
	t.Run("with a passkey", func(t *testing.T) {
		t.Parallel()
		b, box := startSignupBrowser(t)
		a := b.tab.AddAuthenticator()
		signupInBrowser(t, b, box, "ada@example.com")
		b.tab.Wait("the account page with the new passkey", `location.pathname === "/account" && location.search === "?passkey=added" && document.readyState === "complete"`)
		if n := len(a.Credentials()); n != 1 {
			t.Fatalf("the authenticator holds %d credentials, want 1", n)
		}
		if a.Credentials()[0].UserName != "ada@example.com" {
			t.Errorf("the passkey's user name is %q, want the address", a.Credentials()[0].UserName)
		}
		b.signOut()
		b.tab.WaitLocation("/account") // the autofill signs in by itself with the new passkey
		if m := b.authMethod(); m != "passkey_conditional" {
			t.Errorf("signed in with %q, want a passkey", m)
		}
	})
	t.Run("the dialog cancelled", func(t *testing.T) {
		t.Parallel()
		b, box := startSignupBrowser(t)
		a := b.tab.AddAuthenticator()
		a.SetUserVerified(false) // the member cancels: NotAllowedError
		signupInBrowser(t, b, box, "bea@example.com")
		b.tab.Wait("the refusal on the nudge's page", `location.pathname === "/welcome/passkey" && document.getElementById("add-passkey-message").textContent.trim() !== ""`)
		b.open("/account") // the member leaves: an email-only account
		u, err := b.DB.FindUserByEmailKey(context.Background(), "bea@example.com")
		if err != nil || u.HasPassword || u.PasskeyCount != 0 || !u.EmailVerified {
			t.Fatalf("after a cancelled passkey: %+v, %v", u, err)
		}
		// The next sign-in (by email: the browser remembers that way) is
		// nudged, in existing-users.
		b.signOut()
		b.tab.Run(chromedp.Click(chromedp.CSS("#email-signin-submit")))
		b.tab.WaitLocation("/signin/email")
		b.tab.Run(
			chromedp.SendKeys(chromedp.CSS("#code"), box.nth(t, "bea@example.com", 2).code),
			chromedp.Click(chromedp.CSS("#email-code-submit")),
		)
		b.tab.WaitLocation("/welcome/passkey")
	})
	t.Run("without WebAuthn", func(t *testing.T) {
		t.Parallel()
		b, box := startSignupBrowser(t)
		b.tab.BeforeScripts(`delete window.PublicKeyCredential;`)
		signupInBrowser(t, b, box, "cy@example.com")
		b.tab.WaitLocation("/account")
		u, err := b.DB.FindUserByEmailKey(context.Background(), "cy@example.com")
		if err != nil || u.HasPassword || u.PasskeyCount != 0 || !u.EmailVerified {
			t.Fatalf("without WebAuthn: %+v, %v", u, err)
		}
	})
}

// TestBrowserSignupScreenshots photographs, light and dark, on a desktop
// and a phone: the passkey-first /signup, its code page ("Wrong address?")
// and /signup under the passkey-only policy. Set KEYSHIFT_SCREENSHOTS=DIR to
// keep them, and look at them.
func TestBrowserSignupScreenshots(t *testing.T) {
	t.Parallel()
	t.Run("passkey first", func(t *testing.T) {
		t.Parallel()
		b, _ := startSignupBrowser(t)
		b.open("/signup")
		wantPNGs(t, shoot(b, "signup-passkey-first"))
		b.tab.Run(
			chromedp.SendKeys(chromedp.CSS("#email"), "ada.lovelace@example.com"),
			chromedp.Click(chromedp.CSS("#signup-passkey-submit")),
		)
		b.tab.Wait("the code form", `document.getElementById("signup-code-sent") !== null`)
		wantPNGs(t, shoot(b, "signup-code-sent"))
	})
	t.Run("passkey only", func(t *testing.T) {
		t.Parallel()
		b, _ := startSignupBrowser(t, passkeyOnly)
		b.open("/signup")
		wantPNGs(t, shoot(b, "signup-passkey-only"))
	})
}

// wantPNGs fails t unless shoot wrote its four PNGs (checked before the
// test's temporary directory goes).
func wantPNGs(t *testing.T, files []string) {
	t.Helper()
	if len(files) != 4 {
		t.Fatalf("%d screenshots, want 4", len(files))
	}
	for _, f := range files {
		png, err := os.ReadFile(f)
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("%s is not a PNG: %v", f, err)
		}
	}
}

// TestPasskeyFirstSignupsCountAsPasskey: a sign-up proven by the mailed
// code whose first passkey comes in the same session counts in the metrics
// document's signupsByMethod as "passkey"; one that stops at the code (the
// dialog cancelled) counts by the code.
func TestPasskeyFirstSignupsCountAsPasskey(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		token := strings.Repeat("m", 40)
		s := startSignupSite(t, database, func(c *config.Config) { c.AdminToken = token })
		es := &emailSite{Instance: s.Instance, box: s.box}
		for i, who := range []string{"keys@example.com", "codeonly@example.com"} {
			c := s.client()
			flow := es.start(t, c, who)
			r, _ := finishEmail(t, c, map[string]any{"flowId": flow, "code": s.box.nth(t, who, 1).code})
			wantStatus(t, r, http.StatusOK)
			if i == 0 {
				wantStatus(t, newSoftKey(t, s.liveSite).register(c), http.StatusCreated)
			}
		}
		waitFolded(t, s.Instance)
		r := s.client().Do(http.MethodGet, "/api/admin/metrics", nil, bearer(token))
		wantStatus(t, r, http.StatusOK)
		var d telemetry.Document
		if err := json.Unmarshal(r.Body, &d); err != nil {
			t.Fatal(err)
		}
		if d.Signups != 2 || d.SignupsByMethod["passkey"] != 1 || d.SignupsByMethod["email_code"] != 1 {
			t.Errorf("sign-ups %d by method %v, want 2: passkey 1, email_code 1", d.Signups, d.SignupsByMethod)
		}
	})
}
