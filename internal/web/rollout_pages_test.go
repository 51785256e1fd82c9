package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/web/browsertest"
)

// hasID reports whether page has an element with id.
func hasID(page, id string) bool { return strings.Contains(page, `id="`+id+`"`) }

// TestThePagesFollowTheRolloutTable: for every phase, at the ramp's ends,
// for members of every cohort with and without a passkey, the pages show
// what the offer table says: the nudge's page after a form sign-in,
// "Add a passkey", "Try passkeys" and "Go passwordless" on /account, the
// nudge's page itself, and /signin leading with the passkey (the password
// behind "Use a password instead") in the browser that remembers a member
// the rollout deprecates the password of — never for a browser that
// remembers nobody, whatever address it types. And for visitors of the
// internal domain and of others, at 100, 50 and 0 %: /signup/passkey mails
// a code exactly where the table offers passkey sign-up.
func TestThePagesFollowTheRolloutTable(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		moveRollout(t, s, rollout.Change{Internal: &rollout.Internal{Domains: []string{"staff.example"}}})
		members := []*cohortMember{
			{name: "internal, password", internal: true},
			{name: "internal, passkey", internal: true, passkey: true},
			{name: "beta, password", beta: true, ramp: true},
			{name: "beta, passkey", beta: true, ramp: true, passkey: true},
			{name: "ramp, older account, password", ramp: true},
			{name: "ramp, older account, passkey", ramp: true, passkey: true},
		}
		join := func(c *cohortMember, i int) {
			t.Helper()
			domain := "example.org"
			if c.internal {
				domain = "staff.example"
			}
			c.m = newMemberWithoutPasskey(t, s, fmt.Sprintf("p%d@%s", i, domain))
			if c.passkey {
				c.m.key = newSoftKey(t, s)
				wantStatus(t, c.m.key.register(c.m.c), http.StatusCreated)
			}
		}
		for i, c := range members {
			join(c, i)
		}
		moveRollout(t, s, rollout.Change{Phase: new(rollout.Beta)})
		for _, c := range members {
			if c.beta {
				wantStatus(t, c.m.c.JSON(http.MethodPut, "/api/account/preferences", map[string]any{"passkeyBeta": true}), http.StatusOK)
			}
		}
		s.Clock.Advance(time.Minute)
		moveRollout(t, s, rollout.Change{Phase: new(rollout.NewUsers)})
		s.Clock.Advance(time.Minute)
		for _, c := range []*cohortMember{
			{name: "ramp, new account, password", ramp: true, new: true},
			{name: "ramp, new account, passkey", ramp: true, new: true, passkey: true},
		} {
			join(c, len(members))
			members = append(members, c)
		}

		stranger := s.client()
		for phase := rollout.PasswordRetirement; phase >= rollout.Off; phase-- {
			for _, percent := range []int{100, 0} {
				moveRollout(t, s, rollout.Change{Phase: &phase, Percent: &percent})
				at := fmt.Sprintf("%s at %d %%", phase, percent)
				for _, c := range members {
					o := rollout.Offers(phase, c.placed(phase, percent))
					what := at + ", " + c.name
					r := c.m.c.Form("/signin", url.Values{"email": {c.m.email}, "password": {goodPassword}})
					want := "/account"
					if o.NudgeAfterSignin {
						want = "/welcome/passkey"
					}
					if r.Status != http.StatusSeeOther || r.Header.Get("Location") != want {
						t.Errorf("%s: the sign-in form goes to %d %q, want %q", what, r.Status, r.Header.Get("Location"), want)
					}

					welcome := c.m.c.Do(http.MethodGet, "/welcome/passkey", nil, nil)
					if shown := welcome.Status == http.StatusOK; shown != (o.AddPasskey && !c.passkey) {
						t.Errorf("%s: /welcome/passkey answers %d", what, welcome.Status)
					}

					page := wantPage(t, c.m.c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
					for id, want := range map[string]bool{
						"add-passkey": o.AddPasskey, "passkeys-not-offered": !o.AddPasskey,
						"try-passkeys": o.BetaToggle, "go-passwordless": o.Passwordless,
					} {
						if hasID(page, id) != want {
							t.Errorf("%s: /account has #%s: %v, want %v", what, id, !want, want)
						}
					}
					// A member with one passkey is not ready to go
					// passwordless, and the page says why.
					if o.Passwordless && !hasID(page, "passwordless-not-ready") {
						t.Errorf("%s: /account offers going passwordless without saying what is missing", what)
					}

					signin := wantPage(t, c.m.c.Do(http.MethodGet, "/signin", nil, nil), http.StatusOK)
					if hasID(signin, "use-password") != o.PasskeyFirst {
						t.Errorf("%s: /signin puts the password behind \"Use a password instead\": %v, want %v", what, !o.PasskeyFirst, o.PasskeyFirst)
					}
				}
				if p := wantPage(t, stranger.Do(http.MethodGet, "/signin", nil, nil), http.StatusOK); hasID(p, "use-password") {
					t.Errorf("%s: /signin hides the password from a browser that remembers nobody", at)
				}
			}
		}

		// Visitors, at the ramp's ends and between them: /signup/passkey
		// mails a code where the table offers passkey sign-up (S), and
		// asks for a password where it does not.
		visitors := 0
		for phase := rollout.PasswordRetirement; phase >= rollout.Off; phase-- {
			for _, percent := range []int{100, 50, 0} {
				moveRollout(t, s, rollout.Change{Phase: &phase, Percent: &percent})
				st, err := s.Rollout.Current(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				for i, domain := range []string{"staff.example", "example.org", "example.org", "example.org", "example.org"} {
					visitors++
					email := fmt.Sprintf("visitor%d@%s", visitors, domain)
					_, key, _ := account.NormalizeEmail(email)
					o := rollout.Offers(phase, rollout.Member{Visitor: true, Internal: i == 0,
						InRamp: rollout.InRamp(st.Salt, account.AddressRampSubject(key), percent)})
					page := wantPage(t, s.client().Do(http.MethodPost, "/signup/passkey", []byte(url.Values{"email": {email}}.Encode()), http.Header{
						"Content-Type":    {"application/x-www-form-urlencoded"},
						"Origin":          {s.URL},
						"X-Forwarded-For": {fmt.Sprintf("10.12.%d.%d", visitors/250, visitors%250+1)},
					}), http.StatusOK)
					if offered := signupFlowID.MatchString(page); offered != o.PasskeySignup || !offered && !strings.Contains(page, "Choose a password") {
						t.Errorf("%s at %d %%, visitor %s: the code form %v, want %v", phase, percent, email, offered, o.PasskeySignup)
					}
				}
			}
		}
	})
}

