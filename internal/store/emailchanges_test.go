package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/change"
	"github.com/keyshift/keyshift/internal/email/confirm"
	"github.com/keyshift/keyshift/internal/email/signin"
	"github.com/keyshift/keyshift/internal/importer"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// moved stores a change of u from the address old to u's own, confirmed at
// t0: u's revert link to old, live until t0 + 7 days.
func moved(t *testing.T, db *store.DB, u *account.User, old string, pw *account.Credential) *change.Change {
	t.Helper()
	rv := &change.Change{TokenHash: randomBytes(32), Kind: change.KindRevert, UserID: u.ID, Email: old, EmailKey: old,
		OldKey: u.EmailKey, UndoSince: t0.Add(-time.Minute), Password: pw, CreatedAt: t0, ExpiresAt: t0.Add(change.RevertTTL)}
	if err := db.CreateEmailChange(t.Context(), rv); err != nil {
		t.Fatal(err)
	}
	return rv
}

// TestAnAddressAnAccountLeftStaysReservedToIt: while an account's revert
// link lives, the address it moved away from is taken for every other
// account — a new account, another member's change of address, an import's
// lookups — and free again once the link expires; the account itself may
// take it back. A refusal inside a transaction leaves it usable.
func TestAnAddressAnAccountLeftStaysReservedToIt(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := context.Background()
		ada, bob := createUser(t, db), createUser(t, db)
		const old = "old.ada@example.com"
		moved(t, db, ada, old, nil)
		live, dead := t0.Add(time.Hour), t0.Add(change.RevertTTL)

		if u, err := db.FindEmailHolder(ctx, old, live); err != nil || u.ID != ada.ID {
			t.Errorf("holder of the reserved address: %v, %v; want Ada", u, err)
		}
		if u, err := db.FindEmailHolder(ctx, ada.EmailKey, live); err != nil || u.ID != ada.ID {
			t.Errorf("holder of Ada's own address: %v, %v", u, err)
		}
		for what, key := range map[string]string{"a reservation past its link": old, "an address nobody has": "nobody@example.com"} {
			at := live
			if key == old {
				at = dead
			}
			if _, err := db.FindEmailHolder(ctx, key, at); !account.IsCode(err, account.ENotFound) {
				t.Errorf("%s: %v, want not found", what, err)
			}
		}

		squatter := newUser()
		squatter.Email, squatter.EmailKey, squatter.CreatedAt = old, old, live
		if err := db.CreateUser(ctx, squatter); !account.IsCode(err, account.EEmailTaken) {
			t.Errorf("a new account at the reserved address: %v, want email_taken", err)
		}
		if _, err := db.FindUser(ctx, squatter.ID); !account.IsCode(err, account.ENotFound) {
			t.Errorf("the refused account was stored: %v", err)
		}
		// Inside a transaction the refusal undoes only itself.
		err := db.InTx(ctx, func(ctx context.Context) error {
			if err := db.UpdateUserEmail(ctx, bob.ID, old, old, true, live); !account.IsCode(err, account.EEmailTaken) {
				t.Errorf("another member moving to the reserved address: %v, want email_taken", err)
			}
			if err := db.UpdateUserEmail(ctx, bob.ID, "bob.new@example.com", "bob.new@example.com", true, live); err != nil {
				t.Errorf("the transaction is spoiled after the refusal: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if u, err := db.FindUser(ctx, bob.ID); err != nil || u.EmailKey != "bob.new@example.com" {
			t.Errorf("Bob after the transaction: %+v, %v", u, err)
		}

		m, err := db.FindImportMatches(ctx, &importer.Keys{EmailKeys: []string{old, "free@example.com"}, At: live})
		if err != nil || m.ByEmailKey[old].UserID != ada.ID || len(m.ByEmailKey) != 1 {
			t.Errorf("import lookups: %+v, %v; want the reserved address to match Ada", m, err)
		}
		if has, err := db.HasEmailReservations(ctx, live); err != nil || !has {
			t.Errorf("HasEmailReservations while the link lives: %v, %v", has, err)
		}
		if has, err := db.HasEmailReservations(ctx, dead); err != nil || has {
			t.Errorf("HasEmailReservations once it expired: %v, %v", has, err)
		}
		rs, err := db.FindEmailReservations(ctx, ada.ID, live)
		if err != nil || len(rs) != 1 || rs[0].EmailKey != old || !rs[0].ExpiresAt.Equal(t0.Add(change.RevertTTL)) {
			t.Errorf("Ada's reservations: %+v, %v", rs, err)
		}

		late := newUser()
		late.Email, late.EmailKey, late.CreatedAt = "Old.Ada@example.com", old, dead
		if err := db.CreateUser(ctx, late); err != nil {
			t.Errorf("an account at the address after the link expired: %v", err)
		}
		const older = "older.ada@example.com"
		moved(t, db, ada, older, nil)
		if err := db.UpdateUserEmail(ctx, ada.ID, older, older, true, live); err != nil {
			t.Errorf("Ada moving back to her own reserved address: %v", err)
		}
	})
}

// TestEmailChangeRowsKeepTheirSessionCancelLinkAndPassword: the columns of
// migration 0014 round-trip, a link is found by its cancel token, and
// DeletePendingEmailChanges leaves revert links.
func TestEmailChangeRowsKeepTheirSessionCancelLinkAndPassword(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := context.Background()
		ada := createUser(t, db)
		cancel := randomBytes(32)
		c := &change.Change{TokenHash: randomBytes(32), Kind: change.KindConfirm, UserID: ada.ID, Email: "New@example.org",
			EmailKey: "new@example.org", OldKey: ada.EmailKey, SessionID: "s-1", CancelHash: cancel, UndoSince: t0.Add(-time.Hour),
			CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := db.CreateEmailChange(ctx, c); err != nil {
			t.Fatal(err)
		}
		pw := &account.Credential{PasswordHash: "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", PasswordFormat: "argon2id"}
		rv := moved(t, db, ada, "old@example.org", pw)

		got, err := db.FindEmailChangeByCancel(ctx, cancel, t0)
		if err != nil || got.SessionID != "s-1" || !got.UndoSince.Equal(c.UndoSince) || got.Password != nil || got.Email != "New@example.org" {
			t.Fatalf("by cancel link: %+v, %v", got, err)
		}
		if _, err := db.FindEmailChangeByCancel(ctx, cancel, t0.Add(time.Hour)); !account.IsCode(err, account.ENotFound) {
			t.Errorf("an expired cancel link: %v", err)
		}
		got, err = db.EmailChangeLinks(change.KindRevert).FindLink(ctx, rv.TokenHash, t0)
		if err != nil || got.Password == nil || got.Password.PasswordHash != pw.PasswordHash || got.SessionID != "" || got.CancelHash != nil {
			t.Fatalf("the revert link: %+v, %v", got, err)
		}
		if n, err := db.DeletePendingEmailChanges(ctx, ada.ID); err != nil || n != 1 {
			t.Errorf("DeletePendingEmailChanges: %d, %v", n, err)
		}
		if _, err := db.EmailChangeLinks(change.KindRevert).TakeLink(ctx, rv.TokenHash, t0); err != nil {
			t.Errorf("the revert link after DeletePendingEmailChanges: %v", err)
		}
	})
}

