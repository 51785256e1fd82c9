package rollout_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openDB(t *testing.T, database string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestEveryNodeSeesAChangeWithinASecond: two nodes on one database; a
// change made on one reaches the other's offers within rollout.Fresh.
func TestEveryNodeSeesAChangeWithinASecond(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		c := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
		a := rollout.NewService(openDB(t, database), rollout.Config{Guardrails: rollout.DefaultGuardrails()}, c.now)
		b := rollout.NewService(openDB(t, database), rollout.Config{Guardrails: rollout.DefaultGuardrails()}, c.now)
		ctx := context.Background()
		if st, err := a.Current(ctx); err != nil || st.Phase != rollout.ExistingUsers {
			t.Fatalf("node a: %+v, %v", st, err)
		}
		off := rollout.Off
		if _, err := b.Change(ctx, rollout.Change{Phase: &off, Reason: "incident"}, "token:ops"); err != nil {
			t.Fatal(err)
		}
		if st, _ := b.Current(ctx); st.Phase != rollout.Off {
			t.Fatalf("the node that made the change still sees %v", st.Phase)
		}
		c.add(rollout.Fresh - time.Millisecond)
		if st, _ := a.Current(ctx); st.Phase != rollout.ExistingUsers {
			t.Fatalf("node a re-read before its copy was a second old: %v", st.Phase)
		}
		c.add(time.Millisecond)
		if st, _ := a.Current(ctx); st.Phase != rollout.Off {
			t.Fatalf("node a still sees %v a second after the change", st.Phase)
		}
	})
}

// TestGuardrailsRefuseAdvancingAndHoldTheRollout seeds the events of a bad
// week and checks that advancing is refused, forcing is recorded, and the
// watcher holds the rollout when the guardrails say so.
func TestGuardrailsRefuseAdvancingAndHoldTheRollout(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := openDB(t, database)
		c := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
		g := rollout.DefaultGuardrails()
		g.PasskeyWindow, g.Hold = 10, true
		svc := rollout.NewService(db, rollout.Config{Guardrails: g}, c.now)
		ctx := context.Background()
		beta := rollout.Beta
		if _, err := svc.Change(ctx, rollout.Change{Phase: &beta}, "token:ops"); err != nil {
			t.Fatal(err)
		}
		if trips, held, err := svc.Watch(ctx); err != nil || len(trips) != 0 || held {
			t.Fatalf("a quiet week: %v, %v, %v", trips, held, err)
		}
		for i := range 10 { // 7 of 10 passkey sign-ins fail
			outcome := account.OutcomeFailure
			if i < 3 {
				outcome = account.OutcomeSuccess
			}
			if err := db.AppendEvent(ctx, &account.Event{At: c.now().Add(-time.Duration(i) * time.Minute), Type: account.EventSignin,
				Method: string(account.MethodPasskeyModal), Outcome: outcome}); err != nil {
				t.Fatal(err)
			}
		}
		next := rollout.NewUsers
		_, err := svc.Change(ctx, rollout.Change{Phase: &next}, "token:ops")
		if e, ok := err.(*account.Error); !ok || e.Code != account.EForceRequired || e.Reason != "guardrail_tripped" {
			t.Fatalf("advancing past a tripped guardrail: %v", err)
		}
		doc, err := svc.Document(ctx)
		if err != nil || !doc.Guardrails.Tripped || doc.Guardrails.Names[0] != "passkey_success_rate" || len(doc.Guardrails.Reasons) != 1 {
			t.Fatalf("document: %+v, %v", doc.Guardrails, err)
		}
		trips, held, err := svc.Watch(ctx)
		if err != nil || !held || rollout.Names(trips)[0] != "passkey_success_rate" {
			t.Fatalf("watch: %v, %v, %v", trips, held, err)
		}
		if st, _ := svc.Current(ctx); !st.Held {
			t.Fatal("the watcher's hold is not seen by its own node")
		}
		if _, held, _ := svc.Watch(ctx); held {
			t.Fatal("a second watch made the hold again")
		}
		doc, err = svc.Change(ctx, rollout.Change{Phase: &next, Force: true, Reason: "known bad authenticator, fixed"}, "token:ops")
		if err != nil || doc.Phase != rollout.NewUsers || doc.Held {
			t.Fatalf("forced advance: %+v, %v", doc, err)
		}
		h, err := svc.History(ctx, 1)
		if err != nil || len(h) != 1 || !h[0].Forced || len(h[0].Tripped) != 1 || h[0].Tripped[0] != "passkey_success_rate" {
			t.Fatalf("the forced change's audit: %+v, %v", h, err)
		}
	})
}

