package store_test

import (
	"context"
	"testing"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestRecoveryCodesAreFoundByAnyOfTheirForms: a typed code is looked up in
// every form it may be stored in (under the current pepper, a previous one,
// or the plain SHA-256 of codes from before peppers), in one statement that
// uses up the one row it finds.
func TestRecoveryCodesAreFoundByAnyOfTheirForms(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := context.Background()
		ada, bob := createUser(t, db), createUser(t, db)
		h := [][]byte{randomBytes(32), randomBytes(32), randomBytes(32)}
		if err := db.ReplaceRecoveryCodes(ctx, ada.ID, []account.RecoveryCodeHash{
			{Hash: h[0], PepperID: "0a0b0c0d"}, {Hash: h[1], PepperID: "01020304"}, {Hash: h[2]},
		}, t0); err != nil {
			t.Fatal(err)
		}
		if err := db.ReplaceRecoveryCodes(ctx, bob.ID, []account.RecoveryCodeHash{{Hash: randomBytes(32), PepperID: "0a0b0c0d"}}, t0); err != nil {
			t.Fatal(err)
		}
		byPepper, err := db.CountRecoveryCodesByPepper(ctx)
		if err != nil || byPepper["0a0b0c0d"] != 2 || byPepper["01020304"] != 1 || byPepper[""] != 1 {
			t.Errorf("CountRecoveryCodesByPepper = %v, %v", byPepper, err)
		}

		if err := db.UseRecoveryCode(ctx, bob.ID, [][]byte{h[0], h[1], h[2]}); !account.IsCode(err, account.ENotFound) {
			t.Errorf("another member's code: %v, want not found", err)
		}
		if err := db.UseRecoveryCode(ctx, ada.ID, [][]byte{randomBytes(32), h[1], randomBytes(32)}); err != nil {
			t.Errorf("a code stored under a previous pepper: %v", err)
		}
		if err := db.UseRecoveryCode(ctx, ada.ID, [][]byte{randomBytes(32), h[1]}); !account.IsCode(err, account.ENotFound) {
			t.Errorf("the same code again: %v, want not found", err)
		}
		if err := db.UseRecoveryCode(ctx, ada.ID, [][]byte{randomBytes(32), h[2]}); err != nil {
			t.Errorf("a code stored as plain SHA-256: %v", err)
		}
		if err := db.UseRecoveryCode(ctx, ada.ID, nil); !account.IsCode(err, account.ENotFound) {
			t.Errorf("no candidate at all: %v, want not found", err)
		}
		if n, err := db.CountRecoveryCodes(ctx, ada.ID); err != nil || n != 1 {
			t.Errorf("codes left %d, %v; want 1", n, err)
		}
	})
}
