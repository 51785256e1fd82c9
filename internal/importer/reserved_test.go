package importer_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/change"
	"github.com/keyshift/keyshift/internal/importer"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/userfile"
)

// TestImportTreatsAReservedAddressAsTaken: an address an account moved
// away from stays its own while the move can be undone (docs/security.md,
// T1). An import meets it as it would meet the account at that address —
// the same member when nothing says otherwise, a conflict when the
// external ids differ — and never makes a new account there, which would
// block the owner's way back. Whatever the batch size, and whether or not
// earlier batches had gone the fast way without lookups.
func TestImportTreatsAReservedAddressAsTaken(t *testing.T) {
	for _, batch := range []int{1, 3} {
		t.Run(map[int]string{1: "one_row_a_batch", 3: "three_rows_a_batch"}[batch], func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, database string) {
				t.Parallel()
				db := openDB(t, database)
				ctx := t.Context()
				// A fresh import first: batches then skip their lookups.
				outcomes(t, db, []line{{row: userfile.Row{Email: "first@example.com"}}}, batch)

				now := time.Now()
				moved := &account.User{ID: "moved", Email: "nat.new@example.com", EmailKey: "nat.new@example.com", EmailVerified: true,
					WebAuthnID: []byte("moved-handle"), CreatedAt: now, UpdatedAt: now, Origin: account.OriginSignup}
				if err := db.CreateUser(ctx, moved); err != nil {
					t.Fatal(err)
				}
				if err := db.CreateEmailChange(ctx, &change.Change{TokenHash: randBytes(32), Kind: change.KindRevert, UserID: "moved",
					Email: "nat@example.com", EmailKey: "nat@example.com", OldKey: "nat.new@example.com", CreatedAt: now,
					ExpiresAt: now.Add(change.RevertTTL)}); err != nil {
					t.Fatal(err)
				}

				got := outcomes(t, db, []line{
					{row: userfile.Row{Email: "free@example.com"}},
					{row: userfile.Row{Email: "Nat@example.com", ExternalID: "legacy-1"}},
				}, batch)
				if want := []string{"ok", importer.ReasonEmailTaken, "imported=1 unchanged=0"}; !reflect.DeepEqual(got, want) {
					t.Errorf("got  %v\nwant %v", got, want)
				}
				got = outcomes(t, db, []line{{row: userfile.Row{Email: "nat@example.com"}}}, batch)
				if want := []string{"ok", "imported=0 unchanged=1"}; !reflect.DeepEqual(got, want) {
					t.Errorf("a row without external_id: got %v, want %v", got, want)
				}
				if u, err := db.FindUserByEmailKey(ctx, "nat@example.com"); !account.IsCode(err, account.ENotFound) {
					t.Errorf("an account took the reserved address: %+v, %v", u, err)
				}
			})
		})
	}
}
