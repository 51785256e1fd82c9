// Package importsql is the SQL of `keyshift import` (importer.Store): the
// imports table that lets a killed run resume, the look-up of a batch's keys
// among existing accounts, and the batch inserts (multi-row INSERT on
// SQLite, one INSERT of arrays per table on PostgreSQL), which `keyshift
// bench seed-sessions` also uses for sessions (sessions.go). store.DB
// embeds it.
package importsql

import (
	"context"
	"encoding/json"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/importer"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// CreateImport implements importer.Store.
func (db *Imports) CreateImport(ctx context.Context, r *importer.Import) error {
	counts, err := json.Marshal(r.Counts)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO imports (id, file_name, file_size, file_sha256, format, status,
			committed_offset, committed_line, counts, started_at, updated_at, finished_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.FileName, r.FileSize, r.SHA256, r.Format, r.Status, r.Offset, r.Line, string(counts),
		db.Time(r.StartedAt), db.Time(r.UpdatedAt), db.NullTime(r.FinishedAt))
	return err
}

// FindLatestImport implements importer.Store.
func (db *Imports) FindLatestImport(ctx context.Context, sha256 []byte, size int64) (*importer.Import, error) {
	var r importer.Import
	var counts string
	err := db.QueryRow(ctx, `SELECT id, file_name, file_size, file_sha256, format, status, committed_offset,
			committed_line, counts, started_at, updated_at, finished_at
		FROM imports WHERE file_sha256 = ? AND file_size = ? ORDER BY started_at DESC, id DESC LIMIT 1`, sha256, size).
		Scan(&r.ID, &r.FileName, &r.FileSize, &r.SHA256, &r.Format, &r.Status, &r.Offset, &r.Line, &counts,
			sqldb.ScanTime(&r.StartedAt), sqldb.ScanTime(&r.UpdatedAt), sqldb.ScanTime(&r.FinishedAt))
	if err := sqldb.ScanErr(err, "import"); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(counts), &r.Counts); err != nil {
		return nil, fmt.Errorf("import %s counts: %w", r.ID, err)
	}
	return &r, nil
}

// SaveImport implements importer.Store.
func (db *Imports) SaveImport(ctx context.Context, r *importer.Import) error {
	counts, err := json.Marshal(r.Counts)
	if err != nil {
		return err
	}
	res, err := db.Exec(ctx, `UPDATE imports SET status = ?, committed_offset = ?, committed_line = ?, counts = ?,
			updated_at = ?, finished_at = ? WHERE id = ?`,
		r.Status, r.Offset, r.Line, string(counts), db.Time(r.UpdatedAt), db.NullTime(r.FinishedAt), r.ID)
	return sqldb.Affected(res, err, "import")
}

// AbandonImports implements importer.Store.
func (db *Imports) AbandonImports(ctx context.Context, sha256 []byte, size int64, keep string, at time.Time) error {
	_, err := db.Exec(ctx, `UPDATE imports SET status = 'abandoned', updated_at = ?
		WHERE file_sha256 = ? AND file_size = ? AND status = 'running' AND id <> ?`,
		db.Time(at), sha256, size, keep)
	return err
}

// FindImportMatches implements importer.Store: four indexed lookups, each
// one statement with an IN list.
func (db *Imports) FindImportMatches(ctx context.Context, keys *importer.Keys) (*importer.Matches, error) {
	m := &importer.Matches{
		ByExternalID: map[string]importer.Match{}, ByEmailKey: map[string]importer.Match{},
		CredentialIDs: map[string]string{}, UserHandles: map[string]string{},
	}
	users := func(column string, vals []any, into map[string]importer.Match, key func(importer.Match) string) error {
		return db.eachIn(ctx, `SELECT id, COALESCE(external_id, ''), email_key, email_verified, origin, COALESCE(import_id, '')
			FROM users WHERE `+column, vals, func(scan func(...any) error) error {
			var u importer.Match
			if err := scan(&u.UserID, &u.ExternalID, &u.EmailKey, sqldb.ScanBool(&u.EmailVerified), (*string)(&u.Origin), &u.ImportID); err != nil {
				return err
			}
			into[key(u)] = u
			return nil
		})
	}
	if err := users("external_id", sqldb.Anys(keys.ExternalIDs), m.ByExternalID, func(u importer.Match) string { return u.ExternalID }); err != nil {
		return nil, err
	}
	if err := users("email_key", sqldb.Anys(keys.EmailKeys), m.ByEmailKey, func(u importer.Match) string { return u.EmailKey }); err != nil {
		return nil, err
	}
	// An address an account holds reserved (account.Reservation) matches
	// that account, as if it still had the address: the row is answered as
	// for a taken address, and no new account takes it. Its ImportID stays
	// empty: the address is no longer the account's, so the row repeats no
	// earlier row of the file.
	var free []any
	for _, k := range keys.EmailKeys {
		if _, ok := m.ByEmailKey[k]; !ok {
			free = append(free, k)
		}
	}
	err := db.eachInAfter(ctx, `SELECT u.id, COALESCE(u.external_id, ''), r.email_key, u.email_verified, u.origin
		FROM email_changes r JOIN users u ON u.id = r.user_id WHERE r.kind = 'revert' AND r.expires_at > ? AND r.email_key`,
		[]any{db.Time(keys.At)}, free, func(scan func(...any) error) error {
			var u importer.Match
			if err := scan(&u.UserID, &u.ExternalID, &u.EmailKey, sqldb.ScanBool(&u.EmailVerified), (*string)(&u.Origin)); err != nil {
				return err
			}
			m.ByEmailKey[u.EmailKey] = u
			return nil
		})
	if err != nil {
		return nil, err
	}
	set := func(query string, vals [][]byte, into map[string]string) error {
		return db.eachIn(ctx, query, sqldb.Anys(vals), func(scan func(...any) error) error {
			var b []byte
			var importID string
			if err := scan(&b, &importID); err != nil {
				return err
			}
			into[string(b)] = importID
			return nil
		})
	}
	if err := set(`SELECT c.credential_id, COALESCE(u.import_id, '') FROM credentials c JOIN users u ON u.id = c.user_id
		WHERE c.credential_id`, keys.CredentialIDs, m.CredentialIDs); err != nil {
		return nil, err
	}
	if err := set(`SELECT webauthn_id, COALESCE(import_id, '') FROM users WHERE webauthn_id`, keys.UserHandles, m.UserHandles); err != nil {
		return nil, err
	}
	return m, nil
}

