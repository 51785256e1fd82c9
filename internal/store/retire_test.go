package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestRetirePasswordRereadsReadinessInItsTransaction: what check refuses
// writes nothing, and what notify fails undoes the deletion.
func TestRetirePasswordRereadsReadinessInItsTransaction(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := context.Background()
		u := createUser(t, db)
		for _, c := range []*account.Credential{newPassword(u), newPasskey(u), newPasskey(u)} {
			if err := db.CreateCredential(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.SetRolloutAnswers(ctx, u.ID, rollout.Answers{Passwordless: true}, t0); err != nil {
			t.Fatal(err)
		}
		cands, others, err := db.RetirementCandidates(ctx)
		if err != nil || len(cands) != 1 || others != 0 || cands[0].Passkeys != 2 || !cands[0].OptedIn || !cands[0].HasPassword {
			t.Fatalf("candidates %+v, others %d, %v", cands, others, err)
		}
		refused := errors.New("not ready after all")
		var seen rollout.Readiness
		gone, err := db.RetirePassword(ctx, u.ID, t0, func(r rollout.Readiness) error { seen = r; return refused }, func(context.Context) error { return nil })
		if !errors.Is(err, refused) || gone || seen.Passkeys != 2 || !seen.OptedIn {
			t.Fatalf("refused by check: %v, %v, saw %+v", gone, err, seen)
		}
		failed := errors.New("outbox down")
		if _, err := db.RetirePassword(ctx, u.ID, t0, func(rollout.Readiness) error { return nil }, func(context.Context) error { return failed }); !errors.Is(err, failed) {
			t.Fatalf("notify failing: %v", err)
		}
		if _, err := db.FindPasswordCredential(ctx, u.ID); err != nil {
			t.Fatalf("the password went although nothing was to be written: %v", err)
		}
		gone, err = db.RetirePassword(ctx, u.ID, t0.Add(time.Minute), func(rollout.Readiness) error { return nil }, func(context.Context) error { return nil })
		if err != nil || !gone {
			t.Fatalf("retire: %v, %v", gone, err)
		}
		if gone, err := db.RetirePassword(ctx, u.ID, t0, func(rollout.Readiness) error { return nil }, func(context.Context) error { return nil }); err != nil || gone {
			t.Fatalf("again: %v, %v", gone, err)
		}
		if events, _ := db.FindEvents(ctx, store.EventFilter{UserID: u.ID, Type: account.EventPasswordRetired}); len(events) != 1 {
			t.Fatalf("%d password_retired events, want 1", len(events))
		}
	})
}
