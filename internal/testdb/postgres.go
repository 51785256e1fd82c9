package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnvPostgres is the environment variable naming the PostgreSQL database tests
// make their schemas in: a postgres:// URL whose user may create schemas
// there, or the word "skip" to skip every PostgreSQL test.
const EnvPostgres = "KEYSHIFT_TEST_POSTGRES"

// DefaultPostgresURL is used when EnvPostgres is unset or empty. scripts/test
// creates this role and database on the local server.
const DefaultPostgresURL = "postgres://keyshift_test:keyshift_test@127.0.0.1:5432/keyshift_test?sslmode=disable"

const (
	// connectTimeout bounds each connection attempt, so a missing server fails
	// a test in seconds instead of hanging until go test's -timeout.
	connectTimeout = 5 * time.Second
	// opTimeout bounds creating or dropping one schema.
	opTimeout = 30 * time.Second
	// lockTimeout is how long the admin connection waits for a lock. A
	// connection a test leaked inside an open transaction holds locks on its
	// schema's tables; without this, DROP SCHEMA would wait for it forever.
	lockTimeout = "5s"
	// staleAfter is the age past which a leftover schema is dropped by the
	// next test process. Cleanups do not run when a test binary is killed
	// (go test's -timeout, Ctrl-C), and no test runs this long.
	staleAfter = 3 * time.Hour
	// schemaPrefix starts every schema testdb makes, and only those.
	schemaPrefix = "ks_"
	// commentPrefix starts the comment on every schema testdb makes; the
	// creation time follows, for the stale-schema sweep.
	commentPrefix = "keyshift testdb, created "
	// maxIdle is how many admin connections stay open between uses.
	maxIdle = 4
)

// PostgresURL returns the URL of a fresh, empty PostgreSQL schema for this
// test: a new schema ks_<random hex> in the KEYSHIFT_TEST_POSTGRES database,
// selected by a search_path query parameter that pgx sends as a runtime
// parameter, so unqualified names in every connection made from the URL
// resolve to that schema alone. The URL keeps the other query parameters of
// KEYSHIFT_TEST_POSTGRES and, unless one is given there, sets application_name
// to the schema name (it shows in pg_stat_activity, and lets the cleanup end
// sessions the test leaked). The schema is dropped, with everything in it,
// when the test ends.
//
// If KEYSHIFT_TEST_POSTGRES is "skip", PostgresURL skips the test. If the
// server cannot be used, it fails the test with one line saying how to fix it.
// It is safe to call from parallel tests.
func PostgresURL(t testing.TB) string {
	t.Helper()
	raw := postgresSetting()
	if raw == "skip" {
		t.Skip("testdb: " + EnvPostgres + "=skip, so PostgreSQL tests are skipped")
	}
	a, err := sharedAdmin()
	if err != nil {
		t.Fatal(unusableMessage(raw, err))
	}
	schema, err := newSchemaName()
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := a.createSchema(ctx, schema); err != nil {
		t.Fatalf("testdb: creating schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if err := a.dropSchema(schema); err != nil {
			// Nothing else can be done now; the next test process's
			// stale-schema sweep drops it once it is old enough.
			t.Logf("testdb: could not drop schema %s, left behind: %v", schema, err)
		}
	})
	return withSearchPath(a.base, schema)
}

// postgresSetting returns KEYSHIFT_TEST_POSTGRES, or DefaultPostgresURL when it
// is unset or empty.
func postgresSetting() string {
	if v := strings.TrimSpace(os.Getenv(EnvPostgres)); v != "" {
		return v
	}
	return DefaultPostgresURL
}

// unusableMessage is the one line a test fails with when PostgreSQL cannot be
// used; it tells a developer what to do about it.
func unusableMessage(raw string, err error) string {
	where := raw
	if u, perr := url.Parse(raw); perr == nil {
		where = u.Redacted() // the password must not end up in CI logs
	}
	return fmt.Sprintf("testdb: cannot use PostgreSQL at %s (%v): run scripts/test, which starts PostgreSQL, "+
		"or set %s to a postgres:// URL (or to skip)", where, err, EnvPostgres)
}

// sharedAdmin is the one admin connection pool of this test process. Made on
// first use from KEYSHIFT_TEST_POSTGRES as it was then; once it has failed,
// every later call fails at once with the same error instead of waiting out
// the connect timeout again.
var sharedAdmin = sync.OnceValues(func() (*admin, error) {
	return newAdmin(postgresSetting())
})

// admin creates and drops schemas. A few reused pgx connections are all it
// needs (creating or dropping a schema takes milliseconds), so it does not use
// pgxpool, which keeps testdb's dependencies to pgx's core packages.
type admin struct {
	base *url.URL         // KEYSHIFT_TEST_POSTGRES, parsed
	cfg  *pgx.ConnConfig  // for new admin connections
	idle chan *pgx.Conn   // idle connections ready for reuse
	now  func() time.Time // the clock of the stale-schema sweep
}

