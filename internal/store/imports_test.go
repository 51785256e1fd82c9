package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/importer"
	"github.com/keyshift/keyshift/internal/testdb"
)

// The import's inserts differ by backend (multi-row INSERT OR IGNORE with
// deferred foreign keys on SQLite, arrays through unnest on PostgreSQL);
// these tests hold both to one contract: every column round-trips, a row
// whose unique key is taken is skipped (or, asked for fresh rows, fails
// the call), and a credential never lands without its user.

func importUser(id, email string) *account.User {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return &account.User{ID: id, Email: email, EmailKey: email, WebAuthnID: []byte("handle-" + id),
		CreatedAt: now.Add(-time.Hour), UpdatedAt: now, Origin: account.OriginImport}
}

func TestImportInsertsRoundTripEveryColumn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := t.Context()
		withExt := importUser("u-ext", "ext@example.com")
		withExt.EmailVerified, withExt.Name, withExt.ExternalID = true, hostile[0].text, "legacy-"+hostile[4].text
		plain := importUser("u-plain", "plain@example.com")
		used := time.Now().UTC().Truncate(time.Millisecond)
		pw := &account.Credential{ID: "c-pw", UserID: "u-ext", Type: account.CredentialPassword,
			PasswordHash: "$2b$10$" + hostile[1].text, PasswordFormat: "bcrypt", CreatedAt: withExt.CreatedAt, UpdatedAt: withExt.UpdatedAt}
		pk := &account.Credential{ID: "c-pk", UserID: "u-ext", Type: account.CredentialWebAuthn,
			CredentialID: []byte{0, 1, 2, 255}, PublicKey: []byte{0xa5, 1, 2}, SignCount: 4_000_000_000,
			AAGUID: make([]byte, 16), Transports: []string{"hybrid", "internal"}, Attachment: "platform",
			BackupEligible: true, BackupState: true, UserHandle: []byte("handle-u-ext"), Name: hostile[5].text,
			CreatedAt: withExt.CreatedAt, UpdatedAt: withExt.UpdatedAt, LastUsedAt: used}
		bare := &account.Credential{ID: "c-bare", UserID: "u-plain", Type: account.CredentialWebAuthn,
			CredentialID: []byte("bare"), PublicKey: []byte{0xa5}, CreatedAt: plain.CreatedAt, UpdatedAt: plain.UpdatedAt}

		for _, fresh := range []bool{true, false} {
			err := db.InTx(ctx, func(ctx context.Context) error {
				n, err := db.InsertUsers(ctx, "run-1", []*account.User{withExt, plain}, fresh)
				if err != nil || n != 2 {
					t.Errorf("InsertUsers(fresh=%v) = %d, %v; want 2", fresh, n, err)
				}
				n, err = db.InsertCredentials(ctx, []*account.Credential{pw, pk, bare}, fresh)
				if err != nil || n != 3 {
					t.Errorf("InsertCredentials(fresh=%v) = %d, %v; want 3", fresh, n, err)
				}
				return errors.New("roll back for the next round")
			})
			if err == nil {
				t.Fatal("InTx committed")
			}
		}
		if err := db.InTx(ctx, func(ctx context.Context) error {
			if _, err := db.InsertUsers(ctx, "run-1", []*account.User{withExt, plain}, true); err != nil {
				return err
			}
			_, err := db.InsertCredentials(ctx, []*account.Credential{pw, pk, bare}, true)
			return err
		}); err != nil {
			t.Fatal(err)
		}

		for _, want := range []*account.User{withExt, plain} {
			got, err := db.FindUserByEmailKey(ctx, want.EmailKey)
			if err != nil {
				t.Fatal(err)
			}
			got.HasPassword, got.PasskeyCount = false, 0
			if !reflect.DeepEqual(got, want) {
				t.Errorf("user\n got %+v\nwant %+v", got, want)
			}
		}
		if got, err := db.FindPasswordCredential(ctx, "u-ext"); err != nil || !reflect.DeepEqual(got, pw) {
			t.Errorf("password credential\n got %+v, %v\nwant %+v", got, err, pw)
		}
		for _, want := range []*account.Credential{pk, bare} {
			if got, err := db.FindPasskeyByCredentialID(ctx, want.CredentialID); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("passkey\n got %+v, %v\nwant %+v", got, err, want)
			}
		}

		// Every key the rows hold leads back to the run that inserted them:
		// how an import tells a row repeating an earlier line of its file.
		m, err := db.FindImportMatches(ctx, &importer.Keys{ExternalIDs: []string{withExt.ExternalID}, EmailKeys: []string{plain.EmailKey},
			CredentialIDs: [][]byte{pk.CredentialID}, UserHandles: [][]byte{plain.WebAuthnID}, At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if m.ByExternalID[withExt.ExternalID].ImportID != "run-1" || m.ByEmailKey[plain.EmailKey].ImportID != "run-1" ||
			m.CredentialIDs[string(pk.CredentialID)] != "run-1" || m.UserHandles[string(plain.WebAuthnID)] != "run-1" {
			t.Errorf("matches %+v: want every one made by run-1", m)
		}
	})
}