// TestRecoveryAndDuplicateGuardrailsTrip: seeded events trip the
// recovery-rise and the duplicate-passkey guardrails as they trip the
// success rate — advancing refused with the reason, the watcher holding —
// and, once the injectable clock has moved their window past the events,
// they trip no more and the rollout advances without force.
func TestRecoveryAndDuplicateGuardrailsTrip(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	tests := []struct {
		name  string
		limit func(*rollout.Guardrails)
		// events are seeded; later is how far the clock then moves for
		// the guardrail's window to leave them behind.
		events []account.Event
		later  time.Duration
	}{
		{
			name:  "recovery_rise",
			limit: func(g *rollout.Guardrails) { g.RecoveryRiseMax, g.RecoveryMinUses = 50, 3 },
			// 2 recovery-code sign-ins last week, 6 this week: up 200 %.
			events: append(
				signins(2, -8*day, account.MethodRecoveryCode),
				signins(6, -2*day, account.MethodRecoveryCode)...),
			later: 6 * day, // this week's six become last week's
		},
		{
			name:  "duplicate_passkeys",
			limit: func(g *rollout.Guardrails) { g.DuplicatesPerHourMax = 3 },
			// Two browser reports and two server refusals in the hour.
			events: []account.Event{
				{At: at(-50 * time.Minute), Type: account.EventPasskeyRegisterError, Outcome: "passkey_on_device"},
				{At: at(-40 * time.Minute), Type: account.EventPasskeyRegisterError, Outcome: "passkey_on_device"},
				{At: at(-30 * time.Minute), Type: account.EventPasskeyRegisterError, Outcome: string(account.EPasskeyExists)},
				{At: at(-time.Minute), Type: account.EventPasskeyRegisterError, Outcome: string(account.EPasskeyExists)},
			},
			later: time.Hour,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testdb.Each(t, func(t *testing.T, database string) {
				t.Parallel()
				db := openDB(t, database)
				c := &clock{t: guardrailNow}
				g := rollout.DefaultGuardrails()
				g.PasskeySuccessMin, g.RecoveryRiseMax, g.DuplicatesPerHourMax, g.Hold = 0, 0, 0, true
				tt.limit(&g)
				svc := rollout.NewService(db, rollout.Config{Guardrails: g}, c.now)
				ctx := context.Background()
				beta, next := rollout.Beta, rollout.NewUsers
				if _, err := svc.Change(ctx, rollout.Change{Phase: &beta}, "token:ops"); err != nil {
					t.Fatal(err)
				}
				for _, e := range tt.events {
					if err := db.AppendEvent(ctx, &e); err != nil {
						t.Fatal(err)
					}
				}
				_, err := svc.Change(ctx, rollout.Change{Phase: &next}, "token:ops")
				if e, ok := err.(*account.Error); !ok || e.Code != account.EForceRequired || e.Reason != "guardrail_tripped" {
					t.Fatalf("advancing past a tripped guardrail: %v", err)
				}
				doc, err := svc.Document(ctx)
				if err != nil || !doc.Guardrails.Tripped || len(doc.Guardrails.Names) != 1 || doc.Guardrails.Names[0] != tt.name {
					t.Fatalf("document: %+v, %v", doc.Guardrails, err)
				}
				if trips, held, err := svc.Watch(ctx); err != nil || !held || rollout.Names(trips)[0] != tt.name {
					t.Fatalf("watch: %v, %v, %v", trips, held, err)
				}

				c.add(tt.later)
				if trips, err := svc.Trips(ctx); err != nil || len(trips) != 0 {
					t.Fatalf("%v later: %v, %v", tt.later, trips, err)
				}
				if doc, err := svc.Change(ctx, rollout.Change{Phase: &next}, "token:ops"); err != nil || doc.Phase != rollout.NewUsers {
					t.Fatalf("advancing once the window has passed: %+v, %v", doc, err)
				}
			})
		})
	}
}

var guardrailNow = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return guardrailNow.Add(d) }

// signins returns n successful sign-ins by method, a minute apart from
// guardrailNow+from.
func signins(n int, from time.Duration, method account.AuthMethod) []account.Event {
	out := make([]account.Event, n)
	for i := range out {
		out[i] = account.Event{At: at(from + time.Duration(i)*time.Minute), Type: account.EventSignin, Method: string(method), Outcome: account.OutcomeSuccess}
	}
	return out
}
