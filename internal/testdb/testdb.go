// Package testdb gives tests a fresh, empty database on every storage backend
// keyshift supports: a SQLite file in the test's temporary directory, and a
// schema of its own on a real PostgreSQL server. Each test gets its own
// instance and it is removed when the test ends, so tests can run in parallel
// and leave nothing behind.
//
// It is an ordinary (non-_test) package so that every package's tests can
// import it; nothing outside tests should.
//
// PostgreSQL is found through KEYSHIFT_TEST_POSTGRES (see EnvPostgres);
// scripts/test starts a local server and sets it up. Set it to "skip" to skip
// the PostgreSQL half of every test on a machine without PostgreSQL.
package testdb

import (
	"path/filepath"
	"testing"
)

// SQLitePath returns the path of a fresh SQLite database file inside
// t.TempDir(). The file does not exist yet (SQLite creates it on first open);
// the directory, and so the file, is removed when the test ends.
func SQLitePath(t testing.TB) string {
	t.Helper()
	// A new TempDir per call, so two calls in one test never share a file.
	return filepath.Join(t.TempDir(), "keyshift.db")
}

// Backend names a storage backend and how to reach a fresh, empty instance of
// it.
type Backend struct {
	// Name is "sqlite" or "postgres"; Each uses it as the subtest name, so
	// `go test -run 'TestX/postgres'` picks one backend.
	Name string
	// Database returns what keyshift's KEYSHIFT_DATABASE setting takes for a
	// fresh, empty instance owned by t: "sqlite:PATH" or a postgres:// URL.
	// It skips or fails t when the backend is unavailable (see PostgresURL).
	Database func(t testing.TB) string
}

// Backends returns every storage backend keyshift supports: sqlite, then
// postgres.
func Backends() []Backend {
	return []Backend{
		{Name: "sqlite", Database: func(t testing.TB) string {
			t.Helper()
			return "sqlite:" + SQLitePath(t)
		}},
		{Name: "postgres", Database: func(t testing.TB) string {
			t.Helper()
			return PostgresURL(t)
		}},
	}
}

// Each runs fn once per backend, as the subtest t.Run(backend.Name, ...),
// passing a fresh database string for that subtest. The database is made
// inside the subtest so that a skipped or unreachable PostgreSQL skips or
// fails only the postgres subtest. fn may call t.Parallel.
func Each(t *testing.T, fn func(t *testing.T, database string)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, b.Database(t))
		})
	}
}
