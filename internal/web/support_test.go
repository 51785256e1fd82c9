package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/support"
	"github.com/keyshift/keyshift/internal/testdb"
)

var (
	supportCancelRE  = regexp.MustCompile(`https?://[^\s"<>]+/support/cancel\?token=([A-Za-z0-9_-]+)`)
	supportRecoverRE = regexp.MustCompile(`https?://[^\s"<>]+/support/recover\?token=([A-Za-z0-9_-]+)`)
)

// beginSupport asks for a support recovery of email's account to newEmail,
// as `keyshift admin recover` does.
func beginSupport(t *testing.T, s *noticeSite, email, newEmail string) *support.Begun {
	t.Helper()
	b, err := s.Support.Begin(context.Background(), support.Request{User: email, NewEmail: newEmail, Evidence: "called back on the number on file", By: "cli:test"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSupportRecoveryOverHTTP: the whole way through real SMTP, with the
// server's clock moved past the wait. The notice reaches the account's
// address with a cancel link whose page changes nothing by itself; the
// member's session shows the pending recovery (GET /api/session, /account);
// after the wait the janitor's round mails the new address, whose link's
// page signs a new browser in — every credential and session of before
// gone, the account at the new address — and works once; the old address
// is told.
func TestSupportRecoveryOverHTTP(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		s.verify(t, ada.email)

		beginSupport(t, s, "ada@example.com", "ada.found@example.org")
		notice := s.box.waitMail(t, "ada@example.com", "Support will move your")
		if !strings.Contains(notice.Text, "a…@example.org") || strings.Contains(notice.Text, "ada.found@example.org") {
			t.Errorf("the notice must name the new address masked:\n%s", notice.Text)
		}
		_, cancelToken := linkIn(t, notice, supportCancelRE)
		wantLanding(t, s, "/support/cancel", cancelToken, "/support/cancel")

		var view struct {
			Notices []struct {
				Kind     string `json:"kind"`
				Recovery *struct {
					To      string `json:"to"`
					ReadyAt string `json:"readyAt"`
				} `json:"recovery"`
			} `json:"notices"`
		}
		r := ada.c.JSON(http.MethodGet, "/api/session", nil)
		wantStatus(t, r, http.StatusOK)
		r.JSON(t, &view)
		if len(view.Notices) != 1 || view.Notices[0].Kind != "support_recovery" || view.Notices[0].Recovery == nil ||
			view.Notices[0].Recovery.To != "a…@example.org" {
			t.Errorf("GET /api/session's notices: %s", r.Body)
		}
		if page := wantPage(t, ada.c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK); !strings.Contains(page, `id="support-recovery-cancel"`) {
			t.Errorf("/account shows no banner with a cancel button:\n%s", page)
		}

		s.Clock.Advance(support.DefaultWait)
		if n, err := s.Support.MailDue(context.Background()); err != nil || n != 1 {
			t.Fatalf("MailDue = %d, %v", n, err)
		}
		_, token := linkIn(t, s.box.waitMail(t, "ada.found@example.org", "Get back into your"), supportRecoverRE)
		wantLanding(t, s, "/support/recover", token, "/support/recover")
		if got := currentSession(t, ada.c).User.Email; got != "ada@example.com" {
			t.Fatalf("the address is %s before the link was used", got)
		}

		phone := s.Client(t)
		page := wantPage(t, phone.Form("/support/recover", url.Values{"token": {token}}), http.StatusOK)
		if !strings.Contains(page, `id="support-recovered"`) || !strings.Contains(page, "ada.found@example.org") || !strings.Contains(page, `href="/account#passkeys"`) {
			t.Errorf("the completion page does not lead to adding a passkey:\n%s", page)
		}
		sv := currentSession(t, phone)
		if sv.User.Email != "ada.found@example.org" || sv.Session.AuthMethod != "support_recovery" {
			t.Errorf("the new browser's session: %+v", sv)
		}
		wantSignedOut(t, ada.c)
		wantStatus(t, s.Client(t).Signin("ada@example.com", goodPassword), http.StatusUnauthorized)
		wantStatus(t, s.Client(t).Signin("ada.found@example.org", goodPassword), http.StatusUnauthorized) // the password went too
		wantInvalidCode(t, "the completion link again", s.Client(t).JSON(http.MethodPost, "/api/support/recover", map[string]any{"token": token}))
		s.box.waitMail(t, "ada@example.com", "was moved to another email address by support")
		wantInvalidCode(t, "the cancel link after the completion", s.Client(t).JSON(http.MethodPost, "/api/support/cancel", map[string]any{"token": cancelToken}))
	})
}

// TestSupportRecoveryIsCancelledByTheLinkOrASession: the notice's link
// cancels without a session, once; a session's banner cancels too, and
// then there is nothing left to cancel.
func TestSupportRecoveryIsCancelledByTheLinkOrASession(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		bea := newMemberWithoutPasskey(t, s.liveSite, "bea@example.com")
		s.verify(t, bea.email)

		beginSupport(t, s, "bea@example.com", "thief@example.net")
		_, token := linkIn(t, s.box.waitMail(t, "bea@example.com", "Support will move your"), supportCancelRE)
		page := wantPage(t, s.Client(t).Form("/support/cancel", url.Values{"token": {token}}), http.StatusOK)
		if !strings.Contains(page, `id="support-cancelled"`) || !strings.Contains(page, "bea@example.com") {
			t.Errorf("the cancel page:\n%s", page)
		}
		wantInvalidCode(t, "the cancel link again", s.Client(t).JSON(http.MethodPost, "/api/support/cancel", map[string]any{"token": token}))
		if again := s.Client(t).Form("/support/cancel", url.Values{"token": {token}}); again.Status == http.StatusOK || !strings.Contains(string(again.Body), "The link works once") {
			t.Errorf("the cancel page again: %d\n%s", again.Status, again.Body)
		}
		s.Clock.Advance(support.DefaultWait)
		if n, err := s.Support.MailDue(context.Background()); err != nil || n != 0 {
			t.Fatalf("MailDue after the cancel = %d, %v", n, err)
		}

		beginSupport(t, s, "bea@example.com", "thief@example.net")
		page = wantPage(t, bea.c.Form("/account/support-recovery/cancel", url.Values{}), http.StatusOK)
		if strings.Contains(page, `id="support-recovery-cancel"`) || !strings.Contains(page, "The support recovery was cancelled") {
			t.Errorf("the account page after the banner's button:\n%s", page)
		}
		wantCode(t, "nothing left to cancel", bea.c.JSON(http.MethodPost, "/api/account/support-recovery/cancel", map[string]any{}), http.StatusNotFound, "not_found")
		if got := currentSession(t, bea.c).User.Email; got != "bea@example.com" {
			t.Errorf("the address is %s", got)
		}
	})
}
