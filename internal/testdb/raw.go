package testdb

import (
	"database/sql"
	"net/url"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Raw opens database (as Each gives it) with database/sql directly, to read
// what no store method returns: raw rows, every table. It is closed when
// the test ends.
func Raw(t testing.TB, database string) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", database
	if path, ok := strings.CutPrefix(database, "sqlite:"); ok {
		// Wait for the server's own writers (the outbox worker, the
		// rollout's cache) rather than fail a test with SQLITE_BUSY.
		driver, dsn = "sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