// TestTheNudgePageAndTheAccountSwitches: the nudge's answers as form posts
// (no JavaScript), "Ask me again" on /account, "Try passkeys" and "Go
// passwordless" as forms with their refusals shown in place.
func TestTheNudgePageAndTheAccountSwitches(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		// The second passkey is added in a password session: under the default
		// policy it would be on probation (probation_test.go).
		s := startPasskeySite(t, database, fullEmailSessions)
		ada := newMemberWithoutPasskey(t, s, "ada@example.com")
		c := ada.c
		signin := func() *servertest.Response {
			t.Helper()
			return c.Form("/signin", url.Values{"email": {ada.email}, "password": {goodPassword}})
		}
		if r := signin(); r.Header.Get("Location") != "/welcome/passkey" {
			t.Fatalf("the sign-in form goes to %q, want the nudge", r.Header.Get("Location"))
		}
		page := wantPage(t, c.Do(http.MethodGet, "/welcome/passkey", nil, nil), http.StatusOK)
		for _, want := range []string{"Sign in faster next time", "Create a passkey", "Not now", "Don’t ask again", `data-skip="/account"`} {
			if !strings.Contains(page, want) {
				t.Errorf("the nudge's page lacks %q", want)
			}
		}
		// Only a path of the account page is a place to go on to.
		for _, next := range []string{"https://evil.example/", "//evil.example/account", "/account\\@evil.example"} {
			p := wantPage(t, c.Do(http.MethodGet, "/welcome/passkey?next="+url.QueryEscape(next), nil, nil), http.StatusOK)
			if !strings.Contains(p, `data-skip="/account"`) {
				t.Errorf("next=%q is not refused", next)
			}
		}
		wantRedirect(t, c.Form("/welcome/passkey", url.Values{"action": {"later"}}), "/account")
		wantRedirect(t, signin(), "/account") // snoozed
		s.Clock.Advance(rollout.FirstSnooze)
		if r := signin(); r.Header.Get("Location") != "/welcome/passkey" {
			t.Errorf("a week after 'Not now' the sign-in goes to %q", r.Header.Get("Location"))
		}
		wantRedirect(t, c.Form("/welcome/passkey", url.Values{"action": {"never"}}), "/account")
		if r := c.Form("/welcome/passkey", url.Values{"action": {"ask_again"}}); r.Status != http.StatusBadRequest {
			t.Errorf("the nudge's page takes action ask_again: %d", r.Status)
		}
		s.Clock.Advance(365 * 24 * time.Hour)
		wantRedirect(t, signin(), "/account")
		page = wantPage(t, c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		if !hasID(page, "nudge-ask-again") {
			t.Fatal("/account does not offer to undo 'Don't ask again'")
		}
		page = wantPage(t, c.Form("/account/nudge", url.Values{"action": {"ask_again"}}), http.StatusOK)
		if hasID(page, "nudge-ask-again") || !strings.Contains(page, "We will suggest a passkey again") {
			t.Error("'Ask me again' did not take")
		}
		if r := signin(); r.Header.Get("Location") != "/welcome/passkey" {
			t.Errorf("after 'Ask me again' the sign-in goes to %q", r.Header.Get("Location"))
		}
		evs := eventsOf(t, s, ada.id)
		if evs[rollout.EventNudgeAnswered] != 3 {
			t.Errorf("%d nudge answers recorded, want 3", evs[rollout.EventNudgeAnswered])
		}

		// "Try passkeys": outside the ramp, in beta.
		zero := 0
		moveRollout(t, s, rollout.Change{Phase: new(rollout.Beta), Percent: &zero})
		page = wantPage(t, c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		if !hasID(page, "try-passkeys") || hasID(page, "add-passkey") || !strings.Contains(page, "not offered to your account yet") {
			t.Fatal("/account outside the rollout in beta: no switch, or a passkey offered")
		}
		page = wantPage(t, c.Form("/account/preferences", url.Values{"passkeyBeta": {"1"}}), http.StatusOK)
		if !hasID(page, "add-passkey") || !strings.Contains(page, "Stop trying passkeys") {
			t.Error("'Try passkeys' did not open adding a passkey")
		}
		if r := c.Form("/account/preferences", url.Values{"passkeyBeta": {"maybe"}}); r.Status != http.StatusBadRequest {
			t.Errorf("passkeyBeta=maybe: %d", r.Status)
		}

		// "Go passwordless": a stale sign-in is asked to sign in again,
		// in the section.
		wantStatus(t, newSoftKey(t, s).register(c), http.StatusCreated)
		moveRollout(t, s, rollout.Change{Phase: new(rollout.PasswordRetirement), Percent: new(100)})
		page = wantPage(t, c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		if !hasID(page, "passwordless-not-ready") || !strings.Contains(page, "Add a second passkey") {
			t.Errorf("one device-bound passkey: /account does not say why going passwordless waits")
		}
		key := registered(t, s, c)
		s.Clock.Advance(s.Config.Passkey.ReauthWindow + time.Second)
		page = wantPage(t, c.Form("/account/preferences", url.Values{"passwordless": {"1"}}), http.StatusForbidden)
		if !strings.Contains(page, "confirm it’s you") {
			t.Error("a stale session going passwordless is not asked to confirm")
		}
		wantStatus(t, stepUpWith(t, c, key), http.StatusOK)
		page = wantPage(t, c.Form("/account/preferences", url.Values{"passwordless": {"1"}}), http.StatusOK)
		if !strings.Contains(page, "Keep my password") {
			t.Error("going passwordless did not take")
		}
		page = wantPage(t, c.Form("/account/preferences", url.Values{"passwordless": {"0"}}), http.StatusOK)
		if !strings.Contains(page, "Your password stays") {
			t.Error("'Keep my password' did not take")
		}
	})
}

// TestBrowserPasswordSigninNudgeCreatePasskeyThenSigninByPasskey: in
// existing-users a member signs in with their password, is nudged, creates
// a passkey on the nudge's page, signs out, and signs in next by passkey.
func TestBrowserPasswordSigninNudgeCreatePasskeyThenSigninByPasskey(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	a := b.tab.AddAuthenticator()
	newMemberWithoutPasskey(t, b.liveSite, "ada@example.com")
	if st, err := b.Rollout.Current(context.Background()); err != nil || st.Phase != rollout.ExistingUsers {
		t.Fatalf("a fresh install's rollout: %v %v", st.Phase, err)
	}
	b.open("/signin")
	b.waitAutofillEnded() // an empty authenticator: the autofill ends quietly
	b.tab.Run(
		chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), goodPassword),
		chromedp.Click(chromedp.CSS("#password-submit")),
	)
	b.tab.WaitLocation("/welcome/passkey")
	wantWords(t, "the nudge", b.tab.Text("#welcome-passkey h1"), "Sign in faster next time")
	shoot(b, "welcome-passkey")
	if !browsertest.Eval[bool](b.tab, `!document.getElementById("add-passkey").hidden && !document.querySelector("#welcome-passkey .add-passkey").hidden`) {
		t.Fatal(`"Create a passkey" is hidden in a browser with WebAuthn`)
	}
	b.tab.Run(chromedp.Click(chromedp.CSS("#add-passkey")))
	b.tab.Wait("the account page with the new passkey", `location.pathname === "/account" && location.search === "?passkey=added" && document.readyState === "complete" && document.querySelectorAll(".passkey-name").length === 1`)
	if n := len(a.Credentials()); n != 1 {
		t.Fatalf("the authenticator holds %d credentials, want 1", n)
	}
	b.signOut()
	// The authenticator holds the passkey now: the sign-in page's autofill
	// signs in by itself (TESTING.md), by passkey.
	b.tab.WaitLocation("/account")
	if m := b.authMethod(); m != "passkey_conditional" {
		t.Errorf("the next sign-in was by %q, want a passkey", m)
	}

	// password-deprecation: the browser that remembers this passkey
	// member leads with the passkey; "Use a password instead" still works.
	moveRollout(t, b.liveSite, rollout.Change{Phase: new(rollout.PasswordDeprecation)})
	b.signOut()
	b.tab.WaitLocation("/account") // the autofill again, which renews the cookie in this phase
	a.SetUserVerified(false)       // the autofill now ends quietly
	b.signOut()
	b.waitAutofillEnded()
	if !browsertest.Eval[bool](b.tab, `!document.getElementById("use-password").open && !document.getElementById("passkey-signin").hidden`) {
		t.Fatal("/signin does not lead with the passkey, the password folded away")
	}
	shoot(b, "signin-passkey-first")
	b.tab.Run(
		chromedp.Click(chromedp.CSS("#use-password summary")),
		chromedp.SendKeys(chromedp.CSS("#password"), goodPassword),
		chromedp.Click(chromedp.CSS("#password-submit")),
	)
	b.tab.WaitLocation("/account")
	if m := b.authMethod(); m != "password" {
		t.Errorf("'Use a password instead' signed in by %q", m)
	}
	// password-retirement: "Go passwordless", and what it waits for.
	moveRollout(t, b.liveSite, rollout.Change{Phase: new(rollout.PasswordRetirement)})
	b.open("/account")
	wantWords(t, "the passwordless offer", b.tab.Text("#passkey-options"), "Go passwordless", "Not yet:", "Add a second passkey")
	shoot(b, "account-passkey-options")
}

