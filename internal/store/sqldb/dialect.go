package sqldb

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is everything the two databases disagree on.
type dialect interface {
	name() string
	// rebind rewrites "?" placeholders.
	rebind(query string) string
	// time converts a time to the column's representation.
	time(t time.Time) any
	// isUnique reports whether err is a unique-constraint violation.
	isUnique(err error) bool
	// uniqueOn reports whether err is a unique violation on table.column.
	uniqueOn(err error, table, column string) bool
	// snapshotIsolation is the isolation level at which a read-only
	// transaction sees one snapshot for all its statements.
	snapshotIsolation() sql.IsolationLevel
}

type sqliteDialect struct{}

func (sqliteDialect) name() string           { return "sqlite" }
func (sqliteDialect) rebind(q string) string { return q }
func (sqliteDialect) time(t time.Time) any   { return t.UnixMilli() }

// snapshotIsolation: a SQLite read transaction in WAL mode already reads one
// snapshot, and the driver accepts no other level.
func (sqliteDialect) snapshotIsolation() sql.IsolationLevel { return sql.LevelDefault }
func (sqliteDialect) isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// uniqueOn reads SQLite's message, "UNIQUE constraint failed: t.c".
func (d sqliteDialect) uniqueOn(err error, table, column string) bool {
	return d.isUnique(err) && strings.Contains(err.Error(), table+"."+column)
}

// isSQLiteBusy reports whether err is SQLite's "database is locked".
func isSQLiteBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

type postgresDialect struct{}

func (postgresDialect) name() string         { return "postgres" }
func (postgresDialect) time(t time.Time) any { return t.UTC() }

// snapshotIsolation: READ COMMITTED, PostgreSQL's default, takes a new
// snapshot per statement; REPEATABLE READ keeps the first one.
func (postgresDialect) snapshotIsolation() sql.IsolationLevel { return sql.LevelRepeatableRead }
func (postgresDialect) isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// uniqueOn relies on PostgreSQL's default constraint names, t_c_key, which
// every migration keeps.
func (postgresDialect) uniqueOn(err error, table, column string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == table+"_"+column+"_key"
}

// rebind turns each "?" outside quotes into $1, $2, …
func (postgresDialect) rebind(q string) string {
	var b strings.Builder
	n := 0
	inQuote := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			inQuote = !inQuote
		case c == '?' && !inQuote:
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Time returns the column value for a time: SQLite's integer milliseconds
// or PostgreSQL's timestamptz.
func (db *DB) Time(t time.Time) any { return db.dialect.time(t) }

// IsUnique reports whether err is a unique-constraint violation.
func (db *DB) IsUnique(err error) bool { return db.dialect.isUnique(err) }

// UniqueOn reports whether err is a unique violation on table.column.
func (db *DB) UniqueOn(err error, table, column string) bool {
	return db.dialect.uniqueOn(err, table, column)
}

// ScanTime returns a scan destination for t (dbTime).
func ScanTime(t *time.Time) sql.Scanner { return dbTime{t} }

// ScanBool returns a scan destination for b (dbBool).
func ScanBool(b *bool) sql.Scanner { return dbBool{b} }

// dbTime scans a time from either representation: SQLite's integer
// milliseconds or PostgreSQL's timestamptz. NULL scans as the zero time.
type dbTime struct{ t *time.Time }

func (d dbTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*d.t = time.Time{}
	case int64:
		*d.t = time.UnixMilli(x).UTC()
	case time.Time:
		*d.t = x.UTC()
	default:
		return fmt.Errorf("sqldb: cannot scan %T into a time", v)
	}
	return nil
}

// nullTime returns the column value for an optional time.
func (db *DB) NullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return db.dialect.time(t)
}

// dbBool scans booleans stored as SQLite integers or PostgreSQL booleans.
type dbBool struct{ b *bool }

func (d dbBool) Scan(v any) error {
	switch x := v.(type) {
	case bool:
		*d.b = x
	case int64:
		*d.b = x != 0
	default:
		return fmt.Errorf("sqldb: cannot scan %T into a bool", v)
	}
	return nil
}

// boolArg returns the column value for a boolean: SQLite's CHECK constraints
// want 0/1, PostgreSQL wants a boolean.
func (db *DB) Bool(b bool) driver.Value {
	if db.dialect.name() == "sqlite" {
		if b {
			return int64(1)
		}
		return int64(0)
	}
	return b
}
