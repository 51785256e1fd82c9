package store_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/store/sqldb"
	"github.com/keyshift/keyshift/internal/testdb"
)

// versions returns 1…n.
func versions(n int) []int {
	var vs []int
	for v := 1; v <= n; v++ {
		vs = append(vs, v)
	}
	return vs
}

// schemaVersion reads the highest applied migration straight from the table.
func schemaVersion(t *testing.T, db *store.DB) int {
	t.Helper()
	return count(t, db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
}

// tableExists reports whether a table named name can be read.
func tableExists(t *testing.T, db *store.DB, name string) bool {
	t.Helper()
	var n int
	return db.QueryRowForTest(t.Context(), "SELECT COUNT(*) FROM "+name).Scan(&n) == nil
}

func TestMigrateAFreshDatabase(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := openNoMigrate(t, database)
		ctx := t.Context()

		before, err := db.Status(ctx)
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		if before.Current != 0 || before.Latest < 1 || len(before.Pending) != before.Latest {
			t.Fatalf("Status before = current %d, latest %d, %d pending; want 0, ≥1, all pending",
				before.Current, before.Latest, len(before.Pending))
		}
		for i, m := range before.Pending {
			if m.Version != i+1 || m.Name == "" || m.SQL == "" {
				t.Errorf("pending migration %d = %d %q with %d bytes of SQL", i, m.Version, m.Name, len(m.SQL))
			}
		}
		if err := db.CheckSchema(ctx); err == nil {
			t.Error("CheckSchema is nil before migrating")
		}

		applied, err := db.Migrate(ctx)
		if err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		if want := versions(before.Latest); !slices.Equal(applied, want) {
			t.Errorf("Migrate applied %v, want %v", applied, want)
		}
		if err := db.CheckSchema(ctx); err != nil {
			t.Errorf("CheckSchema after migrating: %v", err)
		}
		after, err := db.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if after.Current != before.Latest || after.Latest != before.Latest || len(after.Pending) != 0 {
			t.Errorf("Status after = %+v, want current = latest = %d and nothing pending", after, before.Latest)
		}

		again, err := db.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Errorf("Migrate again = %v, %v; want nothing applied", again, err)
		}
		reopened := open(t, database)
		if err := reopened.CheckSchema(ctx); err != nil {
			t.Errorf("CheckSchema after reopening: %v", err)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM schema_migrations"); n != before.Latest {
			t.Errorf("schema_migrations has %d rows, want %d", n, before.Latest)
		}
	})
}

func TestMigrateConcurrentlyAppliesEachMigrationOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		const nodes = 4
		var wg sync.WaitGroup
		dbs := make([]*store.DB, nodes)
		for i := range nodes {
			wg.Go(func() {
				db, err := store.Open(t.Context(), database)
				if err != nil {
					t.Errorf("node %d: Open: %v", i, err)
					return
				}
				dbs[i] = db
			})
		}
		wg.Wait()
		for _, db := range dbs {
			if db != nil {
				defer db.Close()
			}
		}
		if t.Failed() {
			return
		}
		st, err := dbs[0].Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n := count(t, dbs[0], "SELECT COUNT(*) FROM schema_migrations"); n != st.Latest {
			t.Errorf("schema_migrations has %d rows, want %d", n, st.Latest)
		}
	})
}

func TestASchemaNewerThanTheBinaryIsRefused(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := t.Context()
		latest := schemaVersion(t, db)
		if err := db.ExecForTest(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from_the_future', ?)",
			migrationTime(db)); err != nil {
			t.Fatal(err)
		}
		wantTooNew := func(t *testing.T, err error) {
			t.Helper()
			var tooNew *sqldb.ErrSchemaTooNew
			if !errors.As(err, &tooNew) {
				t.Fatalf("err = %v, want *sqldb.ErrSchemaTooNew", err)
			}
			if tooNew.Current != 999 || tooNew.Latest != latest {
				t.Errorf("ErrSchemaTooNew = %+v, want current 999, latest %d", *tooNew, latest)
			}
		}
		tests := []struct {
			name string
			run  func() error
		}{
			{"Migrate refuses it", func() error { _, err := db.Migrate(ctx); return err }},
			{"CheckSchema reports it", func() error { return db.CheckSchema(ctx) }},
			{"Open refuses it", func() error {
				db, err := store.Open(ctx, database)
				if err == nil {
					db.Close()
				}
				return err
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { wantTooNew(t, tt.run()) })
		}
		t.Run("Status reports it without failing", func(t *testing.T) {
			st, err := db.Status(ctx)
			if err != nil || st.Current != 999 || len(st.Pending) != 0 {
				t.Errorf("Status = %+v, %v; want current 999, nothing pending", st, err)
			}
		})
	})
}

