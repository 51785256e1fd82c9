package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/testdb"
)

var flowIDInput = regexp.MustCompile(`name="flowId" value="([^"]+)"`)

// TestImportedMembersFirstSigninOffersAPasskey: a member created by an
// import (verified address, no password, no passkey) signs in by email,
// is told "next": "enroll_passkey", and lands on /account with the passkey
// offer first; once they have a passkey, neither happens.
func TestImportedMembersFirstSigninOffersAPasskey(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		addMember(t, s.Instance, "lin@example.com")
		es := &emailSite{Instance: s.Instance, box: s.box}

		// The API: the sign-in answer asks the client to offer a passkey.
		api := s.Client(t)
		es.start(t, api, "lin@example.com")
		m := s.box.nth(t, "lin@example.com", 1)
		r, got := finishEmail(t, api, map[string]any{"token": m.token})
		if r.Status != http.StatusOK {
			t.Fatalf("finish: %d %s", r.Status, r.Body)
		}
		if got.Next == nil || *got.Next != "enroll_passkey" || got.User.HasPassword || !got.User.EmailVerified {
			t.Errorf("sign-in answer %s, want next enroll_passkey for a member without password or passkey", r.Body)
		}

		// The pages, without JavaScript: email form, code form, /account.
		browser := s.Client(t)
		sent := browser.Form("/signin/email", url.Values{"email": {"lin@example.com"}})
		fm := flowIDInput.FindSubmatch(sent.Body)
		if sent.Status != http.StatusOK || fm == nil {
			t.Fatalf("POST /signin/email: %d, no flowId field:\n%s", sent.Status, sent.Body)
		}
		code := s.box.nth(t, "lin@example.com", 2).code
		// The nudge's page first (the rollout nudges a member without a
		// passkey), which goes on to /account.
		wantRedirect(t, browser.Form("/email/code", url.Values{"flowId": {string(fm[1])}, "code": {code}}), "/welcome/passkey")
		page := string(browser.JSON(http.MethodGet, "/account", nil).Body)
		offer, email := strings.Index(page, `id="passkeys"`), strings.Index(page, "<h2>Email</h2>")
		if offer < 0 || email < 0 || offer > email {
			t.Errorf("the passkey section is not first on /account (at %d, email at %d)", offer, email)
		}
		if !strings.Contains(page, "Signed in") || !strings.Contains(page, "with a code sent by email") {
			t.Errorf("/account does not say how this session signed in:\n%s", page)
		}
		if !strings.Contains(page, `id="passkey-offer"`) || !strings.Contains(page, "Add a passkey") || !strings.Contains(page, "instead of waiting for an email") {
			t.Errorf("/account does not offer a passkey to a member who signs in only by email:\n%s", page)
		}

		// With a passkey: no enroll step, and the offer is gone.
		if r := newSoftKey(t, s.liveSite).register(api); r.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		es.start(t, api, "lin@example.com")
		m = s.box.nth(t, "lin@example.com", 3)
		if r, got := finishEmail(t, api, map[string]any{"token": m.token}); r.Status != http.StatusOK || got.Next != nil {
			t.Errorf("sign-in with a passkey on file: %d %s, want next null", r.Status, r.Body)
		}
		page = string(api.JSON(http.MethodGet, "/account", nil).Body)
		if strings.Contains(page, `id="passkey-offer"`) || strings.Index(page, `id="passkeys"`) < strings.Index(page, "<h2>Email</h2>") {
			t.Error("/account still puts the offer first for a member with a passkey")
		}
	})
}