// shoot photographs the tab's page light and dark, on a desktop and a
// phone, and returns the files: in the directory KEYSHIFT_SCREENSHOTS
// names, else in the test's temporary directory (as TestBrowserScreenshots
// does), so that every run takes them and a person can keep and look at
// them.
func shoot(b *inBrowser, name string) []string {
	b.t.Helper()
	var files []string
	for _, scheme := range []string{"light", "dark"} {
		b.tab.ColorScheme(scheme)
		files = append(files, b.tab.Screenshot(name+"-desktop-"+scheme, 1280, 800), b.tab.Screenshot(name+"-phone-"+scheme, 390, 844))
	}
	b.tab.ColorScheme("")
	return files
}

// TestBrowserAutomaticUpgradeAfterAPasswordManagerSignin: a password sign-in
// that the password manager filled is followed, on the next page, by a
// conditional create that the browser answers without a dialog; the
// passkey is stored without user verification, recorded as an upgrade, and
// the account page says "A passkey was saved".
//
// A JS-level test: the CDP virtual authenticator leaves a conditional
// create pending for ever (it is the password manager's to answer, and this
// headless Chromium has none), so the page's create() is stubbed to hand a
// conditional request to the virtual authenticator as an ordinary one —
// whose answer has the UV flag clear, which the upgrade does not require. The
// browser's own autofill state cannot be driven over CDP either: the page
// is told the password field matches :autofill.
func TestBrowserAutomaticUpgradeAfterAPasswordManagerSignin(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	b.tab.BeforeScripts(`{
		const m = Element.prototype.matches;
		Element.prototype.matches = function (sel) { return /autofill/.test(sel) && this.id === "password" ? true : m.call(this, sel); };
		const create = navigator.credentials.create.bind(navigator.credentials);
		navigator.credentials.create = (opts) => {
			if (opts && opts.mediation === "conditional") {
				sessionStorage.setItem("conditional", String(Number(sessionStorage.getItem("conditional") || 0) + 1));
				const o = Object.assign({}, opts);
				delete o.mediation;
				return create(o);
			}
			return create(opts);
		};
	}`)
	a := b.tab.AddAuthenticator()
	a.SetBadUV(true) // the browser resolves, the UV flag clear
	ada := newMemberWithoutPasskey(t, b.liveSite, "ada@example.com")
	b.open("/signin")
	b.waitAutofillEnded()
	b.tab.Run(
		chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), goodPassword),
		chromedp.Click(chromedp.CSS("#password-submit")),
	)
	b.tab.Wait("the saved passkey's note", `location.pathname === "/account" && location.search === "?passkey=saved" && document.readyState === "complete"`)
	wantWords(t, "the note", b.tab.Text("#passkeys .notice.ok"), "A passkey was saved")
	if n := browsertest.Eval[string](b.tab, `sessionStorage.getItem("conditional") || "0"`); n != "1" {
		t.Errorf("%s conditional creates, want 1", n)
	}
	if n := len(a.Credentials()); n != 1 {
		t.Fatalf("the authenticator holds %d credentials, want 1", n)
	}
	evs, err := b.DB.FindEvents(context.Background(), store.EventFilter{UserID: ada.id, Type: "passkey_added"})
	if err != nil || len(evs) != 1 || evs[0].Data["upgrade"] != true {
		t.Errorf("passkey_added events %+v (%v), want one with upgrade true", evs, err)
	}

	if mark := browsertest.Eval[string](b.tab, `sessionStorage.getItem("keyshift.upgrade") || ""`); mark != "" {
		t.Errorf("the upgrade's mark outlived its use: %q", mark)
	}
}

