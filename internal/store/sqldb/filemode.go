package sqldb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// The SQLite files hold server keys, password hashes and the outbox, so only
// their owner may read them (docs/security.md, T5). SQLite creates the -wal and -shm
// files with the database file's own permissions, so making that file 0600
// before SQLite first opens it covers all three; a file found readable by
// group or others (made by an older keyshift) is made private at open.

// sqliteCompanions are the files SQLite keeps beside a database.
var sqliteCompanions = []string{"", "-wal", "-shm", "-journal"}

// privateSQLiteFiles creates path, empty and 0600, when it does not exist,
// and makes the database's existing files readable by their owner only. It
// returns what it changed, as "path (was 0644)", for the caller to log.
func privateSQLiteFiles(path string) ([]string, error) {
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("database sqlite:%s is unreachable: %w", path, err)
	}
	f.Close()
	var fixed []string
	for _, suffix := range sqliteCompanions {
		p := path + suffix
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fixed, fmt.Errorf("database: sqlite: %w", err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(p, perm&0o700); err != nil {
				return fixed, fmt.Errorf("database: sqlite: %s is readable by others and cannot be made private: %w", p, err)
			}
			fixed = append(fixed, fmt.Sprintf("%s (was %#o)", p, perm))
		}
	}
	return fixed, nil
}

// MadePrivate lists the SQLite files Open found readable by group or others
// and made readable by their owner only, as "path (was 0644)"; the server
// logs them. It is empty for PostgreSQL.
func (db *DB) MadePrivate() []string { return db.madePrivate }
