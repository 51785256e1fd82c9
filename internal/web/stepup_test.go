package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// stepUpCodeRE finds the code in a step-up mail's text.
var stepUpCodeRE = regexp.MustCompile(`(?m)^(\d{6})\s*$`)

// nthStepUpCode waits for the n-th step-up mail (1-based) to to, and
// returns its code; the HTML part must carry it too.
func (b mailbox) nthStepUpCode(t *testing.T, to string, n int) string {
	t.Helper()
	m := b.find(t, "step-up mail", func(got []mailtest.Message) (mailtest.Message, bool) {
		var seen []mailtest.Message
		for _, m := range got {
			if len(m.To) == 1 && strings.EqualFold(m.To[0], to) && strings.Contains(mailtest.Decode(t, m.Raw).Subject, "confirmation code") {
				seen = append(seen, m)
			}
		}
		if len(seen) >= n {
			return seen[n-1], true
		}
		return mailtest.Message{}, false
	})
	d := mailtest.Decode(t, m.Raw)
	cm := stepUpCodeRE.FindStringSubmatch(d.Text)
	if cm == nil {
		t.Fatalf("no code in the step-up mail:\n%s", d.Text)
	}
	if !strings.Contains(d.HTML, cm[1]) || !strings.Contains(d.Subject, cm[1]) {
		t.Errorf("the step-up mail's HTML part or subject lacks the code")
	}
	return cm[1]
}

// emailOnlyMember signs email in by a mailed code on a new client: the
// account it makes has neither password nor passkey.
func emailOnlyMember(t *testing.T, s *emailSite, email string, nth int) *servertest.Client {
	t.Helper()
	c := s.Client(t)
	flow := s.start(t, c, email)
	m := s.box.nth(t, email, nth)
	if r, _ := finishEmail(t, c, map[string]any{"flowId": flow, "code": m.code}); r.Status != http.StatusOK {
		t.Fatalf("email sign-in: %d %s", r.Status, r.Body)
	}
	return c
}

// beginStepUp asks for a step-up and returns what begin offered.
func beginStepUp(t *testing.T, c *servertest.Client) (methods []string, sent bool) {
	t.Helper()
	r := c.JSON(http.MethodPost, "/api/reauth/begin", map[string]any{})
	wantStatus(t, r, http.StatusOK)
	var got struct {
		Methods []string `json:"methods"`
		Sent    bool     `json:"sent"`
	}
	r.JSON(t, &got)
	return got.Methods, got.Sent
}

// TestEmailOnlyMembersStepUpWithAMailedCode: a member with neither passkey
// nor password whose sign-in is older than the window makes recovery codes
// only after a code mailed to their verified address (real SMTP): begin
// offers email_code and mails it; a wrong code, another session's code and
// a spent code are refused with invalid_code; the right one steps up under a
// new session token, once.
func TestEmailOnlyMembersStepUpWithAMailedCode(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startEmailSite(t, database)
		const ada = "ada@example.com"
		c := emailOnlyMember(t, s, ada, 1)
		other := emailOnlyMember(t, s, ada, 2) // another browser of Ada's
		s.Clock.Advance(6 * time.Minute)
		generate := func(c *servertest.Client) *servertest.Response {
			return c.JSON(http.MethodPost, "/api/recovery-codes", map[string]any{})
		}
		wantAPIError(t, generate(c), http.StatusForbidden, "reauth_required")

		methods, sent := beginStepUp(t, c)
		if len(methods) != 1 || methods[0] != "email_code" || !sent {
			t.Fatalf("begin offered %v (sent %v), want a mailed email_code", methods, sent)
		}
		code := s.box.nthStepUpCode(t, ada, 1)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		finish := func(c *servertest.Client, code string) *servertest.Response {
			return c.JSON(http.MethodPost, "/api/reauth/finish", map[string]any{"method": "email_code", "code": code})
		}
		wantInvalidCode(t, "a wrong code", finish(c, wrong))
		wantInvalidCode(t, "a malformed code", finish(c, "12345x"))
		// The code belongs to the session that asked for it.
		wantInvalidCode(t, "the code in another session", finish(other, code))
		wantAPIError(t, generate(c), http.StatusForbidden, "reauth_required")

		old := c.Cookie(sessionCookie)
		wantStatus(t, finish(c, code[:3]+" "+code[3:]), http.StatusOK)
		if now := c.Cookie(sessionCookie); now == "" || now == old {
			t.Error("the email-code step-up did not rotate the session token")
		}
		stale := s.Client(t)
		stale.SetCookie(sessionCookie, old)
		wantAPIError(t, stale.JSON(http.MethodGet, "/api/session", nil), http.StatusUnauthorized, "unauthenticated")
		wantInvalidCode(t, "the spent code", finish(c, code))
		wantStatus(t, generate(c), http.StatusCreated)
		// The other browser is still stale.
		wantAPIError(t, generate(other), http.StatusForbidden, "reauth_required")
	})
}

