package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/testdb"
)

// TestSpendCeremony: a sign-in ceremony's id is spent once; a second spend,
// even from two transactions at once, is refused without an error (and
// without aborting the caller's transaction on PostgreSQL); the janitor's
// delete forgets only what expired.
func TestSpendCeremony(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)

		t.Run("spends an id once", func(t *testing.T) {
			id, exp := randomBytes(16), now.Add(5*time.Minute)
			for i, want := range []bool{true, false, false} {
				fresh, err := db.SpendCeremony(ctx, id, exp)
				if err != nil || fresh != want {
					t.Errorf("spend %d = %v, %v; want %v", i+1, fresh, err, want)
				}
			}
			if fresh, err := db.SpendCeremony(ctx, randomBytes(16), exp); err != nil || !fresh {
				t.Errorf("another id = %v, %v; want spent", fresh, err)
			}
		})

		t.Run("a refused spend leaves the transaction usable", func(t *testing.T) {
			id, exp := randomBytes(16), now.Add(5*time.Minute)
			if _, err := db.SpendCeremony(ctx, id, exp); err != nil {
				t.Fatal(err)
			}
			other := randomBytes(16)
			err := db.InTx(ctx, func(ctx context.Context) error {
				if fresh, err := db.SpendCeremony(ctx, id, exp); err != nil || fresh {
					t.Errorf("respend in a transaction = %v, %v", fresh, err)
				}
				_, err := db.SpendCeremony(ctx, other, exp)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if fresh, _ := db.SpendCeremony(ctx, other, exp); fresh {
				t.Error("the spend after a refused one in the same transaction was not committed")
			}
		})

		t.Run("lets one of ten concurrent spends through", func(t *testing.T) {
			id, exp := randomBytes(16), now.Add(5*time.Minute)
			var mu sync.Mutex
			won := 0
			var wg sync.WaitGroup
			for range 10 {
				wg.Go(func() {
					err := db.InTx(ctx, func(ctx context.Context) error {
						fresh, err := db.SpendCeremony(ctx, id, exp)
						if fresh {
							mu.Lock()
							won++
							mu.Unlock()
						}
						return err
					})
					if err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if won != 1 {
				t.Errorf("%d spends won, want 1", won)
			}
		})

		t.Run("a rolled-back spend did not happen", func(t *testing.T) {
			id, exp := randomBytes(16), now.Add(5*time.Minute)
			db.InTx(ctx, func(ctx context.Context) error {
				db.SpendCeremony(ctx, id, exp)
				return context.Canceled
			})
			if fresh, err := db.SpendCeremony(ctx, id, exp); err != nil || !fresh {
				t.Errorf("spend after rollback = %v, %v; want spent now", fresh, err)
			}
		})

		t.Run("the janitor forgets expired ids only", func(t *testing.T) {
			base := now.Add(24 * time.Hour) // apart from the other subtests' ids
			old, live := randomBytes(16), randomBytes(16)
			db.SpendCeremony(ctx, old, base.Add(-time.Second))
			db.SpendCeremony(ctx, live, base.Add(time.Second))
			n, err := db.DeleteSpentCeremonies(ctx, base)
			if err != nil || n < 1 {
				t.Fatalf("DeleteSpentCeremonies = %d, %v", n, err)
			}
			if fresh, _ := db.SpendCeremony(ctx, live, base.Add(time.Second)); fresh {
				t.Error("an unexpired spent id was forgotten")
			}
			if fresh, _ := db.SpendCeremony(ctx, old, base.Add(-time.Second)); !fresh {
				t.Error("an expired spent id was kept")
			}
		})
	})
}
