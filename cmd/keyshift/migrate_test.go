package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/testdb"
)

var (
	appliedLine = regexp.MustCompile(`^applied migration (\d{4})$`)
	statusLine  = regexp.MustCompile(`^(\w+) schema at version (\d+) of (\d+)$`)
	pendingLine = regexp.MustCompile(`^pending: (\d{4})_\w+$`)
)

// TestMigrate takes a fresh database on every backend through status,
// migrate, migrate again and status, as an operator would.
func TestMigrate(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		env := map[string]string{"KEYSHIFT_DATABASE": database}
		dialect, _, _ := strings.Cut(database, ":")

		// A fresh database: nothing applied, everything pending.
		latest := checkStatus(t, env, dialect, false)

		r := runMigrate(t, env)
		lines := outputLines(r.stdout)
		if len(lines) != latest+1 {
			t.Fatalf("first migrate printed %d lines, want %d applied migrations and a summary:\n%s", len(lines), latest, r.stdout)
		}
		for i, l := range lines[:latest] {
			m := appliedLine.FindStringSubmatch(l)
			if m == nil || atoi(t, m[1]) != i+1 {
				t.Errorf("line %d = %q, want %q", i+1, l, fmt.Sprintf("applied migration %04d", i+1))
			}
		}
		upToDate := fmt.Sprintf("%s schema at version %d (up to date)", dialect, latest)
		if got := lines[latest]; got != upToDate {
			t.Errorf("first migrate ended with %q, want %q", got, upToDate)
		}

		r = runMigrate(t, env)
		if got := outputLines(r.stdout); len(got) != 1 || got[0] != upToDate {
			t.Errorf("second migrate printed %q, want only %q: it should apply nothing", got, upToDate)
		}

		checkStatus(t, env, dialect, true)
	})
}

// runMigrate runs keyshift migrate and fails the test unless it succeeds
// silently on stderr.
func runMigrate(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	r := runBounded(t, env, append([]string{"migrate"}, args...)...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("keyshift migrate %s: exit code %d, stderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// checkStatus runs migrate --status and checks what it says: at the latest
// version with nothing pending when migrated, else at version 0 with every
// migration pending. It returns the latest version.
func checkStatus(t *testing.T, env map[string]string, dialect string, migrated bool) int {
	t.Helper()
	r := runMigrate(t, env, "--status")
	lines := outputLines(r.stdout)
	m := statusLine.FindStringSubmatch(lines[0])
	if m == nil || m[1] != dialect {
		t.Fatalf("migrate --status began with %q, want %q", lines[0], dialect+" schema at version N of M")
	}
	current, latest := atoi(t, m[2]), atoi(t, m[3])
	if latest < 1 {
		t.Fatalf("migrate --status says the latest version is %d, want at least 1", latest)
	}
	pending := lines[1:]
	if migrated {
		if current != latest || len(pending) != 0 {
			t.Errorf("migrate --status on a migrated database printed:\n%s\nwant version %d of %d and nothing pending", r.stdout, latest, latest)
		}
		return latest
	}
	if current != 0 || len(pending) != latest {
		t.Errorf("migrate --status on a fresh database printed:\n%s\nwant version 0 of %d and %d pending", r.stdout, latest, latest)
	}
	for i, l := range pending {
		if p := pendingLine.FindStringSubmatch(l); p == nil || atoi(t, p[1]) != i+1 {
			t.Errorf("pending line %d = %q, want %q", i+1, l, fmt.Sprintf("pending: %04d_name", i+1))
		}
	}
	return latest
}

// outputLines splits output into its lines; output must end with a newline.
func outputLines(out string) []string {
	if out == "" {
		return []string{""}
	}
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMigrateStatusChangesNothing: --status on a database that does not
// exist yet reports it and leaves no file behind, and on an existing
// database it creates no table.
func TestMigrateStatusChangesNothing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keyshift.db")
	env := map[string]string{"KEYSHIFT_DATABASE": "sqlite:" + path}
	checkStatus(t, env, "sqlite", false)
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("migrate --status created %s (stat: %v)", path, err)
	}
	testdb.Each(t, func(t *testing.T, database string) {
		env := map[string]string{"KEYSHIFT_DATABASE": database}
		dialect, _, _ := strings.Cut(database, ":")
		checkStatus(t, env, dialect, false)
		checkStatus(t, env, dialect, false) // still nothing applied, nothing created
	})
}
