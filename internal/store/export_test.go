package store

import (
	"context"
	"io/fs"

	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// ExecForTest runs q on the writer (or the transaction in ctx), bypassing
// the store's methods, so tests can poke at the schema directly. Placeholders
// are "?" as in every store query.
func (db *DB) ExecForTest(ctx context.Context, q string, args ...any) error {
	_, err := db.Exec(ctx, q, args...)
	return err
}

// QueryRowForTest runs q on the writer (or the transaction in ctx), so tests
// can read columns no store method returns.
func (db *DB) QueryRowForTest(ctx context.Context, q string, args ...any) interface{ Scan(dest ...any) error } {
	return db.QueryRowW(ctx, q, args...)
}

// MigrateForTest applies the migrations in fsys (NNNN_name.sql files at its
// root) instead of the embedded ones.
func (db *DB) MigrateForTest(ctx context.Context, fsys fs.FS) ([]int, error) {
	ms, err := sqldb.LoadMigrations(fsys)
	if err != nil {
		return nil, err
	}
	return db.Apply(ctx, ms, db.dataSteps())
}
