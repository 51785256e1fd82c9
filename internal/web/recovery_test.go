package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// recoveryCodeRE is a code as shown: 10 Crockford base32 characters, dashed.
var recoveryCodeRE = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$`)

// newRecoveryCodes makes a set for c's member and checks its form.
func newRecoveryCodes(t *testing.T, c *servertest.Client) []string {
	t.Helper()
	r := c.JSON(http.MethodPost, "/api/recovery-codes", map[string]any{})
	wantStatus(t, r, http.StatusCreated)
	var got struct {
		Codes []string `json:"codes"`
	}
	r.JSON(t, &got)
	seen := map[string]bool{}
	for _, code := range got.Codes {
		if !recoveryCodeRE.MatchString(code) || seen[code] {
			t.Errorf("code %q is malformed or repeated in %v", code, got.Codes)
		}
		seen[code] = true
	}
	if len(got.Codes) != 10 {
		t.Fatalf("%d codes, want 10: %s", len(got.Codes), r.Body)
	}
	return got.Codes
}

func recoverySignin(c *servertest.Client, email, code string) *servertest.Response {
	return c.JSON(http.MethodPost, "/api/signin/recovery-code", map[string]any{"email": email, "code": code})
}

func TestRecoveryCodeSignsInOnceAndTellsTheMember(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		s.verify(t, ada.email)
		codes := newRecoveryCodes(t, ada.c)

		// Typed lower case, without the dash, with spaces: still the code.
		typed := " " + strings.ToLower(strings.ReplaceAll(codes[3], "-", " ")) + " "
		phone := s.Client(t)
		r := recoverySignin(phone, "ADA@example.com", typed)
		wantStatus(t, r, http.StatusOK)
		var answer struct {
			User struct {
				Email        string `json:"email"`
				PasskeyCount int    `json:"passkeyCount"`
			} `json:"user"`
			Next *string `json:"next"`
		}
		r.JSON(t, &answer)
		if answer.User.Email != "ada@example.com" || answer.Next == nil || *answer.Next != "enroll_passkey" {
			t.Errorf("sign-in answer %s, want ada with next enroll_passkey", r.Body)
		}
		if got := currentSession(t, phone).Session.AuthMethod; got != "recovery_code" {
			t.Errorf("session auth method %q, want recovery_code", got)
		}

		m := s.box.waitMail(t, "ada@example.com", "A recovery code was used to sign in")
		for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
			if !strings.Contains(body, "9 codes left") || !strings.Contains(body, "127.0.0.1") {
				t.Errorf("the %s part lacks the count or the address:\n%s", part, body)
			}
		}

		wantAPIError(t, recoverySignin(s.Client(t), "ada@example.com", codes[3]), http.StatusUnauthorized, "invalid_credentials")
		wantAPIError(t, recoverySignin(s.Client(t), "nobody@example.com", codes[4]), http.StatusUnauthorized, "invalid_credentials")
		wantAPIError(t, recoverySignin(s.Client(t), "ada@example.com", "not a code"), http.StatusUnauthorized, "invalid_credentials")

		page := wantPage(t, ada.c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		if !strings.Contains(page, "Unused recovery codes: 9.") {
			t.Errorf("the account page does not count 9 codes:\n%s", page)
		}
	})
}

func TestRecoveryCodeRedeemedConcurrentlySignsInOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		s.verify(t, ada.email) // only a proven address makes codes
		code := newRecoveryCodes(t, ada.c)[0]

		const n = 20
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			c := s.Client(t)
			wg.Go(func() { statuses[i] = recoverySignin(c, "ada@example.com", code).Status })
		}
		wg.Wait()
		won := 0
		for _, st := range statuses {
			switch st {
			case http.StatusOK:
				won++
			case http.StatusUnauthorized, http.StatusTooManyRequests:
			default:
				t.Errorf("a redemption answered %d", st)
			}
		}
		if won != 1 {
			t.Fatalf("%d of %d concurrent redemptions signed in (%v), want exactly 1", won, n, statuses)
		}
		page := wantPage(t, ada.c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		if !strings.Contains(page, "Unused recovery codes: 9.") {
			t.Errorf("the account page does not count 9 codes after one redemption")
		}
	})
}

func TestRecoveryCodeGuessesAreThrottled(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		s.verify(t, ada.email) // only a proven address makes codes
		good := newRecoveryCodes(t, ada.c)[0]
		for _, email := range []string{"ada@example.com", "nobody@example.com"} {
			// The password policy's 5 free failures per account, then waits.
			for i := range 5 {
				wantAPIError(t, recoverySignin(s.Client(t), email, fmt.Sprintf("AAAAA-AAAA%d", i)), http.StatusUnauthorized, "invalid_credentials")
			}
			wantAPIError(t, recoverySignin(s.Client(t), email, "AAAAA-AAAAA"), http.StatusTooManyRequests, "too_many_attempts")
		}
		// Even the right code waits: the throttle comes before the check.
		wantAPIError(t, recoverySignin(s.Client(t), "ada@example.com", good), http.StatusTooManyRequests, "too_many_attempts")
		s.Clock.Advance(time.Hour)
		wantStatus(t, recoverySignin(s.Client(t), "ada@example.com", good), http.StatusOK)
	})
}

func TestNewRecoveryCodesVoidTheOldAndNeedARecentSignin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		s.verify(t, ada.email) // only a proven address makes codes
		old := newRecoveryCodes(t, ada.c)
		fresh := newRecoveryCodes(t, ada.c)
		wantAPIError(t, recoverySignin(s.Client(t), "ada@example.com", old[0]), http.StatusUnauthorized, "invalid_credentials")
		wantStatus(t, recoverySignin(s.Client(t), "ada@example.com", fresh[0]), http.StatusOK)

		s.Clock.Advance(10 * time.Minute) // past the 5-minute reauth window
		wantAPIError(t, ada.c.JSON(http.MethodPost, "/api/recovery-codes", map[string]any{}), http.StatusForbidden, "reauth_required")
		page := wantPage(t, ada.c.Form("/account/recovery-codes", url.Values{}), http.StatusForbidden)
		if strings.Contains(page, `id="recovery-codes"`) {
			t.Errorf("the page shows codes after a refusal")
		}
		wantStatus(t, recoverySignin(s.Client(t), "ada@example.com", fresh[1]), http.StatusOK)
	})
}

func TestAccountPageMakesRecoveryCodesWithoutJavaScript(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		s.verify(t, ada.email) // only a proven address makes codes
		page := wantPage(t, ada.c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		if !strings.Contains(page, "Unused recovery codes: 0.") || !strings.Contains(page, `action="/account/recovery-codes"`) {
			t.Fatalf("the account page lacks the recovery section:\n%s", page)
		}
		page = wantPage(t, ada.c.Form("/account/recovery-codes", url.Values{}), http.StatusOK)
		shown := regexp.MustCompile(`<code>([0-9A-Z]{5}-[0-9A-Z]{5})</code>`).FindAllStringSubmatch(page, -1)
		if len(shown) != 10 || !strings.Contains(page, "Unused recovery codes: 10.") || !strings.Contains(page, "shown only now") {
			t.Fatalf("the page shows %d codes, want 10 with the count and the note:\n%s", len(shown), page)
		}
		wantStatus(t, recoverySignin(s.Client(t), "ada@example.com", shown[9][1]), http.StatusOK)
		again := wantPage(t, ada.c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		if strings.Contains(again, shown[0][1]) {
			t.Errorf("the account page shows a code again")
		}
	})
}