// migrationTime is an applied_at value for a raw insert into
// schema_migrations.
func migrationTime(db *store.DB) any {
	if db.Dialect() == "sqlite" {
		return t0.UnixMilli()
	}
	return t0
}

func TestAFailingMigrationLeavesTheSchemaUnchanged(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		const first = "CREATE TABLE one (id INTEGER PRIMARY KEY);\nINSERT INTO one (id) VALUES (1);\n"
		tests := []struct {
			name   string
			second string
		}{
			{"a syntax error after a statement that worked", "CREATE TABLE two (id INTEGER PRIMARY KEY);\nINSERT INTO one (id) VALUES (2);\nCREAT TABLE oops (id INTEGER);\n"},
			{"a statement that fails when it runs", "CREATE TABLE two (id INTEGER PRIMARY KEY);\nINSERT INTO one (id) VALUES (2);\nINSERT INTO missing (id) VALUES (1);\n"},
			{"a constraint violated halfway", "CREATE TABLE two (id INTEGER PRIMARY KEY);\nINSERT INTO one (id) VALUES (2);\nINSERT INTO one (id) VALUES (1);\n"},
			{"a change to an existing table before the failure", "ALTER TABLE one ADD COLUMN extra TEXT;\nCREATE TABLE two (id INTEGER PRIMARY KEY);\nINSERT INTO one (id) VALUES (2);\nSELECT * FROM missing;\n"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				// Each case needs an empty database: a fresh one for the
				// sqlite half, a fresh schema for the postgres half.
				database := freshLike(t, database)
				t.Parallel()
				db := openNoMigrate(t, database)
				fsys := fstest.MapFS{
					"0001_one.sql": {Data: []byte(first)},
					"0002_two.sql": {Data: []byte(tt.second)},
				}
				applied, err := db.MigrateForTest(t.Context(), fsys)
				if err == nil {
					t.Fatal("MigrateForTest succeeded")
				}
				if !strings.Contains(err.Error(), "0002_two failed, schema left at version 1") {
					t.Errorf("error %q does not say which migration failed and where the schema is", err)
				}
				if !slices.Equal(applied, []int{1}) {
					t.Errorf("applied = %v, want [1]", applied)
				}
				if v := schemaVersion(t, db); v != 1 {
					t.Errorf("schema version = %d, want 1", v)
				}
				if !tableExists(t, db, "one") {
					t.Error("table one, from migration 1, is missing")
				}
				if tableExists(t, db, "two") {
					t.Error("table two, from the failed migration 2, exists")
				}
				if n := count(t, db, "SELECT COUNT(*) FROM one"); n != 1 {
					t.Errorf("table one has %d rows, want the 1 of migration 1", n)
				}
				if tableExists(t, db, "(SELECT extra FROM one) AS x") {
					t.Error("the column added by the failed migration exists")
				}

				fsys["0002_two.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE two (id INTEGER PRIMARY KEY);\n")}
				applied, err = db.MigrateForTest(t.Context(), fsys)
				if err != nil || !slices.Equal(applied, []int{2}) {
					t.Errorf("after fixing migration 2, MigrateForTest = %v, %v; want [2]", applied, err)
				}
				if !tableExists(t, db, "two") {
					t.Error("table two is missing after the fixed migration")
				}
			})
		}
	})
}

// freshLike returns a fresh, empty database on the same backend as database.
func freshLike(t *testing.T, database string) string {
	t.Helper()
	for _, b := range testdb.Backends() {
		if strings.HasPrefix(database, b.Name) {
			return b.Database(t)
		}
	}
	t.Fatalf("no backend for %q", database)
	return ""
}

func TestMigrationSetsThatDoNotLoadApplyNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := openNoMigrate(t, database)
		ok := &fstest.MapFile{Data: []byte("CREATE TABLE one (id INTEGER);")}
		tests := []struct {
			name string
			fsys fstest.MapFS
		}{
			{"refuses a gap in the versions", fstest.MapFS{"0001_one.sql": ok, "0003_three.sql": ok}},
			{"refuses two migrations with one version", fstest.MapFS{"0001_one.sql": ok, "0001_again.sql": ok}},
			{"refuses a set that does not start at 1", fstest.MapFS{"0002_two.sql": ok}},
			{"refuses a name without a version", fstest.MapFS{"0001_one.sql": ok, "two.sql": ok}},
			{"refuses version 0", fstest.MapFS{"0000_zero.sql": ok, "0001_one.sql": ok}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				applied, err := db.MigrateForTest(t.Context(), tt.fsys)
				if err == nil || len(applied) != 0 {
					t.Errorf("MigrateForTest = %v, %v; want an error and nothing applied", applied, err)
				}
				if tableExists(t, db, "one") {
					t.Fatal("table one was created")
				}
			})
		}
	})
}
