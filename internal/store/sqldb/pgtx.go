package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgTx is a PostgreSQL transaction that keyshift runs itself, on one
// connection of the pool, instead of database/sql's Tx — to spend fewer
// round trips. Every round trip costs keyshift and the PostgreSQL backend a
// write, a wake-up and a read; on the machine of docs/benchmarks.md that was
// a third of a sign-in's CPU. So statements wait in memory and travel
// together, in one pgx batch (one pipeline, one Sync):
//
//   - the BEGIN waits for the transaction's first statement;
//   - the writes nothing in the transaction reads back (an audit event, a
//     telemetry event, a failure count: ExecLater) wait for the next
//     statement, or the COMMIT;
//   - an Exec goes with what waits before it, and answers with its own
//     count of rows.
//
// A Query or QueryRow needs database/sql's rows, so what waits goes first
// in a round trip of its own (flush). Order is kept either way: nothing
// later in the transaction misses an earlier write, and a savepoint's
// ROLLBACK TO undoes what was queued inside the savepoint. A queued write
// that fails fails the statement that sent it, or the commit; either way the
// transaction is rolled back.
type pgTx struct {
	conn *sql.Conn

	mu      sync.Mutex
	pending []queued
	begun   bool // the BEGIN has been sent
}

// queued is a statement waiting for the next round trip.
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
	t := &pgTx{conn: conn, pending: []queued{{query: "BEGIN"}}}
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
	if err = t.commit(ctx); err != nil {
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

// take empties the queue and returns what was in it, noting a BEGIN sent.
func (t *pgTx) take() []queued {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.pending
	t.pending = nil
	if len(out) > 0 && out[0].query == "BEGIN" && !t.begun {
		t.begun = true
	}
	return out
}

// flush sends what waits, if anything, before a statement that runs on its
// own.
func (t *pgTx) flush(ctx context.Context) error {
	if qs := t.take(); len(qs) > 0 {
		_, err := t.send(ctx, qs)
		return err
	}
	return nil
}

// exec runs query after what waits, in the same round trip.
func (t *pgTx) exec(ctx context.Context, query string, args []any) (sql.Result, error) {
	qs := append(t.take(), queued{query, args})
	tag, err := t.send(ctx, qs)
	if err != nil {
		return nil, err
	}
	return pgResult(tag.RowsAffected()), nil
}

// commit sends what waits with the COMMIT. A transaction that never sent
// its BEGIN wrote nothing: there is nothing to send. A COMMIT of a
// transaction that had already failed — a statement's error the caller
// chose to ignore — answers ROLLBACK, which is an error here as in pgx's
// own Tx.Commit.
func (t *pgTx) commit(ctx context.Context) error {
	qs := t.take()
	if len(qs) == 1 && qs[0].query == "BEGIN" {
		t.begun = false
		return nil
	}
	tag, err := t.send(ctx, append(qs, queued{query: "COMMIT"}))
	if err == nil && tag.String() == "ROLLBACK" {
		err = pgx.ErrTxCommitRollback
	}
	return err
}

// send sends qs in one round trip and returns the last one's command tag.
// PostgreSQL skips what follows a failed statement, so a failure leaves the
// transaction open and aborted, for the rollback.
func (t *pgTx) send(ctx context.Context, qs []queued) (pgconn.CommandTag, error) {
	var last pgconn.CommandTag
	err := t.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("sqldb: a PostgreSQL connection of type %T", dc)
		}
		b := &pgx.Batch{}
		for _, q := range qs {
			b.Queue(q.query, q.args...)
		}
		br := c.Conn().SendBatch(ctx, b)
		var err error
		for range b.Len() {
			if last, err = br.Exec(); err != nil {
				break
			}
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		return err
	})
	return last, err
}

// rollback ends the transaction after a failure, whatever its context says:
// the connection must not go back to the pool inside it.
func (t *pgTx) rollback() {
	t.mu.Lock()
	t.pending = nil
	begun := t.begun
	t.mu.Unlock()
	if begun {
		t.conn.ExecContext(context.Background(), "ROLLBACK")
	}
}

// pgResult is the sql.Result of an Exec sent in a batch: PostgreSQL has no
// last insert id.
type pgResult int64

func (r pgResult) RowsAffected() (int64, error) { return int64(r), nil }
func (r pgResult) LastInsertId() (int64, error) {
	return 0, fmt.Errorf("sqldb: PostgreSQL has no last insert id: use RETURNING")
}

// ExecLater runs a write whose outcome nothing reads: on PostgreSQL inside
// InTx it waits for the transaction's next round trip (the next statement
// that runs at once, or the COMMIT) and its failure fails the transaction
// there; anywhere else it runs at once, as Exec. Only for statements whose
// failure no caller handles: no unique key to meet (an INSERT into a table
// without one, an upsert with ON CONFLICT), no row count to read.
func (db *DB) ExecLater(ctx context.Context, query string, args ...any) error {
	if t, ok := ctx.Value(txKey{}).(*pgTx); ok {
		t.later(db.q(query), args)
		return nil
	}
	_, err := db.Exec(ctx, query, args...)
	return err
}

// Append runs insert — an INSERT into a table whose id column nothing in a
// flow reads — through ExecLater, reading the new row's id into id when the
// row is written at once (SQLite, or outside a transaction); when it waits
// for the COMMIT, id is left as it was.
func (db *DB) Append(ctx context.Context, id *int64, insert string, args ...any) error {
	if _, ok := ctx.Value(txKey{}).(*pgTx); ok {
		return db.ExecLater(ctx, insert, args...)
	}
	return db.QueryRowW(ctx, insert+` RETURNING id`, args...).Scan(id)
}
