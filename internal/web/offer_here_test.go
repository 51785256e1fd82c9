package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/web/browsertest"
)

// TestAPasskeyFromAnotherDeviceOffersOneHere: a sign-in whose passkey the
// browser reports cross-platform (a phone over hybrid, a security key)
// answers "next": "enroll_passkey", and /welcome/passkey?here=1 offers a
// passkey on this device to a member who has one elsewhere. Not after a
// platform passkey or none reported, not once the member declined the
// nudge, not with the rollout off.
func TestAPasskeyFromAnotherDeviceOffersOneHere(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newPasskeyMember(t, s, "ada@example.com")
		// signin signs ada in on a fresh browser with the attachment the
		// browser reports, and returns the answer's next and what
		// /welcome/passkey?here=1 then answers.
		signin := func(attachment string) (string, *http.Response, string) {
			t.Helper()
			c := s.client()
			cer := begin(t, c, "/api/passkeys/login/begin", map[string]any{})
			a := ada.key.assertionFor(cer)
			a.Attachment = attachment
			r := finishLogin(c, cer.FlowID, a.JSON(), "modal")
			wantStatus(t, r, http.StatusOK)
			offer := c.Do(http.MethodGet, "/welcome/passkey?here=1&next="+url.QueryEscape("/account"), nil, nil)
			return nextOf(t, r), &http.Response{StatusCode: offer.Status}, string(offer.Body)
		}

		next, offer, body := signin("cross-platform")
		if next != "enroll_passkey" || offer.StatusCode != http.StatusOK || !strings.Contains(body, "Save a passkey on this device too?") {
			t.Errorf("after a cross-platform passkey: next %q, the offer %d", next, offer.StatusCode)
		}
		for _, attachment := range []string{"platform", ""} {
			if next, _, _ := signin(attachment); next != "" {
				t.Errorf("after attachment %q: next %q", attachment, next)
			}
		}

		wantStatus(t, ada.c.Form("/welcome/passkey", url.Values{"action": {"never"}}), http.StatusSeeOther)
		if next, offer, _ := signin("cross-platform"); next != "" || offer.StatusCode != http.StatusSeeOther {
			t.Errorf(`after "Don't ask again": next %q, the offer %d`, next, offer.StatusCode)
		}
		wantStatus(t, ada.c.JSON(http.MethodPost, "/api/nudge", map[string]any{"action": "ask_again"}), http.StatusNoContent)
		moveRollout(t, s, rollout.Change{Phase: new(rollout.Off)})
		if next, _, _ := signin("cross-platform"); next != "" {
			t.Errorf("with the rollout off: next %q", next)
		}
	})
}

// TestBrowserAPasskeyFromAnotherDeviceLeadsToTheOfferHere: in Chromium, a
// passkey on a roaming authenticator (USB; a phone over hybrid is reported
// cross-platform too) signs in, and the page — on a device with a platform
// authenticator — asks to save a passkey on this device.
func TestBrowserAPasskeyFromAnotherDeviceLeadsToTheOfferHere(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	b.tab.AddAuthenticator(browsertest.Roaming)
	b.signUp("ada@example.com")
	b.addPasskey()
	b.signOut()
	b.tab.AddAuthenticator() // this device's own, empty
	b.tab.Run(chromedp.Click(chromedp.CSS("#passkey-button")))
	b.tab.Wait("the offer", `location.pathname === "/welcome/passkey" && new URLSearchParams(location.search).get("here") === "1"`)
	wantWords(t, "the offer", b.tab.Text("h1"), "on this device too")
}