// maxIn bounds an IN list: well under both databases' parameter limits.
const maxIn = 1024

// eachIn runs query + " IN (?, …)" over vals and calls fn for each row.
// Lists are padded to a power of two by repeating the last value (which
// changes no answer), so a run of batches uses a dozen statement texts at
// most and the statement caches of both drivers stay small.
func (db *Imports) eachIn(ctx context.Context, query string, vals []any, fn func(scan func(...any) error) error) error {
	return db.eachInAfter(ctx, query, nil, vals, fn)
}

// eachInAfter is eachIn for a query whose own placeholders, before the IN
// list, take pre.
func (db *Imports) eachInAfter(ctx context.Context, query string, pre, vals []any, fn func(scan func(...any) error) error) error {
	for len(vals) > 0 {
		n := min(len(vals), maxIn)
		chunk := vals[:n]
		vals = vals[n:]
		size := 1 << bits.Len(uint(n-1))
		for len(chunk) < size {
			chunk = append(chunk[:len(chunk):len(chunk)], chunk[len(chunk)-1])
		}
		rows, err := db.Query(ctx, query+` IN (`+sqldb.Placeholders(size)+`)`, append(pre[:len(pre):len(pre)], chunk...)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := fn(rows.Scan); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

const (
	userInsertColumns       = `id, email, email_key, email_verified, name, external_id, webauthn_id, created_at, updated_at, origin`
	credentialInsertColumns = `id, user_id, type, password_hash, password_format, credential_id, public_key, sign_count,
		aaguid, transports, attachment, backup_eligible, backup_state, user_handle, name, created_at, updated_at, last_used_at`
)

// InsertUsers implements importer.Store: on SQLite with multi-row
// INSERTs that skip clashing rows whether fresh or not, on PostgreSQL with
// one INSERT of arrays (imports_postgres.go).
func (db *Imports) InsertUsers(ctx context.Context, importID string, users []*account.User, fresh bool) (int64, error) {
	if len(users) == 0 {
		return 0, nil
	}
	if db.Dialect() == "postgres" {
		return inChunks(users, unnestRows, func(part []*account.User) (int64, error) {
			return db.insertUsersUnnest(ctx, importID, part, fresh)
		})
	}
	return db.insertRows(ctx, "users", userInsertColumns+`, import_id`, 11, len(users), func(i int, args []any) []any {
		u := users[i]
		return append(args, u.ID, u.Email, u.EmailKey, db.Bool(u.EmailVerified), u.Name, sqldb.NullString(u.ExternalID),
			u.WebAuthnID, db.Time(u.CreatedAt), db.Time(u.UpdatedAt), string(u.Origin), importID)
	})
}

// InsertCredentials implements importer.Store as InsertUsers does.
func (db *Imports) InsertCredentials(ctx context.Context, creds []*account.Credential, fresh bool) (int64, error) {
	if len(creds) == 0 {
		return 0, nil
	}
	if db.Dialect() == "postgres" {
		return inChunks(creds, unnestRows, func(part []*account.Credential) (int64, error) {
			return db.insertCredentialsUnnest(ctx, part, fresh)
		})
	}
	return db.insertRows(ctx, "credentials", credentialInsertColumns, 18, len(creds), func(i int, args []any) []any {
		c := creds[i]
		return append(args, c.ID, c.UserID, string(c.Type), sqldb.NullString(c.PasswordHash), sqldb.NullString(c.PasswordFormat),
			sqldb.NullBytes(c.CredentialID), sqldb.NullBytes(c.PublicKey), int64(c.SignCount), sqldb.NullBytes(c.AAGUID),
			strings.Join(c.Transports, ","), c.Attachment, db.Bool(c.BackupEligible), db.Bool(c.BackupState),
			sqldb.NullBytes(c.UserHandle), c.Name, db.Time(c.CreatedAt), db.Time(c.UpdatedAt), db.NullTime(c.LastUsedAt))
	})
}

// maxInsertRows is the most rows one INSERT carries: 256 credentials are
// 4,608 parameters, far from SQLite's 32,766 and PostgreSQL's 65,535.
const maxInsertRows = 256

// insertRows inserts n rows in statements of a power-of-two number of rows
// (256, then what is left split in halves), so that only nine statement
// texts per table ever exist. A row that would break a unique key (a
// sign-up racing the import) is skipped instead of failing the statement;
// the caller compares the count with what it sent.
//
// On SQLite that is INSERT OR IGNORE with foreign keys deferred to the
// commit, not ON CONFLICT DO NOTHING: a multi-row statement that can abort
// half-way (on a NOT NULL, CHECK or immediate foreign-key failure) makes
// SQLite journal every page it changes so it can undo itself, and that
// statement journal was 30 % of a million-row import's CPU. With every
// conflict ignored and foreign keys checked at the commit, no statement can
// abort half-way and none is journalled. Rows are validated before they get
// here, so a NOT NULL or CHECK failure would be a bug; it still cannot
// slip through, because the caller's count comparison catches a skipped
// row. defer_foreign_keys lasts until the transaction ends.
func (db *Imports) insertRows(ctx context.Context, table, columns string, width, n int, row func(i int, args []any) []any) (int64, error) {
	one := "(" + sqldb.Placeholders(width) + ")"
	verb, conflict := `INSERT INTO `, ` ON CONFLICT DO NOTHING`
	if db.Dialect() == "sqlite" && n > 0 {
		if _, err := db.Exec(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
			return 0, err
		}
		verb, conflict = `INSERT OR IGNORE INTO `, ``
	}
	var total int64
	args := make([]any, 0, maxInsertRows*width)
	for i := 0; i < n; {
		size := min(maxInsertRows, 1<<(bits.Len(uint(n-i))-1))
		args = args[:0]
		for j := i; j < i+size; j++ {
			args = row(j, args)
		}
		q := verb + table + ` (` + columns + `) VALUES ` +
			strings.TrimSuffix(strings.Repeat(one+", ", size), ", ") + conflict
		res, err := db.Exec(ctx, q, args...)
		if err != nil {
			return total, fmt.Errorf("insert %s: %w", table, err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += k
		i += size
	}
	return total, nil
}

// ImportWriters implements importer.Store. SQLite has one writer. On
// PostgreSQL an import's time goes mostly to the server's index inserts, one
// backend's CPU; two transactions at once let a second backend work (19 s
// for a million users alone, 11.6 s as two halves at once on the 2-core
// machine of docs/benchmarks.md). More contend on a small server and
// cost memory here; `keyshift import --writers` can ask for them.
func (db *Imports) ImportWriters() int {
	if db.Dialect() == "postgres" {
		return 2
	}
	return 1
}

// TuneForImport readies the writer for a bulk import. On SQLite it keeps
// statement journals in memory (an INSERT that needs one otherwise writes
// it to a temporary file; the import's own inserts need none, see
// insertRows), lets the writer checkpoint once the WAL reaches 64 MiB
// besides the background checkpointer (without it the WAL of a
// million-row import grew to 3 GB), and gives the writer's page cache
// 24 MiB: a batch dirties pages of three random-key indexes, and a cache
// too small for them spills and re-reads pages within the batch. Measured
// on a million rows (two runs each): 16 MiB 55–57 s, 24 MiB 53–54 s at
// 176–181 MB peak RSS, 32 MiB 49–53 s but 195 MB, too near the 200 MB
// target (modernc's allocator rounds each cached page up, so a MiB of
// cache costs about two of RSS). All three are per connection and
// harmless for the server's own writes. On PostgreSQL there is nothing
// to tune.
//
// What it returns runs once a run has imported rows: analyze.
func (db *Imports) TuneForImport(ctx context.Context) (func(context.Context) error, error) {
	if db.Dialect() != "sqlite" {
		return db.analyze, nil
	}
	return db.analyze, db.ExecUnprepared(ctx, `PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 16384; PRAGMA cache_size = -24576`)
}

// analyze refreshes the planner's statistics of the tables an
// import filled. On PostgreSQL a table that grew from nothing to ten
// million rows has none until autovacuum gets to it, and meanwhile the
// planner guesses: after a 10M import a page of the export (1,294
// credentials) was estimated at 30,496 rows, past the cost at which it
// starts parallel workers, and the 10M export took 16.9
// times the 1M one (10.7 times with this and the export's own guard,
// docs/benchmarks.md). ANALYZE samples a fixed number of rows per table,
// whatever its size. SQLite's planner keeps no statistics keyshift relies on:
// nothing to do.
func (db *Imports) analyze(ctx context.Context) error {
	if db.Dialect() != "postgres" {
		return nil
	}
	return db.ExecUnprepared(ctx, `ANALYZE users, credentials`)
}

// Imports is the queries, on the SQL core.
type Imports struct {
	*sqldb.DB
}
