package sqldb_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/store/sqldb"
	"github.com/keyshift/keyshift/internal/testdb"
)

// column runs query, which selects one column, and returns its values
// joined by commas.
func column(t *testing.T, ctx context.Context, db *sqldb.DB, query string) string {
	t.Helper()
	rows, err := db.Query(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, ",")
}

// open connects to database, without migrations, and closes it when t ends.
func open(t *testing.T, database string) *sqldb.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	db, err := sqldb.OpenNoMigrate(ctx, database)
	if err != nil {
		t.Fatalf("OpenNoMigrate: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenNamesTheBackend(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		want := "sqlite"
		if !strings.HasPrefix(database, "sqlite:") {
			want = "postgres"
		}
		if got := db.Dialect(); got != want {
			t.Errorf("Dialect() = %q, want %q", got, want)
		}
		if err := db.Ping(t.Context()); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})
}

func TestOpenFailsClearlyWithoutLeakingThePassword(t *testing.T) {
	t.Parallel()
	const secret = "hunter2-s3cret"
	tests := []struct {
		name     string
		database string
		want     string // part of the error
	}{
		{"refuses a database it does not support", "mysql://x", "neither sqlite:PATH nor a postgres:// URL"},
		{"refuses an unsupported URL without showing its password", "mysql://root:" + secret + "@db:3306/keyshift", "neither sqlite"},
		{"refuses sqlite without a path", "sqlite:", "needs a file path"},
		{"reports a SQLite file it cannot create", "sqlite:/nonexistent-keyshift-dir/keyshift.db", "unreachable"},
		{"reports an unreachable PostgreSQL", "postgres://nobody@127.0.0.1:1/x?connect_timeout=2", "unreachable"},
		{"reports an unreachable PostgreSQL without its password", "postgres://nobody:" + secret + "@127.0.0.1:1/x?connect_timeout=2", "unreachable"},
		{"reports an unreachable PostgreSQL without a password given as a parameter", "postgresql://nobody@127.0.0.1:1/x?connect_timeout=2&password=" + secret, "unreachable"},
		{"reports a URL with a bad escape without its password", "postgres://nobody:" + secret + "%zz@127.0.0.1:1/x?connect_timeout=2", "parse"},
		{"reports a URL with a bad port without its password", "postgres://nobody:" + secret + "@127.0.0.1:x1/x", "parse"},
		{"refuses an unsupported URL that does not parse without its password", "mysql://root:" + secret + "%zz@db/x", "neither sqlite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, err := sqldb.OpenNoMigrate(t.Context(), tt.database)
			if err == nil {
				db.Close()
				t.Fatal("OpenNoMigrate succeeded")
			}
			if db != nil {
				t.Errorf("OpenNoMigrate returned a *DB with its error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the password: %q", err)
			}
		})
	}
}

// TestTimesAndBooleansRoundTrip: a time goes in as the dialect's column value
// and comes back whole to the millisecond, in UTC; booleans as the dialect
// stores them; NULL reads as the zero time.
func TestTimesAndBooleansRoundTrip(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := t.Context()
		ts := "INTEGER"
		if db.Dialect() == "postgres" {
			ts = "TIMESTAMPTZ"
		}
		if _, err := db.Exec(ctx, `CREATE TABLE roundtrip (at `+ts+`, maybe `+ts+`, yes `+map[bool]string{true: "BOOLEAN", false: "INTEGER"}[db.Dialect() == "postgres"]+`)`); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 12, 5, 14, 3, 7, 123_000_000, time.FixedZone("CET", 3600))
		if _, err := db.Exec(ctx, `INSERT INTO roundtrip (at, maybe, yes) VALUES (?, ?, ?)`, db.Time(at), db.NullTime(time.Time{}), db.Bool(true)); err != nil {
			t.Fatal(err)
		}
		var got, none time.Time
		var yes bool
		if err := db.QueryRow(ctx, `SELECT at, maybe, yes FROM roundtrip`).Scan(sqldb.ScanTime(&got), sqldb.ScanTime(&none), sqldb.ScanBool(&yes)); err != nil {
			t.Fatal(err)
		}
		if !got.Equal(at) || got.Location() != time.UTC || !none.IsZero() || !yes {
			t.Errorf("read back %v, %v, %v; want %v in UTC, the zero time, true", got, none, yes, at)
		}
	})
}

// TestSavepointsAndAtomically: a failed savepoint undoes its own writes and
// leaves the transaction usable, even after a unique violation on
// PostgreSQL; Atomically is a savepoint inside a transaction and a
// transaction of its own outside one.
func TestSavepointsAndAtomically(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := t.Context()
		if _, err := db.Exec(ctx, `CREATE TABLE kv (k TEXT PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		put := func(k string) func(ctx context.Context) error {
			return func(ctx context.Context) error {
				_, err := db.Exec(ctx, `INSERT INTO kv (k) VALUES (?)`, k)
				return err
			}
		}
		if sqldb.InTransaction(ctx) {
			t.Error("a bare context says it carries a transaction")
		}
		err := db.InTx(ctx, func(ctx context.Context) error {
			if !sqldb.InTransaction(ctx) {
				t.Error("InTx's context says it carries no transaction")
			}
			if err := put("a")(ctx); err != nil {
				return err
			}
			err := db.Atomically(ctx, "dup", func(ctx context.Context) error {
				if err := put("b")(ctx); err != nil {
					return err
				}
				return put("a")(ctx) // a unique violation
			})
			if !db.IsUnique(err) {
				t.Errorf("the savepoint's error %v is not a unique violation", err)
			}
			return put("c")(ctx) // the transaction is still usable
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Atomically(ctx, "outside", put("d")); err != nil {
			t.Fatal(err)
		}
		if got := column(t, ctx, db, `SELECT k FROM kv ORDER BY k`); got != "a,c,d" {
			t.Errorf("rows %v, want a, c, d (b undone with its savepoint)", got)
		}
	})
}

func TestPlaceholdersAndAnys(t *testing.T) {
	if got := sqldb.Placeholders(3); got != "?, ?, ?" {
		t.Errorf("Placeholders(3) = %q", got)
	}
	if got := sqldb.Placeholders(0); got != "" {
		t.Errorf("Placeholders(0) = %q", got)
	}
	if got := sqldb.Anys([]string{"a", "b"}); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("Anys = %v", got)
	}
}

// TestPostgresRunsWithoutJIT: keyshift's PostgreSQL connections turn JIT
// compilation off (a page of an export of 10M members compiled for 24 ms
// to run for 1 ms), unless the URL sets jit itself.
func TestPostgresRunsWithoutJIT(t *testing.T) {
	database := testdb.PostgresURL(t)
	for _, tc := range []struct{ suffix, want string }{{"", "off"}, {"jit=on", "on"}} {
		url := database
		if tc.suffix != "" {
			sep := "?"
			if strings.Contains(url, "?") {
				sep = "&"
			}
			url += sep + tc.suffix
		}
		db := open(t, url)
		var got string
		if err := db.QueryRow(t.Context(), `SHOW jit`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("URL with %q: jit is %q, want %q", tc.suffix, got, tc.want)
		}
	}
}
