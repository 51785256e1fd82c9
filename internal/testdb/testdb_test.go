package testdb

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestWithSearchPath(t *testing.T) {
	for _, tc := range []struct {
		name, base string
		want       url.Values // query parameters the result must have, exactly
	}{
		{
			name: "keeps other parameters",
			base: "postgres://u:p@127.0.0.1:5432/db?sslmode=disable&connect_timeout=3",
			want: url.Values{"sslmode": {"disable"}, "connect_timeout": {"3"}, "search_path": {"ks_00"}, "application_name": {"ks_00"}},
		},
		{
			name: "no parameters",
			base: "postgres://u@localhost/db",
			want: url.Values{"search_path": {"ks_00"}, "application_name": {"ks_00"}},
		},
		{
			name: "replaces a search_path",
			base: "postgresql://u:p@h/db?search_path=public&sslmode=require",
			want: url.Values{"sslmode": {"require"}, "search_path": {"ks_00"}, "application_name": {"ks_00"}},
		},
		{
			name: "keeps an application_name",
			base: "postgres://u:p@h/db?application_name=mine",
			want: url.Values{"search_path": {"ks_00"}, "application_name": {"mine"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, err := url.Parse(tc.base)
			if err != nil {
				t.Fatal(err)
			}
			got, err := url.Parse(withSearchPath(base, "ks_00"))
			if err != nil {
				t.Fatal(err)
			}
			if q := got.Query(); q.Encode() != tc.want.Encode() {
				t.Errorf("query = %q, want %q", q.Encode(), tc.want.Encode())
			}
			got.RawQuery, base.RawQuery = "", ""
			if got.String() != base.String() {
				t.Errorf("URL without query = %s, want %s", got, base)
			}
		})
	}

	// What matters in the end is what pgx makes of the URL: search_path must
	// be a runtime parameter sent at connect, and awkward passwords survive.
	base, err := url.Parse("postgres://keyshift_test:p%40ss%2Fw%3Frd@127.0.0.1:5432/keyshift_test?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(withSearchPath(base, "ks_0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.RuntimeParams["search_path"]; got != "ks_0123456789abcdef" {
		t.Errorf("pgx runtime search_path = %q", got)
	}
	if cfg.Password != "p@ss/w?rd" || cfg.User != "keyshift_test" || cfg.Database != "keyshift_test" || cfg.TLSConfig != nil {
		t.Errorf("pgx config: user %q password %q database %q TLS %v", cfg.User, cfg.Password, cfg.Database, cfg.TLSConfig != nil)
	}
}

func TestNewSchemaName(t *testing.T) {
	valid := regexp.MustCompile(`^ks_[0-9a-f]{16}$`)
	seen := map[string]bool{}
	for range 100 {
		name, err := newSchemaName()
		if err != nil {
			t.Fatal(err)
		}
		if !valid.MatchString(name) || seen[name] {
			t.Fatalf("schema name %q: invalid or repeated", name)
		}
		seen[name] = true
	}
}

func TestSQLitePath(t *testing.T) {
	a, b := SQLitePath(t), SQLitePath(t)
	if a == b {
		t.Fatalf("two calls gave the same path %s", a)
	}
	for _, p := range []string{a, b} {
		if !filepath.IsAbs(p) {
			t.Errorf("%s is not absolute", p)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s should not exist yet: %v", p, err)
		}
		if fi, err := os.Stat(filepath.Dir(p)); err != nil || !fi.IsDir() {
			t.Errorf("directory of %s: %v", p, err)
		}
	}
}

func TestEach(t *testing.T) {
	var names []string
	Each(t, func(t *testing.T, database string) {
		name := t.Name()[strings.LastIndex(t.Name(), "/")+1:]
		names = append(names, name)
		switch name {
		case "sqlite":
			if !strings.HasPrefix(database, "sqlite:/") {
				t.Errorf("sqlite database = %q, want sqlite:/ABSOLUTE/PATH", database)
			}
		case "postgres":
			u, err := url.Parse(database)
			if err != nil || u.Scheme != "postgres" || !strings.HasPrefix(u.Query().Get("search_path"), "ks_") {
				t.Errorf("postgres database = %q (%v)", database, err)
			}
		}
	})
	want := "sqlite,postgres"
	if postgresSetting() == "skip" {
		want = "sqlite" // the postgres subtest is skipped before fn runs
	}
	if got := strings.Join(names, ","); got != want {
		t.Errorf("Each ran fn for %s, want %s", got, want)
	}
}

// TestPostgresURL checks what the tests of other packages rely on: tables
// made through the URL land in the new schema, which is gone once the test
// that asked for it has ended.
func TestPostgresURL(t *testing.T) {
	a := requireAdmin(t)
	var schema string
	t.Run("inner", func(t *testing.T) {
		dsn := PostgresURL(t)
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		schema = u.Query().Get("search_path")
		if !schemaExists(t, a, schema) {
			t.Fatalf("schema %s does not exist", schema)
		}

		c := connect(t, dsn)
		var current string
		if err := c.QueryRow(context.Background(), "SELECT current_schema()").Scan(&current); err != nil {
			t.Fatal(err)
		}
		if current != schema {
			t.Errorf("current_schema() = %q, want %q", current, schema)
		}
		if _, err := c.Exec(context.Background(), "CREATE TABLE probe (id int PRIMARY KEY); INSERT INTO probe VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		var in string
		err = c.QueryRow(context.Background(), "SELECT n.nspname FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace WHERE r.relname = 'probe' AND n.nspname = $1", schema).Scan(&in)
		if err != nil {
			t.Errorf("table probe is not in schema %s: %v", schema, err)
		}
		var public *string
		if err := c.QueryRow(context.Background(), "SELECT to_regclass('public.probe')::text").Scan(&public); err != nil {
			t.Fatal(err)
		}
		if public != nil {
			t.Errorf("table probe also landed in public")
		}
	})
	if schema == "" {
		t.Fatal("inner test did not get a schema")
	}
	if schemaExists(t, a, schema) {
		t.Errorf("schema %s still exists after its test ended", schema)
	}
}

// TestPostgresURLParallel makes schemas from parallel tests that all use the
// same table name; none may see another's rows, and none may be left behind.
func TestPostgresURLParallel(t *testing.T) {
	a := requireAdmin(t)
	const n = 8
	schemas := make(chan string, n)
	t.Run("group", func(t *testing.T) {
		for i := range n {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				dsn := PostgresURL(t)
				u, _ := url.Parse(dsn)
				schemas <- u.Query().Get("search_path")
				c := connect(t, dsn)
				ctx := context.Background()
				if _, err := c.Exec(ctx, "CREATE TABLE item (n int)"); err != nil {
					t.Fatal(err)
				}
				if _, err := c.Exec(ctx, "INSERT INTO item VALUES ($1)", i); err != nil {
					t.Fatal(err)
				}
				var count, got int
				if err := c.QueryRow(ctx, "SELECT count(*), max(n) FROM item").Scan(&count, &got); err != nil {
					t.Fatal(err)
				}
				if count != 1 || got != i {
					t.Errorf("item has %d rows, max %d; want only %d", count, got, i)
				}
			})
		}
	})
	close(schemas)
	seen := map[string]bool{}
	for s := range schemas {
		if seen[s] {
			t.Errorf("schema %s handed out twice", s)
		}
		seen[s] = true
		if schemaExists(t, a, s) {
			t.Errorf("schema %s left behind", s)
		}
	}
	if len(seen) != n {
		t.Errorf("got %d schemas, want %d", len(seen), n)
	}
}

// TestDropEndsLeakedTransaction: a test that leaves a transaction open holds
// locks in its schema; the cleanup must still drop the schema, and in bounded
// time, rather than hang the test binary.
func TestDropEndsLeakedTransaction(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the lock timeout")
	}
	a := requireAdmin(t)
	var schema string
	var leaked *pgx.Conn
	start := time.Now()
	t.Run("inner", func(t *testing.T) {
		dsn := PostgresURL(t)
		u, _ := url.Parse(dsn)
		schema = u.Query().Get("search_path")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var err error
		if leaked, err = pgx.Connect(ctx, dsn); err != nil {
			t.Fatal(err)
		}
		if _, err := leaked.Exec(ctx, "BEGIN; CREATE TABLE held (n int); INSERT INTO held VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		// leaked is deliberately neither committed nor closed here.
	})
	if leaked == nil {
		t.Fatal("inner test did not connect")
	}
	defer leaked.Close(context.Background())
	if schemaExists(t, a, schema) {
		t.Errorf("schema %s still exists after its test ended", schema)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("cleanup took %v", d)
	}
	if err := leaked.Ping(context.Background()); err == nil {
		t.Error("the leaked session is still alive")
	}
}

// TestSweep: schemas of ours older than staleAfter go; newer ones and any
// schema without our mark stay.
func TestSweep(t *testing.T) {
	a := requireAdmin(t)
	ctx := context.Background()
	mk := func(comment string) string {
		name, err := newSchemaName()
		if err != nil {
			t.Fatal(err)
		}
		id := pgx.Identifier{name}.Sanitize()
		sql := "CREATE SCHEMA " + id
		if comment != "" {
			sql += "; COMMENT ON SCHEMA " + id + " IS '" + comment + "'"
		}
		if err := a.exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := a.dropSchema(name); err != nil {
				t.Logf("dropping %s: %v", name, err)
			}
		})
		return name
	}
	stamp := func(age time.Duration) string {
		return commentPrefix + time.Now().Add(-age).UTC().Format(time.RFC3339)
	}
	old := mk(stamp(staleAfter + time.Minute))
	recent := mk(stamp(staleAfter - time.Minute))
	foreign := mk("")
	if err := a.sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if schemaExists(t, a, old) {
		t.Errorf("stale schema %s survived the sweep", old)
	}
	for _, s := range []string{recent, foreign} {
		if !schemaExists(t, a, s) {
			t.Errorf("sweep dropped %s", s)
		}
	}
}

