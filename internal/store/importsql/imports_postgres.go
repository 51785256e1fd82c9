package importsql

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/importer"
)

// On PostgreSQL an import batch goes in as one statement per table: each
// column is sent as one array, and unnest turns the arrays back into rows.
// Multi-row VALUES statements of 256 rows took the server as long to bind
// and plan as to insert, and every statement was a round trip during which
// the other side waited; with arrays the batch is two round trips whatever
// its size, and the server spends its time on the rows.

// A fresh batch goes in without ON CONFLICT DO NOTHING, which checks every
// unique index before inserting into it and made the inserts half as slow
// again; a clash then fails the statement with a unique violation, which
// the importer takes as its cue to look the batch's keys up.
const (
	usersUnnest = `INSERT INTO users (` + userInsertColumns + `, import_id)
		SELECT u.*, ?::text FROM unnest(?::text[], ?::text[], ?::text[], ?::boolean[], ?::text[], ?::text[], ?::bytea[],
			?::timestamptz[], ?::timestamptz[], ?::text[]) AS u`
	credentialsUnnest = `INSERT INTO credentials (` + credentialInsertColumns + `)
		SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bytea[], ?::bytea[], ?::bigint[],
			?::bytea[], ?::text[], ?::text[], ?::boolean[], ?::boolean[], ?::bytea[], ?::text[],
			?::timestamptz[], ?::timestamptz[], ?::timestamptz[])`
	skipTaken = ` ON CONFLICT DO NOTHING`
)

func (db *Imports) insertUsersUnnest(ctx context.Context, importID string, users []*account.User, fresh bool) (int64, error) {
	n := len(users)
	var (
		id, email, key, name = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		origin               = make([]string, n)
		verified             = make([]bool, n)
		external             = make([]*string, n)
		handle               = make([][]byte, n)
		created, updated     = make([]time.Time, n), make([]time.Time, n)
	)
	for i := range users {
		u := users[i]
		id[i], email[i], key[i], name[i], verified[i] = u.ID, u.Email, u.EmailKey, u.Name, u.EmailVerified
		external[i] = nullText(u.ExternalID)
		handle[i] = u.WebAuthnID
		created[i], updated[i] = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
		origin[i] = string(u.Origin)
	}
	return db.execCount(ctx, "users", usersUnnest, fresh, importID, id, email, key, verified, name, external, handle, created, updated, origin)
}

func (db *Imports) insertCredentialsUnnest(ctx context.Context, creds []*account.Credential, fresh bool) (int64, error) {
	n := len(creds)
	var (
		id, userID, typ, transports = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		attachment, name            = make([]string, n), make([]string, n)
		hash, format                = make([]*string, n), make([]*string, n)
		credID, publicKey, aaguid   = make([][]byte, n), make([][]byte, n), make([][]byte, n)
		userHandle                  = make([][]byte, n)
		signCount                   = make([]int64, n)
		eligible, state             = make([]bool, n), make([]bool, n)
		created, updated            = make([]time.Time, n), make([]time.Time, n)
		lastUsed                    = make([]*time.Time, n)
	)
	for i := range creds {
		c := creds[i]
		id[i], userID[i], typ[i] = c.ID, c.UserID, string(c.Type)
		hash[i], format[i] = nullText(c.PasswordHash), nullText(c.PasswordFormat)
		credID[i], publicKey[i], aaguid[i], userHandle[i] = emptyNil(c.CredentialID), emptyNil(c.PublicKey),
			emptyNil(c.AAGUID), emptyNil(c.UserHandle)
		signCount[i] = int64(c.SignCount)
		transports[i], attachment[i], name[i] = strings.Join(c.Transports, ","), c.Attachment, c.Name
		eligible[i], state[i] = c.BackupEligible, c.BackupState
		created[i], updated[i] = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
		if !c.LastUsedAt.IsZero() {
			t := c.LastUsedAt.UTC()
			lastUsed[i] = &t
		}
	}
	return db.execCount(ctx, "credentials", credentialsUnnest, fresh, id, userID, typ, hash, format, credID, publicKey,
		signCount, aaguid, transports, attachment, eligible, state, userHandle, name, created, updated, lastUsed)
}

// unnestRows bounds the rows of one statement. pgx keeps the buffer it
// encoded a statement's arguments in for the connection's next one, so a
// batch of 6,666 credentials in one statement left 15 MB per writer behind
// (half the import's live heap beside its claims); 2,000 rows are a few
// round trips a batch, which the parallel writers overlap.
const unnestRows = 2000

// inChunks calls insert on rows n at a time and adds up what it inserted.
func inChunks[T any](rows []T, n int, insert func([]T) (int64, error)) (int64, error) {
	var total int64
	for len(rows) > 0 {
		k, err := insert(rows[:min(n, len(rows))])
		total += k
		if err != nil {
			return total, err
		}
		rows = rows[min(n, len(rows)):]
	}
	return total, nil
}

// execCount runs one INSERT and returns the rows it inserted.
func (db *Imports) execCount(ctx context.Context, table, query string, fresh bool, args ...any) (int64, error) {
	if !fresh {
		query += skipTaken
	}
	res, err := db.Exec(ctx, query, args...)
	if fresh && db.IsUnique(err) {
		return 0, fmt.Errorf("insert %s: %w: %w", table, importer.ErrKeyTaken, err)
	}
	if err != nil {
		return 0, fmt.Errorf("insert %s: %w", table, err)
	}
	return res.RowsAffected()
}

// nullText is NULL for "" in a text array.
func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// emptyNil is NULL for an empty byte string in a bytea array.
func emptyNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
