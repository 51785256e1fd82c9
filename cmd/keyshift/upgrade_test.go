package main

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/store/sqldb"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestAnOlderBinaryRefusesANewerSchema is the rolling-upgrade guard of
// docs/operations.md: a database migrated one version past what this binary
// knows (a newer node ran first) makes serve and migrate refuse with a
// message that says so, and doctor report it, before anything is touched.
func TestAnOlderBinaryRefusesANewerSchema(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		env := map[string]string{"KEYSHIFT_DATABASE": database, "KEYSHIFT_DEV": "true"}
		if r := runBounded(t, env, "migrate"); r.code != 0 {
			t.Fatalf("migrate: %d %s", r.code, r.stderr)
		}
		ms, err := sqldb.Migrations(map[bool]string{true: "postgres", false: "sqlite"}[strings.HasPrefix(database, "postgres")])
		if err != nil {
			t.Fatal(err)
		}
		latest := len(ms)
		driver, dsn, at := "sqlite", strings.TrimPrefix(database, "sqlite:"), "0"
		if strings.HasPrefix(database, "postgres") {
			driver, dsn, at = "pgx", database, "now()"
		}
		raw, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		_, err = raw.ExecContext(t.Context(), fmt.Sprintf(
			"INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, 'from_the_next_version', %s)", latest+1, at))
		raw.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("database schema is at version %d but this keyshift knows only up to %d: upgrade keyshift", latest+1, latest)
		for _, cmd := range []string{"serve", "migrate"} {
			r := runBounded(t, env, cmd)
			if r.code != 1 || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "keyshift is ready") {
				t.Errorf("%s: exit %d, stderr:\n%s\nwant the refusal %q", cmd, r.code, r.stderr, want)
			}
		}
		if r := runBounded(t, env, "doctor"); r.code != 1 || !strings.Contains(r.stdout, fmt.Sprintf("newer than this keyshift knows (%d)", latest)) {
			t.Errorf("doctor: exit %d\n%s", r.code, r.stdout)
		}
	})
}