func TestSkip(t *testing.T) {
	t.Setenv(EnvPostgres, "skip")
	var inner *testing.T
	reached := false
	t.Run("inner", func(t *testing.T) {
		inner = t
		PostgresURL(t)
		reached = true
	})
	if !inner.Skipped() || reached {
		t.Errorf("with %s=skip: skipped %v, went on past PostgresURL %v", EnvPostgres, inner.Skipped(), reached)
	}
}

func TestUnusableServer(t *testing.T) {
	start := time.Now()
	// Port 1 on loopback: nothing listens, so this fails at once.
	_, err := newAdmin("postgres://keyshift_test:sekret@127.0.0.1:1/keyshift_test?sslmode=disable")
	if err == nil {
		t.Fatal("newAdmin succeeded against a closed port")
	}
	if d := time.Since(start); d > connectTimeout+2*time.Second {
		t.Errorf("failing took %v", d)
	}
	msg := unusableMessage("postgres://keyshift_test:sekret@127.0.0.1:1/keyshift_test", err)
	if strings.Contains(msg, "sekret") || !strings.Contains(msg, "run scripts/test") || !strings.Contains(msg, EnvPostgres) || strings.Contains(msg, "\n") {
		t.Errorf("message is not one clear, password-free line: %s", msg)
	}

	for _, bad := range []string{"host=127.0.0.1 user=x", "mysql://x@h/db", "postgres:///db"} {
		if _, err := newAdmin(bad); err == nil {
			t.Errorf("newAdmin(%q) succeeded", bad)
		}
	}
}

// requireAdmin returns the shared admin, or skips or fails t as PostgresURL
// would.
func requireAdmin(t *testing.T) *admin {
	t.Helper()
	raw := postgresSetting()
	if raw == "skip" {
		t.Skip(EnvPostgres + "=skip")
	}
	a, err := sharedAdmin()
	if err != nil {
		t.Fatal(unusableMessage(raw, err))
	}
	return a
}

func schemaExists(t *testing.T, a *admin, schema string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := a.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.release(c)
	var exists bool
	if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	return exists
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	// Registered after PostgresURL's cleanup, so it runs first: the
	// connection is closed before the schema is dropped, as in real tests.
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}
