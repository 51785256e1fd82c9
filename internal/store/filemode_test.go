package store_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// sqliteFiles are the database file and the companions SQLite keeps beside it.
var sqliteFiles = []string{"", "-wal", "-shm"}

func wantPrivate(t *testing.T, path string) {
	t.Helper()
	for _, suffix := range sqliteFiles {
		fi, err := os.Stat(path + suffix)
		if err != nil {
			t.Errorf("%s: %v", path+suffix, err)
			continue
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %#o, want 0600", path+suffix, perm)
		}
	}
}

// TestSQLiteFilesAreReadableByTheirOwnerOnly: the database, -wal and -shm
// files hold server keys and the outbox, so a new database is made 0600 and
// an old one readable by others is made private at open, and says so.
func TestSQLiteFilesAreReadableByTheirOwnerOnly(t *testing.T) {
	t.Parallel()
	path := testdb.SQLitePath(t)
	db := open(t, "sqlite:"+path)
	if _, err := db.ServerKey(context.Background(), "test", 32); err != nil {
		t.Fatal(err)
	}
	wantPrivate(t, path)
	if got := db.MadePrivate(); len(got) != 0 {
		t.Errorf("a new database reports files made private: %v", got)
	}

	// An older keyshift left them readable by everyone; the files exist
	// while it runs (SQLite removes -wal and -shm at the last close).
	for _, suffix := range sqliteFiles {
		if err := os.Chmod(path+suffix, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	again, err := store.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	wantPrivate(t, path)
	got := strings.Join(again.MadePrivate(), "\n")
	for _, suffix := range sqliteFiles {
		if !strings.Contains(got, path+suffix+" (was 0644)") {
			t.Errorf("MadePrivate does not report %s:\n%s", path+suffix, got)
		}
	}
}
