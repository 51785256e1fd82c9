package backup

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/store/sqldb"
	"github.com/keyshift/keyshift/internal/testdb"
)

// keyshiftDB makes a migrated keyshift SQLite database at dir/name and
// runs fill on it before closing it.
func keyshiftDB(t *testing.T, dir, name string, fill func(db *store.DB)) string {
	t.Helper()
	path := filepath.Join(dir, name)
	db, err := store.Open(t.Context(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if fill != nil {
		fill(db)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustExec(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(t.Context(), q, args...); err != nil {
		t.Fatal(err)
	}
}

// TestWriteThenRestoreSQLite: a copy written by Write restores into a new
// path and holds what the database held; both files are private.
func TestWriteThenRestoreSQLite(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "live.db")
	db, err := store.Open(t.Context(), "sqlite:"+src)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustExec(t, db, "INSERT INTO users (id, email, email_key, webauthn_id, created_at, updated_at) VALUES ('u1', 'a@example.com', 'a@example.com', x'01', 0, 0)")
	out := filepath.Join(dir, "copy.backup")
	if err := Write(t.Context(), db, "sqlite:"+src, out); err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(dir, "restored.db")
	if err := RestoreSQLite(t.Context(), out, restored, false); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{out, restored} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", p, fi, err)
		}
	}
	back, err := store.Open(t.Context(), "sqlite:"+restored)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if empty, err := back.Empty(t.Context()); err != nil || empty {
		t.Errorf("restored database empty=%v err=%v, want the member", empty, err)
	}
}

// TestRestoreSQLiteRefuses: what is not a keyshift database this binary can
// run, or would replace members without --force, is refused and leaves the
// target as it was.
func TestRestoreSQLiteRefuses(t *testing.T) {
	dir := t.TempDir()
	notSQLite := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notSQLite, []byte("SQLite? no, a shopping list"), 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign.db")
	{
		db, err := sqldb.OpenNoMigrate(t.Context(), "sqlite:"+foreign)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(t.Context(), "CREATE TABLE t (x INTEGER)"); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	newer := keyshiftDB(t, dir, "newer.db", func(db *store.DB) {
		mustExec(t, db, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (100000, 'from_the_future', 0)")
	})
	good := keyshiftDB(t, dir, "good.db", nil)
	occupied := keyshiftDB(t, dir, "occupied.db", func(db *store.DB) {
		mustExec(t, db, "INSERT INTO users (id, email, email_key, webauthn_id, created_at, updated_at) VALUES ('u1', 'a@example.com', 'a@example.com', x'01', 0, 0)")
	})

	tests := []struct {
		name, file, target string
		want               string
	}{
		{"not an SQLite file", notSQLite, filepath.Join(dir, "t1.db"), "is not an SQLite database"},
		{"another program's database", foreign, filepath.Join(dir, "t2.db"), "not keyshift's"},
		{"a schema newer than this binary", newer, filepath.Join(dir, "t3.db"), "upgrade keyshift"},
		{"a target with members, no --force", good, occupied, "add --force"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := os.ReadFile(tt.target)
			err := RestoreSQLite(t.Context(), tt.file, tt.target, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
			after, _ := os.ReadFile(tt.target)
			if string(before) != string(after) {
				t.Error("the target changed after a refused restore")
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".keyshift-backup-*")); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
	if err := RestoreSQLite(t.Context(), good, occupied, true); err != nil {
		t.Fatalf("--force: %v", err)
	}
}

// TestWithoutPgDumpTheBackupSaysWhatToRun: on a machine without pg_dump a
// PostgreSQL backup fails with the package to install and the exact command
// to run by hand (the password left out), and leaves no file behind.
func TestWithoutPgDumpTheBackupSaysWhatToRun(t *testing.T) {
	database := testdb.PostgresURL(t)
	db, err := store.Open(t.Context(), database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t.Setenv("PATH", t.TempDir()) // nothing to find
	out := filepath.Join(t.TempDir(), "copy.backup")
	err = Write(t.Context(), db, database, out)
	var te *ToolError
	if !errors.As(err, &te) || te.Tool != "pg_dump" {
		t.Fatalf("Write without pg_dump: %v, want a ToolError for pg_dump", err)
	}
	for _, want := range []string{"pg_dump --format=custom --schema=", "--file=BACKUP", "postgresql-client"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the message %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "keyshift_test:") {
		t.Errorf("the message shows the password: %q", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
		t.Errorf("a failed backup left %v behind", entries)
	}
}
