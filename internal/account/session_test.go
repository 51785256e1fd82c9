package account_test

import (
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// TestRequireFresh: a session is fresh for a sensitive action while its
// sign-in or its later step-up is at most the window old.
func TestRequireFresh(t *testing.T) {
	signin := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const window = 5 * time.Minute
	for _, tc := range []struct {
		name     string
		stepUp   time.Time
		now      time.Time
		refusing bool
	}{
		{"accepts a session just signed in", time.Time{}, signin, false},
		{"accepts a sign-in exactly the window old", time.Time{}, signin.Add(window), false},
		{"refuses a sign-in older than the window", time.Time{}, signin.Add(window + time.Millisecond), true},
		{"accepts an old sign-in with a recent step-up", signin.Add(time.Hour), signin.Add(time.Hour + time.Minute), false},
		{"refuses a step-up older than the window", signin.Add(time.Hour), signin.Add(time.Hour + window + time.Second), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := account.Session{AuthenticatedAt: signin, SteppedUpAt: tc.stepUp}
			err := s.RequireFresh(tc.now, window)
			if tc.refusing != account.IsCode(err, account.EReauthRequired) || !tc.refusing && err != nil {
				t.Errorf("RequireFresh = %v, want refused %v", err, tc.refusing)
			}
		})
	}
}
