// Package store keeps keyshift's data in SQLite or PostgreSQL through one SQL
// implementation. Its value, *DB, serves every storage interface the domain
// declares (implements.go): it is the SQL core (package sqldb: connections,
// transactions, dialect, migrations) with the queries of the accounts,
// sessions, credentials and email flows here, and those of the import and
// the rollout, telemetry and the OpenID Provider in packages of their own, which DB embeds.
package store

import (
	"context"

	"github.com/keyshift/keyshift/internal/store/adminsql"
	"github.com/keyshift/keyshift/internal/store/importsql"
	"github.com/keyshift/keyshift/internal/store/oidcsql"
	"github.com/keyshift/keyshift/internal/store/rolloutsql"
	"github.com/keyshift/keyshift/internal/store/sqldb"
	"github.com/keyshift/keyshift/internal/store/supportsql"
	"github.com/keyshift/keyshift/internal/store/telemetrysql"
)

// DB is a keyshift database. It is safe for concurrent use.
type DB struct {
	*sqldb.DB
	*importsql.Imports
	*rolloutsql.Rollouts
	*telemetrysql.Telemetry
	*oidcsql.OIDC
	*adminsql.Admin
	*supportsql.Support
}

// Open connects to database ("sqlite:PATH" or a postgres:// URL), checks that
// it answers, and applies pending migrations.
func Open(ctx context.Context, database string) (*DB, error) {
	db, err := OpenNoMigrate(ctx, database)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// OpenNoMigrate connects without touching the schema (for `keyshift migrate
// --status` and for tests of migrations).
func OpenNoMigrate(ctx context.Context, database string) (*DB, error) {
	core, err := sqldb.OpenNoMigrate(ctx, database)
	if err != nil {
		return nil, err
	}
	return &DB{DB: core, Imports: &importsql.Imports{DB: core}, Rollouts: &rolloutsql.Rollouts{DB: core}, Telemetry: &telemetrysql.Telemetry{DB: core},
		OIDC: &oidcsql.OIDC{DB: core}, Admin: &adminsql.Admin{DB: core}, Support: &supportsql.Support{DB: core}}, nil
}

// Migrate applies every pending migration, with the store's data steps
// (sqldb.DB.Migrate), and returns the versions applied.
func (db *DB) Migrate(ctx context.Context) ([]int, error) {
	return db.DB.Migrate(ctx, db.dataSteps())
}
