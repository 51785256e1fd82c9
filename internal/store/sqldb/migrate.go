package sqldb

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFS embed.FS

// Migration is one numbered schema change, stored as
// migrations/<dialect>/<NNNN>_<name>.sql. A migration may also have a data
// step in Go (DataSteps, found by its name), run after its SQL in the same
// transaction.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// MigrationStatus says where a database stands.
type MigrationStatus struct {
	Current int // highest applied version, 0 for an empty database
	Latest  int // highest version this binary knows
	Pending []Migration
}

// ErrSchemaTooNew is returned when the database was migrated by a newer
// keyshift: running older code against it could corrupt data.
type ErrSchemaTooNew struct{ Current, Latest int }

func (e *ErrSchemaTooNew) Error() string {
	return fmt.Sprintf("database schema is at version %d but this keyshift knows only up to %d: upgrade keyshift", e.Current, e.Latest)
}

// migrations returns the embedded migrations of the dialect, in order.
func (db *DB) migrations() ([]Migration, error) { return Migrations(db.dialect.name()) }

// Migrations returns the embedded migrations of a dialect ("sqlite" or
// "postgres"), in order.
func Migrations(dialect string) ([]Migration, error) {
	sub, err := fs.Sub(migrationFS, "migrations/"+dialect)
	if err != nil {
		return nil, err
	}
	return LoadMigrations(sub)
}

// LoadMigrations reads migrations from fsys: NNNN_name.sql files at its
// root, numbered 1, 2, 3….
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, n := range names {
		num, name, ok := strings.Cut(strings.TrimSuffix(path.Base(n), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", n)
		}
		body, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration versions must run 1, 2, 3…: found %d at position %d", m.Version, i+1)
		}
	}
	return ms, nil
}

// Status reports the applied and pending migrations.
func (db *DB) Status(ctx context.Context) (MigrationStatus, error) {
	ms, err := db.migrations()
	if err != nil {
		return MigrationStatus{}, err
	}
	cur, err := db.currentVersion(ctx)
	if err != nil {
		return MigrationStatus{}, err
	}
	st := MigrationStatus{Current: cur, Latest: len(ms)}
	if cur < len(ms) {
		st.Pending = ms[cur:]
	}
	return st, nil
}

// DataSteps are the parts of migrations that SQL cannot do, by migration
// name, never by number: work written side by side may land in another order
// than it was numbered, and the later one is renumbered. Each runs after its
// migration's SQL, in its transaction (in ctx).
type DataSteps map[string]func(ctx context.Context) error

// Migrate applies every pending migration and returns the versions applied.
// Each migration runs in its own transaction together with the row that
// records it, so a failing migration leaves the schema as it was. Nodes
// starting together on PostgreSQL take an advisory lock and apply each
// migration once; SQLite's BEGIN IMMEDIATE serialises them the same way.
func (db *DB) Migrate(ctx context.Context, steps DataSteps) ([]int, error) {
	ms, err := db.migrations()
	if err != nil {
		return nil, err
	}
	return db.Apply(ctx, ms, steps)
}

// Apply applies the pending migrations of ms, as Migrate does.
func (db *DB) Apply(ctx context.Context, ms []Migration, steps DataSteps) ([]int, error) {
	if err := db.ensureMigrationTable(ctx); err != nil {
		return nil, err
	}
	var applied []int
	for {
		var did int
		err := db.InTx(ctx, func(ctx context.Context) error {
			if err := db.lockMigrations(ctx); err != nil {
				return err
			}
			cur, err := db.currentVersion(ctx)
			if err != nil {
				return err
			}
			if cur > len(ms) {
				return &ErrSchemaTooNew{Current: cur, Latest: len(ms)}
			}
			if cur == len(ms) {
				return nil
			}
			m := ms[cur]
			w, err := db.writer(ctx)
			if err == nil {
				_, err = w.ExecContext(ctx, m.SQL)
			}
			if err != nil {
				return fmt.Errorf("migration %04d_%s failed, schema left at version %d: %w", m.Version, m.Name, cur, err)
			}
			if step, ok := steps[m.Name]; ok {
				if err := step(ctx); err != nil {
					return fmt.Errorf("migration %04d_%s failed in its data step, schema left at version %d: %w", m.Version, m.Name, cur, err)
				}
			}
			if _, err := db.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.Version, m.Name, db.dialect.time(time.Now())); err != nil {
				return err
			}
			did = m.Version
			return nil
		})
		if err != nil {
			return applied, err
		}
		if did == 0 {
			return applied, nil
		}
		applied = append(applied, did)
	}
}

// lockMigrations makes the transaction in ctx the only one migrating until
// it ends. SQLite's BEGIN IMMEDIATE already is.
func (db *DB) lockMigrations(ctx context.Context) error {
	if db.dialect.name() != "postgres" {
		return nil
	}
	// Keyed by schema too, so databases that share one server in separate
	// schemas (tests, several tenants) do not queue behind each other.
	_, err := db.Exec(ctx, "SELECT pg_advisory_xact_lock(7170616, hashtext(current_schema()))")
	return err
}

// ensureMigrationTable creates schema_migrations under the migration lock:
// PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against itself, and
// nodes starting together on an empty database would otherwise fail with a
// duplicate key in pg_type.
func (db *DB) ensureMigrationTable(ctx context.Context) error {
	ts := "INTEGER"
	if db.dialect.name() == "postgres" {
		ts = "TIMESTAMPTZ"
	}
	return db.InTx(ctx, func(ctx context.Context) error {
		if err := db.lockMigrations(ctx); err != nil {
			return err
		}
		_, err := db.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at `+ts+` NOT NULL)`)
		return err
	})
}

// currentVersion returns the highest applied migration; 0 when the database
// was never migrated (it creates nothing, so status checks stay read-only).
func (db *DB) currentVersion(ctx context.Context) (int, error) {
	exists := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
	if db.dialect.name() == "postgres" {
		exists = "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'"
	}
	var n int
	if err := db.QueryRow(ctx, exists).Scan(&n); err != nil || n == 0 {
		return 0, err
	}
	var v int
	err := db.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v)
	return v, err
}

// CheckReady returns nil when no migration this binary knows is pending. A
// schema newer than the binary passes: a node that is running stays ready
// while a newer node migrates in a rolling upgrade (docs/operations.md);
// starting on such a schema is what CheckSchema refuses.
func (db *DB) CheckReady(ctx context.Context) error {
	err := db.CheckSchema(ctx)
	if _, newer := err.(*ErrSchemaTooNew); newer {
		return nil
	}
	return err
}

// CheckSchema returns nil when every migration this binary knows is applied
// and none it does not know; /readyz uses it.
func (db *DB) CheckSchema(ctx context.Context) error {
	ms, err := db.migrations()
	if err != nil {
		return err
	}
	cur, err := db.currentVersion(ctx)
	if err != nil {
		return err
	}
	switch {
	case cur > len(ms):
		return &ErrSchemaTooNew{Current: cur, Latest: len(ms)}
	case cur < len(ms):
		return fmt.Errorf("database schema is at version %d, %d migrations pending: run keyshift migrate", cur, len(ms)-cur)
	}
	return nil
}
