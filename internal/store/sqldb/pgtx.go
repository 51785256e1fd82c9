package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgTx is a PostgreSQL transaction that keyshift runs itself, on one
// connection of the pool, instead of database/sql's Tx — for one reason:
// the writes nothing in the transaction reads back (an audit event, a
// telemetry event, a failure count: ExecLater) wait in memory and reach the
// server together, in one round trip with the COMMIT. Every round trip
// costs keyshift and the PostgreSQL backend a write, a wake-up and a read;
// on the machine of docs/benchmarks.md that was a third of a sign-in's CPU.
//
// Order is kept: a statement that runs at once first sends what waits
// (flush), so nothing later in the transaction misses an earlier write, and
// a savepoint's ROLLBACK TO undoes what was queued inside the savepoint. A
// queued write that fails fails the statement that sent it, or the commit;
// either way the transaction is rolled back.
type pgTx struct {
	conn *sql.Conn

	mu      sync.Mutex
	pending []queued
}

// queued is a statement ExecLater keeps for the next round trip.
type queued struct {
	query string // rebound for PostgreSQL
	args  []any
}

// pgInTx is InTx on PostgreSQL.
func (db *DB) pgInTx(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// Back to the pool last, after the rollback below. A connection that
	// still holds an open transaction (the rollback failed) is discarded
	// by the driver before it is used again (stdlib's ResetSession).
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	t := &pgTx{conn: conn}
	defer func() {
		if p := recover(); p != nil {
			t.rollback()
			panic(p)
		}
		if err != nil {
			t.rollback()
		}
	}()
	if err = fn(context.WithValue(ctx, txKey{}, t)); err != nil {
		return err
	}
	if err = t.send(ctx, true); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// later queues a statement for the next round trip.
func (t *pgTx) later(query string, args []any) {
	t.mu.Lock()
	t.pending = append(t.pending, queued{query, args})
	t.mu.Unlock()
}

// flush sends the queued statements, if any, before a statement that runs
// at once.
func (t *pgTx) flush(ctx context.Context) error {
	t.mu.Lock()
	n := len(t.pending)
	t.mu.Unlock()
	if n == 0 {
		return nil
	}
	return t.send(ctx, false)
}

// send sends the queued statements, and the COMMIT when commit, in one
// round trip (a pgx batch: one pipeline, one Sync). PostgreSQL skips what
// follows a failed statement, so a failure leaves the transaction open and
// aborted for the rollback; a COMMIT of a transaction that had already
// failed — a statement's error the caller chose to ignore — answers
// ROLLBACK, which is an error here as in pgx's own Tx.Commit.
func (t *pgTx) send(ctx context.Context, commit bool) error {
	t.mu.Lock()
	pending := t.pending
	t.pending = nil
	t.mu.Unlock()
	return t.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("sqldb: a PostgreSQL connection of type %T", dc)
		}
		b := &pgx.Batch{}
		for _, q := range pending {
			b.Queue(q.query, q.args...)
		}
		if commit {
			b.Queue("COMMIT")
		}
		br := c.Conn().SendBatch(ctx, b)
		var err error
		for i := range b.Len() {
			tag, e := br.Exec()
			if e != nil {
				err = e
				break
			}
			if commit && i == b.Len()-1 && tag.String() == "ROLLBACK" {
				err = pgx.ErrTxCommitRollback
			}
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// rollback ends the transaction after a failure, whatever its context says:
// the connection must not go back to the pool inside it.
func (t *pgTx) rollback() {
	t.mu.Lock()
	t.pending = nil
	t.mu.Unlock()
	t.conn.ExecContext(context.Background(), "ROLLBACK")
}

// ExecLater runs a write whose outcome nothing reads: on PostgreSQL inside
// InTx it waits for the transaction's next round trip (the next statement
// that runs at once, or the COMMIT) and its failure fails the transaction
// there; anywhere else it runs at once, as Exec. Only for statements whose
// failure no caller handles — an INSERT into a table without unique keys.
func (db *DB) ExecLater(ctx context.Context, query string, args ...any) error {
	if t, ok := ctx.Value(txKey{}).(*pgTx); ok {
		t.later(db.q(query), args)
		return nil
	}
	_, err := db.Exec(ctx, query, args...)
	return err
}

// Defers reports whether ExecLater in ctx waits rather than runs: a store
// method that would read back what it wrote (an id) skips that when so.
func (db *DB) Defers(ctx context.Context) bool {
	_, ok := ctx.Value(txKey{}).(*pgTx)
	return ok
}