// TestTheNudgeKeepsTheReturnAddress: a member sent to sign in by an app
// (/signin?return_to=) and nudged on the way goes on to that address from
// the nudge's page — "Not now" does not strand them on /account — while a
// next the return policy refuses still ends on /account.
func TestTheNudgeKeepsTheReturnAddress(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newMemberWithoutPasskey(t, s, "ada@example.com")
		c := s.client()
		const app = "/docs/getting-started?tab=2"
		wantStatus(t, c.Do(http.MethodGet, "/signin?return_to="+url.QueryEscape(app), nil, nil), http.StatusOK)
		r := c.Form("/signin", url.Values{"email": {ada.email}, "password": {goodPassword}})
		wantRedirect(t, r, "/welcome/passkey?next="+url.QueryEscape(app))
		page := wantPage(t, c.Do(http.MethodGet, r.Header.Get("Location"), nil, nil), http.StatusOK)
		if !strings.Contains(page, `value="`+app+`"`) {
			t.Errorf("the nudge's form does not carry the return address on")
		}
		wantRedirect(t, c.Form("/welcome/passkey", url.Values{"action": {"later"}, "next": {app}}), app)
		wantRedirect(t, c.Form("/welcome/passkey", url.Values{"action": {"later"}, "next": {"https://evil.example/"}}), "/account")
	})
}