// TestCleanUpStatements: what a clean-up of an account removes, by time,
// and nothing of another account's.
func TestCleanUpStatements(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := context.Background()
		ada, bob := createUser(t, db), createUser(t, db)
		since := t0.Add(time.Hour)
		for i, at := range []time.Time{t0, since, since.Add(time.Minute)} {
			for _, u := range []*account.User{ada, bob} {
				pk := newPasskey(u)
				pk.Name, pk.CreatedAt = []string{"before", "at", "after"}[i], at
				if err := db.CreateCredential(ctx, pk); err != nil {
					t.Fatal(err)
				}
			}
		}
		// At or after: a client acting within the clock tick of its
		// sign-in is caught too.
		names, err := db.DeletePasskeysSince(ctx, ada.ID, since)
		if slices.Sort(names); err != nil || !slices.Equal(names, []string{"after", "at"}) {
			t.Errorf("DeletePasskeysSince: %v, %v", names, err)
		}
		if left, _ := db.ListPasskeys(ctx, ada.ID); len(left) != 1 || left[0].Name != "before" {
			t.Errorf("Ada's passkeys left: %+v", left)
		}
		if left, _ := db.ListPasskeys(ctx, bob.ID); len(left) != 3 {
			t.Errorf("Bob lost passkeys: %d left", len(left))
		}
		if names, err = db.DeletePasskeysSince(ctx, ada.ID, time.Time{}); err != nil || !slices.Equal(names, []string{"before"}) {
			t.Errorf("DeletePasskeysSince(zero) = %v, %v; want the rest", names, err)
		}

		for _, at := range []time.Time{since.Add(-time.Millisecond), since} {
			if err := db.ReplaceRecoveryCodes(ctx, ada.ID, []account.RecoveryCodeHash{{Hash: randomBytes(32)}, {Hash: randomBytes(32)}}, at); err != nil {
				t.Fatal(err)
			}
			if n, err := db.DeleteRecoveryCodesSince(ctx, ada.ID, since); err != nil || n != map[bool]int{true: 2, false: 0}[!at.Before(since)] {
				t.Errorf("DeleteRecoveryCodesSince of codes made at %v: %d, %v", at, n, err)
			}
		}

		sess := newSession(ada, t0)
		if _, err := db.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if got, err := db.FindSession(ctx, ada.ID, sess.ID); err != nil || got.ID != sess.ID || !got.ExpiresAt.Equal(sess.ExpiresAt) {
			t.Errorf("FindSession: %+v, %v", got, err)
		}
		if _, err := db.FindSession(ctx, bob.ID, sess.ID); !account.IsCode(err, account.ENotFound) {
			t.Errorf("FindSession of another member's session: %v", err)
		}

		for _, key := range []string{ada.EmailKey, bob.EmailKey, ada.EmailKey} {
			if err := db.CreateEmailFlow(ctx, &signin.Flow{ID: randomID(), Email: key, EmailKey: key, TokenHash: randomBytes(32),
				CodeHash: randomBytes(32), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := db.DeleteEmailFlows(ctx, ada.EmailKey, "nobody@example.com"); err != nil || n != 2 {
			t.Errorf("DeleteEmailFlows: %d, %v", n, err)
		}
		if _, err := db.FindNewestEmailFlow(ctx, bob.EmailKey, t0); err != nil {
			t.Errorf("Bob's flow went too: %v", err)
		}

		for range 2 {
			if err := db.CreateEmailVerification(ctx, &confirm.Verification{TokenHash: randomBytes(32), UserID: ada.ID, EmailKey: ada.EmailKey,
				CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := db.DeleteUserEmailVerifications(ctx, ada.ID); err != nil || n != 2 {
			t.Errorf("DeleteUserEmailVerifications: %d, %v", n, err)
		}

		err = db.InTx(ctx, func(ctx context.Context) error { return db.LockUser(ctx, ada.ID) })
		if err != nil {
			t.Errorf("LockUser: %v", err)
		}
		err = db.InTx(ctx, func(ctx context.Context) error { return db.LockUser(ctx, "u-nobody") })
		if !account.IsCode(err, account.ENotFound) {
			t.Errorf("LockUser of nobody: %v, want not found", err)
		}
	})
}

// TestLockUserMakesAccountsWaitForEachOther: a second transaction locking
// the same account waits for the first to end; another account's does not.
func TestLockUserMakesAccountsWaitForEachOther(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		if strings.HasPrefix(database, "sqlite:") {
			t.Skip("SQLite runs one write transaction at a time: every lock is held already")
		}
		db := open(t, database)
		ctx := context.Background()
		ada, bob := createUser(t, db), createUser(t, db)
		locked, release := make(chan struct{}), make(chan struct{})
		first := make(chan error, 1)
		go func() {
			first <- db.InTx(ctx, func(ctx context.Context) error {
				if err := db.LockUser(ctx, ada.ID); err != nil {
					return err
				}
				close(locked)
				<-release
				return nil
			})
		}()
		<-locked
		if err := db.InTx(ctx, func(ctx context.Context) error { return db.LockUser(ctx, bob.ID) }); err != nil {
			t.Fatalf("another account's lock: %v", err)
		}
		second := make(chan error, 1)
		go func() { second <- db.InTx(ctx, func(ctx context.Context) error { return db.LockUser(ctx, ada.ID) }) }()
		select {
		case err := <-second:
			t.Fatalf("the second lock of Ada's account did not wait: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		close(release)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if err := <-second; err != nil {
			t.Fatalf("the second lock after the first ended: %v", err)
		}
	})
}
