package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/email/confirm"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// confirmTokens waits (bounded polling) until n confirmation mails reached
// to, and returns their tokens in the order they arrived.
func confirmTokens(t *testing.T, b mailbox, to string, n int) []string {
	t.Helper()
	var tokens []string
	b.find(t, fmt.Sprintf("%d confirmation mails to %s", n, to), func(got []mailtest.Message) (mailtest.Message, bool) {
		tokens = tokens[:0]
		for _, m := range got {
			if len(m.To) == 0 || !strings.EqualFold(m.To[0], to) {
				continue
			}
			d := mailtest.Decode(t, m.Raw)
			if lm := confirmRE.FindStringSubmatch(d.Text); lm != nil && strings.Contains(d.Subject, "Confirm your email address") {
				tokens = append(tokens, lm[1])
			}
		}
		return mailtest.Message{}, len(tokens) >= n
	})
	return tokens
}

func TestResendVerificationMail(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startEmailSite(t, database)
		c := s.Client(t)
		c.Signup("ada@example.com", emailPassword)

		r := c.JSON(http.MethodPost, "/api/account/email/verification", nil)
		if r.Status != http.StatusAccepted || !strings.Contains(string(r.Body), `"email":"ada@example.com"`) {
			t.Fatalf("resend: %d %s, want 202 {\"email\"}", r.Status, r.Body)
		}
		tokens := confirmTokens(t, s.box, "ada@example.com", 2)
		if tokens[0] == tokens[1] {
			t.Fatal("the resent mail carries the first link again")
		}
		if r := confirmAPI(c, tokens[1]); r.Status != http.StatusOK || !verified(t, c) {
			t.Fatalf("confirming with the resent link: %d %s", r.Status, r.Body)
		}
		r = c.JSON(http.MethodPost, "/api/account/email/verification", nil)
		if r.Status != http.StatusConflict || r.ErrorCode() != "email_already_verified" {
			t.Errorf("resend once verified: %d %s, want 409 email_already_verified", r.Status, r.Body)
		}
		if r := s.Client(t).JSON(http.MethodPost, "/api/account/email/verification", nil); r.Status != http.StatusUnauthorized || r.ErrorCode() != "unauthenticated" {
			t.Errorf("resend without a session: %d %s, want 401 unauthenticated", r.Status, r.Body)
		}
	})
}

func TestResendVerificationIsThrottledPerAccount(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startEmailSite(t, database)
		c := s.Client(t)
		c.Signup("grace@example.com", emailPassword)
		for i := range confirm.PolicyResend.Free {
			if r := c.JSON(http.MethodPost, "/api/account/email/verification", nil); r.Status != http.StatusAccepted {
				t.Fatalf("resend %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		r := c.JSON(http.MethodPost, "/api/account/email/verification", nil)
		if r.Status != http.StatusTooManyRequests || r.ErrorCode() != "too_many_attempts" || r.Header.Get("Retry-After") == "" {
			t.Fatalf("resend past the limit: %d %s (Retry-After %q), want 429 with Retry-After", r.Status, r.Body, r.Header.Get("Retry-After"))
		}
		// The limit is the account's, not the browser's: another session waits too.
		other := s.Client(t)
		if r := other.Signin("grace@example.com", emailPassword); r.Status != http.StatusOK {
			t.Fatalf("signin: %d %s", r.Status, r.Body)
		}
		if r := other.JSON(http.MethodPost, "/api/account/email/verification", nil); r.Status != http.StatusTooManyRequests {
			t.Errorf("resend from another session: %d, want 429", r.Status)
		}
		s.Clock.Advance(confirm.PolicyResend.Base)
		if r := c.JSON(http.MethodPost, "/api/account/email/verification", nil); r.Status != http.StatusAccepted {
			t.Errorf("resend after the wait: %d %s", r.Status, r.Body)
		}

		// Sign-up's mail and the resends all arrived; the first link still
		// works (documented: earlier links stay valid until used or expired).
		tokens := confirmTokens(t, s.box, "grace@example.com", confirm.PolicyResend.Free+2)
		if r := confirmAPI(s.Client(t), tokens[0]); r.Status != http.StatusOK {
			t.Errorf("the sign-up link after resends: %d %s", r.Status, r.Body)
		}
	})
}

func TestAccountPageOffersToResendTheVerificationMail(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startEmailSite(t, database)
		c := s.Client(t)
		c.Signup("ada@example.com", emailPassword)
		page := string(c.JSON(http.MethodGet, "/account", nil).Body)
		if !strings.Contains(page, `action="/account/email/verification"`) || !strings.Contains(page, "Send the confirmation email again") {
			t.Fatalf("the account page of an unverified member lacks the resend button:\n%s", page)
		}
		wantRedirect(t, c.Form("/account/email/verification", url.Values{}), "/account?email=verification_sent")
		if page := string(c.JSON(http.MethodGet, "/account?email=verification_sent", nil).Body); !strings.Contains(page, "We sent a new confirmation link to ada@example.com") {
			t.Errorf("the account page after the button lacks the notice:\n%s", page)
		}
		tokens := confirmTokens(t, s.box, "ada@example.com", 2)
		for range confirm.PolicyResend.Free - 1 {
			c.Form("/account/email/verification", url.Values{})
		}
		r := c.Form("/account/email/verification", url.Values{})
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || !strings.Contains(string(r.Body), `role="alert"`) {
			t.Errorf("button past the limit: %d (Retry-After %q), want 429 with the message on the page", r.Status, r.Header.Get("Retry-After"))
		}

		if r := confirmAPI(c, tokens[1]); r.Status != http.StatusOK {
			t.Fatalf("confirm: %d %s", r.Status, r.Body)
		}
		if page := string(c.JSON(http.MethodGet, "/account", nil).Body); strings.Contains(page, `action="/account/email/verification"`) {
			t.Error("a verified member is still offered a confirmation mail")
		}
		r = c.Form("/account/email/verification", url.Values{})
		if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "confirmed already") {
			t.Errorf("button once verified: %d, want 409 saying so", r.Status)
		}
	})
}