func TestImportInsertsSkipOrRefuseTakenKeys(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := t.Context()
		existing := importUser("u-old", "old@example.com")
		existing.ExternalID = "legacy-1"
		if err := db.CreateUser(ctx, existing); err != nil {
			t.Fatal(err)
		}
		clashes := map[string]*account.User{
			"email":       importUser("u-a", "old@example.com"),
			"external id": func() *account.User { u := importUser("u-b", "b@example.com"); u.ExternalID = "legacy-1"; return u }(),
			"user handle": func() *account.User {
				u := importUser("u-c", "c@example.com")
				u.WebAuthnID = existing.WebAuthnID
				return u
			}(),
			"id": importUser("u-old", "d@example.com"),
		}
		for key, clash := range clashes {
			t.Run(key, func(t *testing.T) {
				ok := importUser("ok-"+clash.ID, "ok-"+clash.EmailKey)
				// Not fresh: the clash is skipped, the rest goes in.
				err := db.InTx(ctx, func(ctx context.Context) error {
					n, err := db.InsertUsers(ctx, "run-2", []*account.User{ok, clash}, false)
					if err != nil || n != 1 {
						t.Errorf("InsertUsers = %d, %v; want 1 inserted and no error", n, err)
					}
					return errors.New("roll back")
				})
				if err == nil {
					t.Fatal("InTx committed")
				}
				// Fresh: the clash fails the call, or is skipped and
				// counted out; either way the caller sees it.
				_ = db.InTx(ctx, func(ctx context.Context) error {
					n, err := db.InsertUsers(ctx, "run-2", []*account.User{ok, clash}, true)
					if err == nil && n != 1 || err != nil && !errors.Is(err, importer.ErrKeyTaken) {
						t.Errorf("InsertUsers(fresh) = %d, %v; want 1 inserted, or an error wrapping ErrKeyTaken", n, err)
					}
					return errors.New("roll back")
				})
				if _, err := db.FindUserByEmailKey(ctx, ok.EmailKey); !account.IsCode(err, account.ENotFound) {
					t.Errorf("a rolled-back row is there: %v", err)
				}
			})
		}
	})
}

func TestImportInsertsKeepCredentialsWithTheirUser(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := t.Context()
		now := time.Now()
		orphan := &account.Credential{ID: "c-orphan", UserID: "nobody", Type: account.CredentialPassword,
			PasswordHash: "$2b$10$x", PasswordFormat: "bcrypt", CreatedAt: now, UpdatedAt: now}
		for _, fresh := range []bool{true, false} {
			// SQLite checks the foreign key at the commit (the insert
			// defers it), PostgreSQL at the insert: InTx fails either way.
			err := db.InTx(ctx, func(ctx context.Context) error {
				_, err := db.InsertCredentials(ctx, []*account.Credential{orphan}, fresh)
				return err
			})
			if err == nil {
				t.Errorf("fresh=%v: a credential without its user was committed", fresh)
			}
		}
		var n int
		if err := db.QueryRowForTest(ctx, `SELECT COUNT(*) FROM credentials`).Scan(&n); err != nil || n != 0 {
			t.Errorf("credentials: %d, %v; want none", n, err)
		}
		// And a later transaction on the same connection checks foreign
		// keys at once again: the deferral ended with the one that set it.
		_ = db.InTx(ctx, func(ctx context.Context) error {
			if err := db.CreateCredential(ctx, orphan); err == nil {
				t.Error("CreateCredential of an orphan passed its statement: foreign keys are still deferred")
			}
			return errors.New("roll back")
		})
	})
}

// TestInsertSessionsAddsSessionsASessionCheckFinds: the bulk insert of
// `bench seed-sessions` writes sessions that FindSessionByToken finds as
// CreateSession's, skips one whose token is taken, and counts what it
// inserted, on both backends.
func TestInsertSessionsAddsSessionsASessionCheckFinds(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := t.Context()
		u := importUser("u-ballast", "ballast@bench.invalid")
		now := time.Now().UTC().Truncate(time.Millisecond)
		var sessions []*account.Session
		for i := range 3 {
			sessions = append(sessions, &account.Session{ID: account.Random{}.NewTimeID(now), TokenHash: account.HashToken(string(rune('a' + i))),
				UserID: u.ID, AuthMethod: account.MethodPassword, AuthenticatedAt: now.Add(-time.Minute), CreatedAt: now.Add(-time.Minute),
				LastSeenAt: now, ExpiresAt: now.Add(24 * time.Hour)})
		}
		if n, err := db.InsertUsers(ctx, "seed", []*account.User{u}, false); err != nil || n != 1 {
			t.Fatalf("InsertUsers = %d, %v", n, err)
		}
		if n, err := db.InsertSessions(ctx, sessions); err != nil || n != 3 {
			t.Fatalf("InsertSessions = %d, %v; want 3", n, err)
		}
		again := *sessions[1]
		again.ID = account.Random{}.NewTimeID(now)
		if n, err := db.InsertSessions(ctx, []*account.Session{&again}); err != nil || n != 0 {
			t.Errorf("a session whose token is taken: InsertSessions = %d, %v; want 0 and no error", n, err)
		}
		found, err := db.FindSessionByToken(ctx, account.HashToken("b"))
		if err != nil {
			t.Fatal(err)
		}
		got, want := found.Session, sessions[1]
		if got.ID != want.ID || got.UserID != u.ID || found.User.Email != u.Email || got.AuthMethod != want.AuthMethod ||
			!got.AuthenticatedAt.Equal(want.AuthenticatedAt) || !got.LastSeenAt.Equal(want.LastSeenAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
			t.Errorf("found %+v of %s; want %+v of %s", got, found.User.Email, *want, u.Email)
		}
	})
}
