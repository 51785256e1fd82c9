package sqldb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/keyshift/keyshift/internal/testdb"
)

// TestWritesQueuedWithExecLater: on PostgreSQL ExecLater keeps a write in
// memory until the transaction's next round trip (pgtx.go); on SQLite it
// runs at once. From the outside the two must not differ: the write is
// part of its transaction — seen by what follows it there, by no one else
// before the commit, undone with a savepoint or a failure, and a failure of
// its own fails the transaction.
func TestWritesQueuedWithExecLater(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := t.Context()
		for _, ddl := range []string{`CREATE TABLE log (n INTEGER NOT NULL)`, `CREATE TABLE kv (k TEXT PRIMARY KEY)`} {
			if _, err := db.Exec(ctx, ddl); err != nil {
				t.Fatal(err)
			}
		}
		logged := func(ctx context.Context) string {
			t.Helper()
			return column(t, ctx, db, `SELECT n FROM log ORDER BY n`)
		}
		log := func(ctx context.Context, n int) error {
			return db.ExecLater(ctx, `INSERT INTO log (n) VALUES (?)`, n)
		}
		reset := func() {
			t.Helper()
			if _, err := db.Exec(ctx, `DELETE FROM log`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(ctx, `DELETE FROM kv`); err != nil {
				t.Fatal(err)
			}
		}

		t.Run("a queued write is read back inside its transaction, by no one outside before the commit, and kept", func(t *testing.T) {
			reset()
			err := db.InTx(ctx, func(txCtx context.Context) error {
				if err := log(txCtx, 1); err != nil {
					return err
				}
				if got := logged(ctx); got != "" {
					t.Errorf("outside the transaction, before its commit: %q", got)
				}
				if got := logged(txCtx); got != "1" {
					t.Errorf("inside the transaction, after its write: %q, want 1", got)
				}
				return log(txCtx, 2)
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := logged(ctx); got != "1,2" {
				t.Errorf("after the commit: %q, want 1,2", got)
			}
		})

		t.Run("a failure of fn drops what was queued", func(t *testing.T) {
			reset()
			boom := errors.New("boom")
			err := db.InTx(ctx, func(ctx context.Context) error {
				if err := log(ctx, 1); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("InTx = %v, want fn's error", err)
			}
			if got := logged(ctx); got != "" {
				t.Errorf("after the rollback: %q", got)
			}
		})

		t.Run("a queued write that fails fails the whole transaction", func(t *testing.T) {
			reset()
			err := db.InTx(ctx, func(ctx context.Context) error {
				if _, err := db.Exec(ctx, `INSERT INTO kv (k) VALUES ('kept only with the rest')`); err != nil {
					return err
				}
				if err := log(ctx, 1); err != nil {
					return err
				}
				if err := db.ExecLater(ctx, `INSERT INTO kv (k) VALUES ('twice')`); err != nil {
					return err
				}
				return db.ExecLater(ctx, `INSERT INTO kv (k) VALUES ('twice')`)
			})
			if !db.IsUnique(err) {
				t.Fatalf("InTx = %v, want the queued statement's unique violation", err)
			}
			var n int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM kv`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if got := logged(ctx); n != 0 || got != "" {
				t.Errorf("after the failure: %d rows in kv, log %q; want nothing", n, got)
			}
		})

		t.Run("a savepoint's rollback undoes what was queued inside it", func(t *testing.T) {
			reset()
			no := errors.New("no")
			err := db.InTx(ctx, func(ctx context.Context) error {
				if err := log(ctx, 10); err != nil {
					return err
				}
				if err := db.Atomically(ctx, "sp", func(ctx context.Context) error {
					if err := log(ctx, 11); err != nil {
						return err
					}
					return no
				}); !errors.Is(err, no) {
					t.Errorf("Atomically = %v, want its fn's error", err)
				}
				return log(ctx, 12)
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := logged(ctx); got != "10,12" {
				t.Errorf("log %q, want 10,12 (11 undone with its savepoint)", got)
			}
		})

		t.Run("an Exec after queued writes counts its own rows", func(t *testing.T) {
			reset()
			err := db.InTx(ctx, func(ctx context.Context) error {
				for n := range 3 {
					if err := log(ctx, n); err != nil {
						return err
					}
				}
				res, err := db.Exec(ctx, `UPDATE log SET n = n + 10 WHERE n < 2`)
				if err != nil {
					return err
				}
				if got, err := res.RowsAffected(); got != 2 || err != nil {
					t.Errorf("RowsAffected = %d, %v; want 2", got, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := logged(ctx); got != "2,10,11" {
				t.Errorf("log %q, want 2,10,11", got)
			}
		})

		t.Run("an Exec after a queued write that fails returns that failure", func(t *testing.T) {
			reset()
			err := db.InTx(ctx, func(ctx context.Context) error {
				if err := db.ExecLater(ctx, `INSERT INTO kv (k) VALUES ('once')`); err != nil {
					return err
				}
				if err := db.ExecLater(ctx, `INSERT INTO kv (k) VALUES ('once')`); err != nil {
					return err
				}
				_, err := db.Exec(ctx, `INSERT INTO log (n) VALUES (1)`)
				return err
			})
			if !db.IsUnique(err) {
				t.Fatalf("InTx = %v, want the queued statement's unique violation", err)
			}
			if got := logged(ctx); got != "" {
				t.Errorf("log %q after the failure, want nothing", got)
			}
		})

		t.Run("a transaction that writes nothing, or only reads, commits", func(t *testing.T) {
			reset()
			if err := db.InTx(ctx, func(context.Context) error { return nil }); err != nil {
				t.Errorf("an empty transaction: %v", err)
			}
			var n int
			if err := db.InTx(ctx, func(ctx context.Context) error {
				return db.QueryRow(ctx, `SELECT COUNT(*) FROM log`).Scan(&n)
			}); err != nil || n != 0 {
				t.Errorf("a reading transaction: %d rows, %v", n, err)
			}
		})

		t.Run("outside a transaction ExecLater runs at once", func(t *testing.T) {
			reset()
			if err := log(ctx, 7); err != nil {
				t.Fatal(err)
			}
			if got := logged(ctx); got != "7" {
				t.Errorf("log %q, want 7", got)
			}
		})
	})
}

// TestAPostgresTransactionWithAFailureItIgnoredDoesNotCommit: after a failed
// statement PostgreSQL aborts the transaction, and its COMMIT answers
// ROLLBACK; InTx must say so rather than report success for writes that
// were thrown away. (SQLite keeps the transaction going after a failed
// statement, so this is PostgreSQL's alone.)
func TestAPostgresTransactionWithAFailureItIgnoredDoesNotCommit(t *testing.T) {
	db := open(t, testdb.PostgresURL(t))
	ctx := t.Context()
	if _, err := db.Exec(ctx, `CREATE TABLE kv_ignored (k TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	for _, queued := range []bool{false, true} {
		err := db.InTx(ctx, func(ctx context.Context) error {
			if _, err := db.Exec(ctx, `INSERT INTO kv_ignored (k) VALUES ('a')`); err != nil {
				return err
			}
			db.Exec(ctx, `INSERT INTO kv_ignored (k) VALUES ('a')`) // fails; ignored
			if queued {
				return db.ExecLater(ctx, `INSERT INTO kv_ignored (k) VALUES ('b')`)
			}
			return nil
		})
		if err == nil {
			t.Fatalf("queued writes %v: InTx reported success for an aborted transaction", queued)
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM kv_ignored`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("queued writes %v: %d rows kept from an aborted transaction", queued, n)
		}
	}
}

// TestACancelledPostgresTransactionLeavesNoConnectionInsideIt: a transaction
// whose caller goes away mid-way — between two statements, or with writes
// still queued — is rolled back, and no pooled connection is left idle in
// it (every connection of the pool is then used again without error).
func TestACancelledPostgresTransactionLeavesNoConnectionInsideIt(t *testing.T) {
	db := open(t, testdb.PostgresURL(t))
	ctx := t.Context()
	if _, err := db.Exec(ctx, `CREATE TABLE cancelled (n INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		cctx, cancel := context.WithCancel(ctx)
		err := db.InTx(cctx, func(ctx context.Context) error {
			if _, err := db.Exec(ctx, `INSERT INTO cancelled (n) VALUES (?)`, i); err != nil {
				return err
			}
			if err := db.ExecLater(ctx, `INSERT INTO cancelled (n) VALUES (?)`, -i); err != nil {
				return err
			}
			cancel()
			if i%2 == 0 {
				_, err := db.Exec(ctx, `SELECT 1`)
				return err
			}
			return nil // the commit meets the cancelled context
		})
		cancel()
		if err == nil {
			t.Fatalf("transaction %d: committed with a cancelled context", i)
		}
	}
	var n, idle int
	for range 40 { // more than the pool holds: each connection is reused
		if err := db.InTx(ctx, func(ctx context.Context) error {
			return db.QueryRow(ctx, `SELECT COUNT(*) FROM cancelled`).Scan(&n)
		}); err != nil {
			t.Fatalf("a transaction after the cancelled ones: %v", err)
		}
	}
	if n != 0 {
		t.Errorf("%d rows kept from cancelled transactions", n)
	}
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM pg_stat_activity
		WHERE application_name = current_setting('application_name') AND state LIKE 'idle in transaction%'`).Scan(&idle); err != nil {
		t.Fatal(err)
	}
	if idle != 0 {
		t.Errorf("%d connections idle inside a transaction", idle)
	}
}
