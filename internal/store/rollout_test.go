package store_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/testdb"
)

func ptr[T any](v T) *T { return &v }

// TestTheRolloutIsMadeOnceWithOneSalt: the first read makes today's
// behaviour (existing-users at 100 %) with a salt; nodes racing to make it
// agree on one row, so every node places every member in the same bucket.
func TestTheRolloutIsMadeOnceWithOneSalt(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		a, b := open(t, database), open(t, database)
		var wg sync.WaitGroup
		salts := make([][]byte, 8)
		for i := range salts {
			wg.Go(func() {
				db := a
				if i%2 == 1 {
					db = b
				}
				s, _, err := db.Rollout(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				if s.Phase != rollout.ExistingUsers || s.Percent != 100 || s.NewUsersSince.IsZero() {
					t.Errorf("fresh rollout = %+v", s)
				}
				salts[i] = s.Salt
			})
		}
		wg.Wait()
		for _, s := range salts {
			if len(s) != 32 || !bytes.Equal(s, salts[0]) {
				t.Fatalf("salts differ or are short: %x vs %x", s, salts[0])
			}
		}
	})
}

func TestChangeRolloutWritesTheStateAndItsAudit(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := t.Context()
		before, v0, err := db.Rollout(ctx)
		if err != nil {
			t.Fatal(err)
		}
		apply := func(ch rollout.Change, tripped []string, at time.Time) (rollout.State, error) {
			return db.ChangeRollout(ctx, func(cur rollout.State) (rollout.State, rollout.Audit, error) {
				return rollout.Apply(cur, ch, tripped, "ops-token", at)
			})
		}
		got, err := apply(rollout.Change{Phase: ptr(rollout.Beta), Percent: ptr(5), Force: true, Reason: "start small",
			Internal: &rollout.Internal{Domains: []string{"Example.com"}, Emails: []string{"ada@elsewhere.net"}}}, []string{"recovery_rise"}, t0)
		if err != nil {
			t.Fatal(err)
		}
		read, v1, err := db.Rollout(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v1 != v0+1 || read.Phase != rollout.Beta || read.Percent != 5 || !read.UpdatedAt.Equal(t0) || read.UpdatedBy != "ops-token" ||
			!bytes.Equal(read.Salt, before.Salt) || len(read.Internal.Domains) != 1 || read.Internal.Domains[0] != "example.com" ||
			read.Internal.Emails[0] != "ada@elsewhere.net" || !read.NewUsersSince.IsZero() || got.Phase != read.Phase {
			t.Fatalf("after the change: %+v (version %d after %d)", read, v1, v0)
		}

		if _, err := apply(rollout.Change{Percent: ptr(1)}, nil, t0.Add(time.Minute)); !account.IsCode(err, account.EForceRequired) {
			t.Fatalf("lowering without force: %v", err)
		}
		if again, v2, _ := db.Rollout(ctx); v2 != v1 || again.Percent != 5 {
			t.Fatalf("a refused change moved the rollout: %+v (version %d)", again, v2)
		}

		changes, err := db.RolloutChanges(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(changes) != 1 {
			t.Fatalf("%d audit rows, want 1 (the refused change writes none)", len(changes))
		}
		c := changes[0]
		if c.By != "ops-token" || !c.At.Equal(t0) || c.Reason != "start small" || !c.Forced || len(c.Tripped) != 1 ||
			c.From.Phase != rollout.ExistingUsers || c.From.Percent != 100 || c.To.Phase != rollout.Beta || c.To.Percent != 5 ||
			c.To.Internal.Domains[0] != "example.com" || c.From.NewUsersSince.IsZero() || c.To.Salt != nil {
			t.Fatalf("audit row = %+v", c)
		}
	})
}

// TestRolloutChangesQueue: operators changing the rollout at once are
// applied one after the other, each seeing the last one's result.
func TestRolloutChangesQueue(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		a, b := open(t, database), open(t, database)
		if _, err := a.ChangeRollout(t.Context(), func(cur rollout.State) (rollout.State, rollout.Audit, error) {
			return rollout.Apply(cur, rollout.Change{Percent: ptr(0), Force: true}, nil, "ops", t0)
		}); err != nil {
			t.Fatal(err)
		}
		const n = 20
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				db := a
				if i%2 == 1 {
					db = b
				}
				_, err := db.ChangeRollout(t.Context(), func(cur rollout.State) (rollout.State, rollout.Audit, error) {
					return rollout.Apply(cur, rollout.Change{Percent: ptr(cur.Percent + 1)}, nil, "ops", t0)
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if s, _, _ := a.Rollout(t.Context()); s.Percent != n {
			t.Fatalf("after %d concurrent +1 changes the ramp is at %d %%", n, s.Percent)
		}
		if changes, _ := a.RolloutChanges(t.Context(), 100); len(changes) != n+1 {
			t.Fatalf("%d audit rows, want %d", len(changes), n+1)
		}
	})
}

func TestHoldRollout(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := t.Context()
		if _, _, err := db.Rollout(ctx); err != nil {
			t.Fatal(err)
		}
		made, err := db.HoldRollout(ctx, []string{"recovery_rise"}, t0)
		if err != nil || !made {
			t.Fatalf("first hold: %v, %v", made, err)
		}
		if made, err := db.HoldRollout(ctx, []string{"duplicate_passkeys"}, t0.Add(time.Minute)); err != nil || made {
			t.Fatalf("second hold: %v, %v", made, err)
		}
		s, _, _ := db.Rollout(ctx)
		if !s.Held || len(s.HeldReasons) != 1 || s.HeldReasons[0] != "recovery_rise" || s.UpdatedBy != "guardrails" {
			t.Fatalf("held rollout = %+v", s)
		}
		if _, err := db.ChangeRollout(ctx, func(cur rollout.State) (rollout.State, rollout.Audit, error) {
			return rollout.Apply(cur, rollout.Change{Release: true, Reason: "looked into it"}, nil, "ops", t0.Add(time.Hour))
		}); err != nil {
			t.Fatal(err)
		}
		if s, _, _ := db.Rollout(ctx); s.Held || s.HeldReasons != nil {
			t.Fatalf("released rollout = %+v", s)
		}
	})
}

func TestRolloutAnswers(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := context.Background()
		u := createUser(t, db)
		a, err := db.RolloutAnswers(ctx, u.ID)
		if err != nil || a != (rollout.Answers{}) {
			t.Fatalf("a member with no answers: %+v, %v", a, err)
		}
		want := rollout.Answers{Beta: true, Nudge: rollout.Nudge{}.Later(t0)}
		if err := db.SetRolloutAnswers(ctx, u.ID, want, t0); err != nil {
			t.Fatal(err)
		}
		want.Passwordless, want.Nudge = true, want.Nudge.Decline()
		if err := db.SetRolloutAnswers(ctx, u.ID, want, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err := db.RolloutAnswers(ctx, u.ID)
		if err != nil || got.Beta != want.Beta || got.Passwordless != want.Passwordless || got.Nudge.Never != true ||
			got.Nudge.Snoozes != 1 || !got.Nudge.Until.Equal(want.Nudge.Until) {
			t.Fatalf("answers = %+v, %v; want %+v", got, err, want)
		}
		if err := db.SetRolloutAnswers(ctx, "no-such-member", want, t0); err == nil || errors.Is(err, context.Canceled) {
			t.Fatalf("answers for a member who does not exist: %v", err)
		}
	})
}