// newAdmin checks that raw is a usable postgres:// URL and that its server
// answers, and sweeps stale schemas left by killed test processes.
func newAdmin(raw string) (*admin, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		// net/url is how search_path gets added, so a key=value DSN
		// cannot be used here.
		return nil, errors.New("not a postgres://user:password@host:port/database URL")
	}
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > connectTimeout {
		cfg.ConnectTimeout = connectTimeout
	}
	cfg.RuntimeParams["lock_timeout"] = lockTimeout
	cfg.RuntimeParams["application_name"] = "keyshift testdb admin"
	a := &admin{base: u, cfg: cfg, idle: make(chan *pgx.Conn, maxIdle), now: time.Now}

	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	c, err := a.acquire(ctx)
	if err != nil {
		return nil, err
	}
	a.release(c)
	// Best effort: a failed sweep only leaves clutter, which must not fail
	// the tests of this process.
	_ = a.sweep(ctx)
	return a, nil
}

// acquire returns an idle connection or a new one.
func (a *admin) acquire(ctx context.Context) (*pgx.Conn, error) {
	for {
		select {
		case c := <-a.idle:
			if !c.IsClosed() {
				return c, nil
			}
		default:
			return pgx.ConnectConfig(ctx, a.cfg)
		}
	}
}

// release keeps c for reuse when it is healthy and there is room. pgx closes a
// connection whose query was cancelled, and one left inside a transaction
// would break the next user, so those are not kept.
func (a *admin) release(c *pgx.Conn) {
	if !c.IsClosed() && c.PgConn().TxStatus() == 'I' {
		select {
		case a.idle <- c:
			return
		default:
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = c.Close(ctx)
}

// exec runs sql on an admin connection.
func (a *admin) exec(ctx context.Context, sql string, args ...any) error {
	c, err := a.acquire(ctx)
	if err != nil {
		return err
	}
	defer a.release(c)
	_, err = c.Exec(ctx, sql, args...)
	return err
}

// createSchema creates schema and marks it with its creation time. Both
// statements go in one simple-protocol message, which PostgreSQL runs as one
// transaction: no schema ever exists without the mark the sweep relies on.
func (a *admin) createSchema(ctx context.Context, schema string) error {
	id := pgx.Identifier{schema}.Sanitize()
	comment := commentPrefix + a.now().UTC().Format(time.RFC3339)
	return a.exec(ctx, "CREATE SCHEMA "+id+"; COMMENT ON SCHEMA "+id+" IS '"+comment+"'")
}

// dropSchema drops schema and everything in it. If a session the test leaked
// holds locks that block the drop past lockTimeout, it ends the sessions that
// the URL's application_name identifies as this test's and tries once more.
func (a *admin) dropSchema(schema string) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	drop := "DROP SCHEMA IF EXISTS " + pgx.Identifier{schema}.Sanitize() + " CASCADE"
	err := a.exec(ctx, drop)
	var pgErr *pgconn.PgError
	if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55P03" { // lock_not_available
		return err
	}
	if terr := a.exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "+
		"WHERE application_name = $1 AND pid <> pg_backend_pid()", schema); terr != nil {
		return fmt.Errorf("%w; then ending the test's sessions: %v", err, terr)
	}
	return a.exec(ctx, drop)
}

// sweep drops testdb schemas older than staleAfter: those whose test process
// was killed before its cleanups ran.
func (a *admin) sweep(ctx context.Context) error {
	c, err := a.acquire(ctx)
	if err != nil {
		return err
	}
	rows, err := c.Query(ctx, `SELECT nspname, coalesce(obj_description(oid, 'pg_namespace'), '')
		FROM pg_namespace WHERE starts_with(nspname, $1)`, schemaPrefix)
	if err != nil {
		a.release(c)
		return err
	}
	var stale []string
	for rows.Next() {
		var name, comment string
		if err := rows.Scan(&name, &comment); err != nil {
			rows.Close()
			a.release(c)
			return err
		}
		stamp, ok := strings.CutPrefix(comment, commentPrefix)
		if !ok {
			continue // not one of ours: leave it alone
		}
		if created, err := time.Parse(time.RFC3339, stamp); err == nil && a.now().Sub(created) > staleAfter {
			stale = append(stale, name)
		}
	}
	err = rows.Err()
	a.release(c)
	if err != nil {
		return err
	}
	for _, name := range stale {
		if err := a.dropSchema(name); err != nil {
			return err
		}
	}
	return nil
}

// newSchemaName returns ks_ and 16 random hex digits: a name that needs no
// quoting and that parallel tests and processes will not both pick.
func newSchemaName() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random schema name: %w", err)
	}
	return schemaPrefix + hex.EncodeToString(b[:]), nil
}

// withSearchPath returns base with search_path set to schema, keeping its
// other query parameters. It also sets application_name to schema unless base
// already has one.
func withSearchPath(base *url.URL, schema string) string {
	u := *base
	q := u.Query()
	q.Set("search_path", schema)
	if q.Get("application_name") == "" {
		q.Set("application_name", schema)
	}
	u.RawQuery = q.Encode()
	return u.String()
}
