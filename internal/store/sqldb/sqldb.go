// Package sqldb is the SQL core of keyshift's store: the connections to
// SQLite or PostgreSQL, transactions carried by the context, the dialect
// value that rewrites "?" placeholders and converts times and booleans where
// the two databases differ, prepared statements, the embedded schema
// migrations, and backups. Package store and its query packages write their
// queries once, on top of it.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/keyshift/keyshift/internal/config"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DB is a connection to a keyshift database. It is safe for concurrent use.
type DB struct {
	dialect dialect
	// w takes every write. For SQLite it is one connection with BEGIN
	// IMMEDIATE, so writers queue in Go instead of failing with SQLITE_BUSY;
	// for PostgreSQL w and r are the same pool.
	w *sql.DB
	r *sql.DB

	queries sync.Map // query text with ? → text for this dialect
	stmts   sync.Map // stmtKey → *sql.Stmt (SQLite only)
	missed  sync.Map // query → struct{}: ran unprepared in a transaction (SQLite only)

	ckpt *checkpointer // SQLite only: checkpoints off the writer (checkpoint.go)
	// commit is SQLite's group committer (groupcommit.go); nil on
	// PostgreSQL.
	commit *committer

	madePrivate []string // SQLite files whose mode Open tightened (filemode.go)
	sqlitePath  string   // the SQLite file, for BackupSQLite
}

// OpenNoMigrate connects to database ("sqlite:PATH" or a postgres:// URL)
// and checks that it answers, without touching the schema (Migrate applies
// the migrations).
func OpenNoMigrate(ctx context.Context, database string) (*DB, error) {
	var db *DB
	var err error
	switch {
	case strings.HasPrefix(database, "sqlite:"):
		db, err = openSQLite(strings.TrimPrefix(database, "sqlite:"))
	case strings.HasPrefix(database, "postgres://"), strings.HasPrefix(database, "postgresql://"):
		db, err = openPostgres(database)
	default:
		return nil, fmt.Errorf("database: %q is neither sqlite:PATH nor a postgres:// URL", redact(database))
	}
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.ping(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s is unreachable: %w", redact(database), err)
	}
	return db, nil
}

// ping connects the writer. While one process turns a fresh SQLite file to
// WAL, others opening it get SQLITE_BUSY at once, without waiting out
// busy_timeout (nodes starting together hit this): they try again shortly.
func (db *DB) ping(ctx context.Context) error {
	for {
		err := db.w.PingContext(ctx)
		if !isSQLiteBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func openSQLite(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("database: sqlite: needs a file path, e.g. sqlite:keyshift.db")
	}
	madePrivate, err := privateSQLiteFiles(path)
	if err != nil {
		return nil, err
	}
	// Pragmas go in the DSN so every pooled connection gets them. WAL lets
	// readers run beside the writer; synchronous=NORMAL is durable across
	// process crashes in WAL mode (an OS crash may lose the last commits).
	params := "_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)"
	u := "file:" + (&url.URL{Path: path}).EscapedPath()
	// The writer never checkpoints: a goroutine does (checkpoint.go). When
	// SQLite starts the WAL over it cuts the file back to walBound, so a
	// burst's WAL does not keep its disk space for good. Its sub-journals
	// stay in memory (temp_store): each transaction of a group commit runs
	// in a savepoint (groupcommit.go) whose journal of the pages it changes
	// — about 60 KiB for a sign-in — otherwise spilled to a temporary file
	// past 64 KiB and stayed a file for the rest of the group, one pwrite
	// a page: 12 % of a sign-in's CPU. Large sorts (CREATE INDEX) still
	// spill to files: SQLite's sorter does not follow temp_store.
	w, err := sql.Open("sqlite", fmt.Sprintf("%s?%s&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(%d)&_pragma=temp_store(2)&_txlock=immediate", u, params, walBound.Load()))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", u+"?"+params+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	r.SetConnMaxLifetime(0)
	ck, err := sql.Open("sqlite", u+"?"+params)
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	ck.SetMaxOpenConns(1)
	ck.SetConnMaxLifetime(0)
	db := &DB{dialect: sqliteDialect{}, w: w, r: r, ckpt: startCheckpointer(ck, w), madePrivate: madePrivate, sqlitePath: path}
	db.commit = startCommitter(w, db.prepareMissed)
	return db, nil
}

func openPostgres(dsn string) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database %s: cannot parse it as a PostgreSQL URL (check its escapes and port)", redact(dsn))
	}
	// No JIT compilation unless the URL asks for it (…?jit=on): keyshift's
	// statements are short, but on large tables the planner's cost passes
	// jit_above_cost and PostgreSQL compiles each execution. An export of 10
	// million members spent 24 ms compiling every page's 1 ms query.
	if _, set := cfg.RuntimeParams["jit"]; !set {
		cfg.RuntimeParams["jit"] = "off"
	}
	p := stdlib.OpenDB(*cfg)
	p.SetMaxOpenConns(16)
	p.SetMaxIdleConns(16)
	p.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{dialect: postgresDialect{}, w: p, r: p}, nil
}

