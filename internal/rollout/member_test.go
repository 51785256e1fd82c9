package rollout_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

func member(t *testing.T, db *store.DB, email string, created time.Time) *account.User {
	t.Helper()
	u := &account.User{ID: "u-" + rand.Text(), Email: email, EmailKey: email, WebAuthnID: []byte(rand.Text()),
		CreatedAt: created, UpdatedAt: created, Origin: account.OriginSignup, HasPassword: true}
	if err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestTheNudgeFollowsThePhaseAndTheMembersAnswers walks one member through
// the phases and the nudge's answers with an injectable clock.
func TestTheNudgeFollowsThePhaseAndTheMembersAnswers(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := openDB(t, database)
		c := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
		svc := rollout.NewService(db, rollout.DefaultGuardrails(), c.now)
		ctx := context.Background()
		set := func(p rollout.Phase) {
			t.Helper()
			if _, err := svc.Change(ctx, rollout.Change{Phase: &p, Force: true}, "test"); err != nil {
				t.Fatal(err)
			}
		}
		nudged := func(u *account.User, m account.AuthMethod, signup bool) bool {
			t.Helper()
			ok, err := svc.NudgeAfter(ctx, u, m, signup)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		old := member(t, db, "old@example.com", c.now().Add(-time.Hour))
		set(rollout.Beta)
		if nudged(old, account.MethodPassword, false) {
			t.Error("beta nudges a member who did not opt in")
		}
		if err := svc.CanAddPasskey(ctx, old); !account.IsCode(err, account.ENotInRollout) {
			t.Errorf("beta lets a member outside it add a passkey: %v", err)
		}
		on := true
		if _, err := svc.SetPreferences(ctx, old, rollout.Preferences{PasskeyBeta: &on}, rollout.Readiness{}); err != nil {
			t.Fatal(err)
		}
		c.add(rollout.Fresh)
		if !nudged(old, account.MethodPassword, false) || svc.CanAddPasskey(ctx, old) != nil {
			t.Error("'Try passkeys' did not bring the member in")
		}
		if nudged(old, account.MethodPasskeyModal, false) {
			t.Error("nudged after a passkey sign-in")
		}

		set(rollout.NewUsers)
		c.add(time.Minute)
		fresh := member(t, db, "fresh@example.com", c.now())
		if !nudged(fresh, account.MethodSignup, true) {
			t.Error("new-users does not nudge right after sign-up")
		}
		if nudged(fresh, account.MethodPassword, false) {
			t.Error("new-users nudges a new member after a later sign-in")
		}
		set(rollout.ExistingUsers)
		other := member(t, db, "other@example.com", c.now().Add(-24*time.Hour))
		if !nudged(other, account.MethodEmailLink, false) {
			t.Error("existing-users does not nudge an older member after an email sign-in")
		}
		if err := svc.AnswerNudge(ctx, other, rollout.NudgeLater); err != nil {
			t.Fatal(err)
		}
		if nudged(other, account.MethodPassword, false) {
			t.Error("nudged again right after 'Not now'")
		}
		c.add(rollout.FirstSnooze)
		if !nudged(other, account.MethodPassword, false) {
			t.Error("not nudged a week after 'Not now'")
		}
		if err := svc.AnswerNudge(ctx, other, rollout.NudgeNever); err != nil {
			t.Fatal(err)
		}
		c.add(365 * 24 * time.Hour)
		if nudged(other, account.MethodPassword, false) {
			t.Error("nudged after 'Don't ask again'")
		}
		if err := svc.AnswerNudge(ctx, other, rollout.NudgeAskAgain); err != nil || !nudged(other, account.MethodPassword, false) {
			t.Errorf("asking to be asked again: %v", err)
		}
		if err := svc.AnswerNudge(ctx, other, "sometime"); !account.IsCode(err, account.EInvalidRequest) {
			t.Errorf("an unknown answer: %v", err)
		}
		withKey := *other
		withKey.PasskeyCount = 1
		if nudged(&withKey, account.MethodPassword, false) {
			t.Error("nudged a member who has a passkey")
		}
	})
}

func TestGoingPasswordlessNeedsWhatRetirementRequires(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := openDB(t, database)
		c := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
		svc := rollout.NewService(db, rollout.DefaultGuardrails(), c.now)
		u := member(t, db, "ada@example.com", c.now())
		on := true
		_, err := svc.SetPreferences(t.Context(), u, rollout.Preferences{Passwordless: &on}, rollout.Readiness{HasPassword: true, Passkeys: 1})
		if e, ok := err.(*account.Error); !ok || e.Code != account.ENotReady || e.Reason != "single_device" {
			t.Fatalf("one device-bound passkey: %v", err)
		}
		a, err := svc.SetPreferences(t.Context(), u, rollout.Preferences{Passwordless: &on}, rollout.Readiness{HasPassword: true, Passkeys: 2})
		if err != nil || !a.Passwordless {
			t.Fatalf("two passkeys: %+v, %v", a, err)
		}
		off := false
		if a, err := svc.SetPreferences(t.Context(), u, rollout.Preferences{Passwordless: &off}, rollout.Readiness{}); err != nil || a.Passwordless {
			t.Fatalf("opting out: %+v, %v", a, err)
		}
	})
}
