package store_test

import (
	"sync"
	"testing"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/testdb"
)

func TestConcurrentSignupsForOneEmailKeyMakeOneAccount(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		for round := range 20 {
			a, b := newUser(), newUser()
			b.EmailKey = a.EmailKey
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, u := range []*account.User{a, b} {
				wg.Go(func() { errs[i] = db.CreateUser(t.Context(), u) })
			}
			wg.Wait()

			var won, taken int
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case account.IsCode(err, account.EEmailTaken):
					taken++
				default:
					t.Errorf("round %d: CreateUser: %v", round, err)
				}
			}
			if won != 1 || taken != 1 {
				t.Fatalf("round %d: %d succeeded and %d got email_taken, want 1 and 1 (%v)", round, won, taken, errs)
			}
			winner := a
			if errs[0] != nil {
				winner = b
			}
			got, err := db.FindUserByEmailKey(t.Context(), a.EmailKey)
			if err != nil || got.ID != winner.ID {
				t.Fatalf("round %d: FindUserByEmailKey = %v, %v; want the winner %s", round, got, err, winner.ID)
			}
		}
	})
}
