package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
)

// BackupSQLite writes a consistent copy of a running SQLite database to
// dest with VACUUM INTO: one read transaction, so the copy is the database
// as of one commit while writers go on (WAL mode). dest must not exist.
// The caller makes dest private before anyone can read it (package
// backup writes into a directory of its own).
func (db *DB) BackupSQLite(ctx context.Context, dest string) error {
	if db.Dialect() != "sqlite" {
		return fmt.Errorf("backup: VACUUM INTO is SQLite's; this database is %s", db.Dialect())
	}
	// A connection of its own: the readers are query_only, which refuses
	// VACUUM INTO, and the single writer must go on serving meanwhile.
	// VACUUM INTO reads in one transaction and writes only the new file.
	c, err := sql.Open("sqlite", "file:"+(&url.URL{Path: db.sqlitePath}).EscapedPath()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.ExecContext(ctx, "VACUUM INTO ?", dest)
	return err
}

// Empty reports whether the database holds no table yet: on PostgreSQL, in
// the schema the connection uses (its search_path's first schema).
func (db *DB) Empty(ctx context.Context) (bool, error) {
	q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	if db.Dialect() == "postgres" {
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()"
	}
	var n int
	if err := db.r.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return false, err
	}
	return n == 0, nil
}

// CurrentSchema is the PostgreSQL schema keyshift's tables live in: the
// first of the connection's search_path that exists.
func (db *DB) CurrentSchema(ctx context.Context) (string, error) {
	var s *string
	if err := db.r.QueryRowContext(ctx, "SELECT current_schema()").Scan(&s); err != nil {
		return "", err
	}
	if s == nil {
		return "", fmt.Errorf("no schema of the search_path exists")
	}
	return *s, nil
}

// PostgresTool turns keyshift's PostgreSQL URL into what pg_dump and
// pg_restore take: a libpq URL without the password (it goes in PGPASSWORD,
// so it never shows in the process list) and without the parameters only
// pgx knows; search_path becomes PGOPTIONS. shown is the URL to print, with
// the password as $PGPASSWORD.
func PostgresTool(dsn string) (libpq string, env []string, shown string, err error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, "", fmt.Errorf("%s is not a postgres:// URL", redact(dsn))
	}
	c := *u
	if c.User != nil {
		if p, ok := c.User.Password(); ok {
			env = append(env, "PGPASSWORD="+p)
		}
		c.User = url.User(c.User.Username())
	}
	q := c.Query()
	out := url.Values{}
	for k, vs := range q {
		switch {
		case k == "search_path":
			env = append(env, "PGOPTIONS=-c search_path="+strings.Join(vs, ","))
		case libpqParams[k]:
			out[k] = vs
		}
	}
	c.RawQuery = out.Encode()
	libpq = c.String()
	shown = libpq
	for _, kv := range env {
		if strings.HasPrefix(kv, "PGOPTIONS=") {
			shown = "PGOPTIONS='" + strings.TrimPrefix(kv, "PGOPTIONS=") + "' " + shown
		}
	}
	return libpq, env, shown, nil
}

// libpqParams are the URL parameters libpq understands that keyshift's
// URLs may carry; pgx's own (pool sizes, statement cache) are dropped.
var libpqParams = map[string]bool{
	"sslmode": true, "sslrootcert": true, "sslcert": true, "sslkey": true, "sslpassword": true,
	"connect_timeout": true, "application_name": true, "host": true, "port": true, "dbname": true,
	"user": true, "target_session_attrs": true, "options": true, "keepalives": true,
}