// redact hides a password in a database URL before it reaches a log line.
func redact(database string) string { return config.Redact(database) }

// Close releases the connections.
func (db *DB) Close() error {
	db.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	var err error
	if db.commit != nil {
		db.commit.close()
	}
	if db.ckpt != nil {
		err = db.ckpt.close()
	}
	err = errors.Join(err, db.w.Close())
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	return err
}

// Dialect names the database: "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect.name() }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.r.PingContext(ctx) }

type txKey struct{}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// InTx runs fn in a transaction. Queries made with the ctx fn receives join
// it; a nested InTx joins the outer transaction. On SQLite the transaction
// may share its COMMIT with others queued beside it (groupcommit.go); on
// PostgreSQL the writes queued with ExecLater travel with the COMMIT
// (pgtx.go). Either way fn's writes are all or nothing, and kept once InTx
// returns nil.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	if ctx.Value(txKey{}) != nil {
		return fn(ctx)
	}
	if db.commit != nil {
		return db.commit.inTx(ctx, fn)
	}
	if db.dialect.name() == "postgres" {
		return db.pgInTx(ctx, fn)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer db.prepareMissed(ctx) // runs once the transaction has ended
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
		if err != nil {
			tx.Rollback()
		}
	}()
	if err = fn(context.WithValue(ctx, txKey{}, tx)); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// writer returns what runs a statement on the writer as it is: the
// transaction in ctx (on PostgreSQL after sending what waits in it) or the
// write pool.
func (db *DB) writer(ctx context.Context) (querier, error) {
	switch tx := ctx.Value(txKey{}).(type) {
	case *sql.Tx:
		return tx, nil
	case *pgTx:
		return tx.conn, tx.flush(ctx)
	}
	return db.w, nil
}

// q returns query rewritten for the dialect, cached.
func (db *DB) q(query string) string {
	if v, ok := db.queries.Load(query); ok {
		return v.(string)
	}
	out := db.dialect.rebind(query)
	db.queries.Store(query, out)
	return out
}

// SQLite's pure-Go parser is the largest cost of a small query, so SQLite
// statements are prepared once per connection and reused (database/sql keeps
// one prepared copy per connection). pgx caches prepared statements by itself,
// so PostgreSQL queries go straight through.
func (db *DB) prepared(ctx context.Context, pool *sql.DB, query string) (*sql.Stmt, error) {
	key := stmtKey{pool, query}
	if v, ok := db.stmts.Load(key); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := pool.PrepareContext(ctx, db.q(query))
	if err != nil {
		return nil, err
	}
	if v, loaded := db.stmts.LoadOrStore(key, st); loaded {
		st.Close()
		return v.(*sql.Stmt), nil
	}
	return st, nil
}

type stmtKey struct {
	pool  *sql.DB
	query string
}

// on returns what to run query on: the transaction in ctx or pool, through
// a prepared statement where that pays.
func (db *DB) on(ctx context.Context, pool *sql.DB, query string) (querier, string, error) {
	if t, ok := ctx.Value(txKey{}).(*pgTx); ok {
		return t.conn, db.q(query), t.flush(ctx)
	}
	tx, inTx := ctx.Value(txKey{}).(*sql.Tx)
	if db.dialect.name() != "sqlite" {
		return pool, db.q(query), nil
	}
	if inTx {
		// The transaction holds the writer's only connection, so nothing
		// can be prepared on the pool now; reuse a statement prepared
		// earlier outside a transaction, else run the text.
		if v, ok := db.stmts.Load(stmtKey{db.w, query}); ok {
			return stmtQuerier{tx.StmtContext(ctx, v.(*sql.Stmt))}, "", nil
		}
		db.missed.Store(query, struct{}{})
		return tx, db.q(query), nil
	}
	st, err := db.prepared(ctx, pool, query)
	if err != nil {
		return nil, "", err
	}
	return stmtQuerier{st}, "", nil
}

