package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestPasskeySignupAgreesWithTheRamp: with the ramp between 0 and 100 %,
// the visitor /signup offers a passkey to is, once the mailed code has made
// the account, a member register/begin lets add one, and the answer to the
// sign-up nudges them; a visitor it asks for a password instead is a member
// it neither lets add a passkey nor nudges. (The ramp placed a visitor by
// the address and a member by the account's id, so about half of the
// passkey sign-ups ended without a passkey.)
func TestPasskeySignupAgreesWithTheRamp(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSignupSite(t, database)
		half := 50
		// new-users reached from below (so that it counts the accounts made
		// from now on as new), then existing-users.
		moveRollout(t, s.liveSite, rollout.Change{Phase: new(rollout.Beta), Percent: &half})
		moveRollout(t, s.liveSite, rollout.Change{Phase: new(rollout.NewUsers)})
		offered, asked := 0, 0
		for i := range 40 {
			if i == 20 {
				moveRollout(t, s.liveSite, rollout.Change{Phase: new(rollout.ExistingUsers)})
			}
			email := fmt.Sprintf("visitor%d@example.com", i)
			c := s.client()
			page := wantPage(t, c.Do(http.MethodPost, "/signup/passkey", []byte(url.Values{"email": {email}}.Encode()), http.Header{
				"Content-Type":    {"application/x-www-form-urlencoded"},
				"Origin":          {s.URL},
				"X-Forwarded-For": {fmt.Sprintf("10.21.0.%d", i+1)},
			}), http.StatusOK)
			if m := signupFlowID.FindStringSubmatch(page); m != nil {
				offered++
				r, out := finishEmail(t, c, map[string]any{"flowId": m[1], "code": s.box.nth(t, email, 1).code})
				wantStatus(t, r, http.StatusOK)
				if out.Next == nil || *out.Next != "enroll_passkey" {
					t.Errorf("%s, offered a passkey sign-up: the sign-up's answer is not nudged: %s", email, r.Body)
				}
				if r := newSoftKey(t, s.liveSite).register(c); r.Status != http.StatusCreated {
					t.Errorf("%s, offered a passkey sign-up, cannot add the passkey: %d %s", email, r.Status, r.Body)
				}
				continue
			}
			if !strings.Contains(page, "Choose a password") {
				t.Fatalf("%s: neither the code form nor the password: %s", email, visibleText(page))
			}
			asked++
			r := signupFrom(c, email)
			wantStatus(t, r, http.StatusCreated)
			wantNext(t, email+", asked for a password, signs up", r, false)
			wantAPIError(t, c.JSON(http.MethodPost, "/api/passkeys/register/begin", map[string]any{}), http.StatusForbidden, "not_in_rollout")
		}
		if offered == 0 || asked == 0 {
			t.Fatalf("at 50 %%, %d visitors offered a passkey and %d asked for a password: want some of each", offered, asked)
		}
	})
}
