package store_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store/sqldb"
	"github.com/keyshift/keyshift/internal/testdb"
)

// originVersion is the migration that adds users.origin.
const originVersion = 10

// migrationsUpTo returns the embedded migrations of dialect up to version
// last, as files MigrateForTest reads.
func migrationsUpTo(t *testing.T, dialect string, last int) fstest.MapFS {
	t.Helper()
	ms, err := sqldb.Migrations(dialect)
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{}
	for _, m := range ms {
		if m.Version <= last {
			fsys[fmt.Sprintf("%04d_%s.sql", m.Version, m.Name)] = &fstest.MapFile{Data: []byte(m.SQL)}
		}
	}
	return fsys
}

// TestOriginOfAccountsMadeBeforeTheColumn: the migration that adds
// users.origin tells sign-ups and first email sign-ins (each wrote a
// "signup" event) from imported accounts (which wrote none), so an import
// after the upgrade treats old accounts as it treats new ones.
func TestOriginOfAccountsMadeBeforeTheColumn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		dialect := "postgres"
		if strings.HasPrefix(database, "sqlite:") {
			dialect = "sqlite"
		}
		db := openNoMigrate(t, database)
		ctx := t.Context()
		if _, err := db.MigrateForTest(ctx, migrationsUpTo(t, dialect, originVersion-1)); err != nil {
			t.Fatal(err)
		}
		at := int64(1_700_000_000_000)
		atArg := any(at)
		if dialect == "postgres" {
			atArg = "2023-11-14T22:13:20Z"
		}
		for _, u := range []struct{ id, method string }{{"by-password", "password"}, {"by-link", "email_link"}, {"by-code", "email_code"}, {"imported", ""}} {
			if err := db.ExecForTest(ctx, `INSERT INTO users (id, email, email_key, webauthn_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
				u.id, u.id+"@example.com", u.id+"@example.com", []byte("h-"+u.id), atArg, atArg); err != nil {
				t.Fatal(err)
			}
			if u.method == "" {
				continue
			}
			if err := db.ExecForTest(ctx, `INSERT INTO events (at, type, user_id, method, outcome) VALUES (?, 'signup', ?, ?, 'success')`,
				atArg, u.id, u.method); err != nil {
				t.Fatal(err)
			}
		}
		// A sign-in event is not a sign-up: the imported member signed in.
		if err := db.ExecForTest(ctx, `INSERT INTO events (at, type, user_id, method, outcome) VALUES (?, 'signin', 'imported', 'password', 'success')`, atArg); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]account.Origin{"by-password": account.OriginSignup, "by-link": account.OriginEmail,
			"by-code": account.OriginEmail, "imported": account.OriginImport} {
			u, err := db.FindUser(ctx, id)
			if err != nil || u.Origin != want {
				t.Errorf("%s: origin %q (%v), want %q", id, u.Origin, err, want)
			}
		}
	})
}

// TestCreateUserNeedsAnOrigin: an account's origin is never guessed.
func TestCreateUserNeedsAnOrigin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		u := newUser()
		u.Origin = ""
		if err := db.CreateUser(t.Context(), u); err == nil {
			t.Fatal("a user without an origin was created")
		}
		u.Origin = account.OriginEmail
		if err := db.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindUser(t.Context(), u.ID)
		if err != nil || got.Origin != account.OriginEmail {
			t.Errorf("origin read back %q (%v), want email", got.Origin, err)
		}
	})
}