// TestEmailStepUpCodesExpireAndAllowFiveTries: a code dies after its
// minutes, and after five tries even the right code is refused; a member
// gets three codes at once, then waits (429), counted before any mail.
func TestEmailStepUpCodesExpireAndAllowFiveTries(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startEmailSite(t, database)
		const ada = "ada@example.com"
		c := emailOnlyMember(t, s, ada, 1)
		finish := func(code string) *servertest.Response {
			return c.JSON(http.MethodPost, "/api/reauth/finish", map[string]any{"method": "email_code", "code": code})
		}

		beginStepUp(t, c)
		code := s.box.nthStepUpCode(t, ada, 1)
		s.Clock.Advance(10*time.Minute + time.Second)
		wantInvalidCode(t, "an expired code", finish(code))

		beginStepUp(t, c)
		code = s.box.nthStepUpCode(t, ada, 2)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		for range 5 {
			wantInvalidCode(t, "a wrong code", finish(wrong))
		}
		wantInvalidCode(t, "the right code after five tries", finish(code))

		beginStepUp(t, c)
		r := c.JSON(http.MethodPost, "/api/reauth/begin", map[string]any{})
		wantAPIError(t, r, http.StatusTooManyRequests, "too_many_attempts")
		if n := queued(t, s.Instance, "stepup_code", ada); n != 3 {
			t.Errorf("%d step-up mails queued, want 3", n)
		}
	})
}

// TestEmailStepUpCodeWorksOnceUnderConcurrency: of many answers racing
// with the right code, exactly one steps the session up.
func TestEmailStepUpCodeWorksOnceUnderConcurrency(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startEmailSite(t, database)
		const ada = "ada@example.com"
		c := emailOnlyMember(t, s, ada, 1)
		beginStepUp(t, c)
		code := s.box.nthStepUpCode(t, ada, 1)
		cookie := c.Cookie(sessionCookie)
		const n = 8
		var wg sync.WaitGroup
		statuses := make(chan int, n)
		for range n {
			racer := s.Client(t)
			racer.SetCookie(sessionCookie, cookie)
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses <- racer.JSON(http.MethodPost, "/api/reauth/finish", map[string]any{"method": "email_code", "code": code}).Status
			}()
		}
		wg.Wait()
		close(statuses)
		ok := 0
		for st := range statuses {
			if st == http.StatusOK {
				ok++
			}
		}
		if ok != 1 {
			t.Errorf("%d racing answers stepped up, want exactly 1", ok)
		}
	})
}

// TestEmailStepUpIsOnlyForMembersWithoutPasskeyOrPassword: a passkey
// member's mailbox cannot reopen the window (reauth_required, reason
// passkey); a member with a password confirms with it (reason password).
func TestEmailStepUpIsOnlyForMembersWithoutPasskeyOrPassword(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		box := mailbox{mailtest.Start(t)}
		s := startPasskeySite(t, database, func(c *config.Config) { c.SMTPURLs = []string{box.URL()} })
		withKey := newPasskeyMember(t, s, "key@example.com")
		withPassword := newMemberWithoutPasskey(t, s, "pw@example.com")
		body := map[string]any{"method": "email_code", "code": "123456"}
		wantRefused(t, withKey.c.JSON(http.MethodPost, "/api/reauth/finish", body), http.StatusForbidden, "reauth_required", "passkey")
		wantRefused(t, withPassword.c.JSON(http.MethodPost, "/api/reauth/finish", body), http.StatusBadRequest, "invalid_request", "password")
		wantRefused(t, withPassword.c.JSON(http.MethodPost, "/api/reauth/finish", map[string]any{"method": "sms"}), http.StatusBadRequest, "invalid_request", "")
	})
}