// prepareMissed prepares on the writer the statements that ran unprepared
// inside a transaction, now that the transaction has given the connection
// back, so later transactions reuse them instead of parsing them again.
func (db *DB) prepareMissed(ctx context.Context) {
	db.missed.Range(func(query, _ any) bool {
		db.missed.Delete(query)
		db.prepared(context.WithoutCancel(ctx), db.w, query.(string)) // on failure the next transaction parses again
		return true
	})
}

// stmtQuerier lets a prepared statement stand where a querier goes; the
// query text is ignored.
type stmtQuerier struct{ st *sql.Stmt }

func (s stmtQuerier) ExecContext(ctx context.Context, _ string, args ...any) (sql.Result, error) {
	return s.st.ExecContext(ctx, args...)
}

func (s stmtQuerier) QueryContext(ctx context.Context, _ string, args ...any) (*sql.Rows, error) {
	return s.st.QueryContext(ctx, args...)
}

func (s stmtQuerier) QueryRowContext(ctx context.Context, _ string, args ...any) *sql.Row {
	return s.st.QueryRowContext(ctx, args...)
}

func (db *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if t, ok := ctx.Value(txKey{}).(*pgTx); ok {
		return t.exec(ctx, db.q(query), args)
	}
	q, text, err := db.on(ctx, db.w, query)
	if err != nil {
		return nil, err
	}
	return q.ExecContext(ctx, text, args...)
}

func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	q, text, err := db.on(ctx, db.r, query)
	if err != nil {
		return nil, err
	}
	return q.QueryContext(ctx, text, args...)
}

// queryRow runs a single-row query on the read pool (or the transaction).
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) Row {
	return db.queryRowOn(ctx, db.r, query, args...)
}

// queryRowW is queryRow on the writer, for INSERT … RETURNING.
func (db *DB) QueryRowW(ctx context.Context, query string, args ...any) Row {
	return db.queryRowOn(ctx, db.w, query, args...)
}

func (db *DB) queryRowOn(ctx context.Context, pool *sql.DB, query string, args ...any) Row {
	q, text, err := db.on(ctx, pool, query)
	if err != nil {
		return errRow{err}
	}
	return q.QueryRowContext(ctx, text, args...)
}

// Row is *sql.Row, or errRow when preparing failed.
type Row interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// InTransaction reports whether ctx carries a transaction (InTx).
func InTransaction(ctx context.Context) bool {
	return ctx.Value(txKey{}) != nil
}

// Savepoint runs fn inside a savepoint of the transaction in ctx: fn's error
// undoes what fn wrote and leaves the transaction usable.
func (db *DB) Savepoint(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	if _, err := db.Exec(ctx, `SAVEPOINT `+name); err != nil {
		return err
	}
	if err := fn(ctx); err != nil {
		if _, rerr := db.Exec(ctx, `ROLLBACK TO SAVEPOINT `+name); rerr != nil {
			return errors.Join(err, rerr)
		}
		if _, rerr := db.Exec(ctx, `RELEASE SAVEPOINT `+name); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	_, err := db.Exec(ctx, `RELEASE SAVEPOINT `+name)
	return err
}

// Atomically runs fn so that its writes happen all or not at all: in a
// savepoint of the transaction in ctx (whose failure leaves that
// transaction usable, even on PostgreSQL after a unique violation), or in a
// transaction of its own.
func (db *DB) Atomically(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	if InTransaction(ctx) {
		return db.Savepoint(ctx, name, fn)
	}
	return db.InTx(ctx, fn)
}

// BeginSnapshot begins a read-only transaction on the read pool that sees
// one snapshot for all its statements (an export reads a consistent whole).
// Its statements are prepared with Rebind.
func (db *DB) BeginSnapshot(ctx context.Context) (*sql.Tx, error) {
	return db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: db.dialect.snapshotIsolation()})
}

// Rebind returns query with its "?" placeholders in the dialect's form.
func (db *DB) Rebind(query string) string { return db.q(query) }

// QueryW is Query on the writer, for UPDATE … RETURNING of many rows.
func (db *DB) QueryW(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	q, text, err := db.on(ctx, db.w, query)
	if err != nil {
		return nil, err
	}
	return q.QueryContext(ctx, text, args...)
}

// ExecUnprepared runs text on the writer as it is — several statements, no
// arguments, never prepared (SQLite PRAGMAs).
func (db *DB) ExecUnprepared(ctx context.Context, text string) error {
	_, err := db.w.ExecContext(ctx, text)
	return err
}
