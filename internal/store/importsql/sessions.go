package importsql

import (
	"context"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// sessionsUnnest is InsertSessions on PostgreSQL: one statement of arrays,
// as an import batch's users go in.
const sessionsUnnest = `INSERT INTO sessions (` + sessionInsertColumns + `)
	SELECT * FROM unnest(?::text[], ?::bytea[], ?::text[], ?::text[], ?::timestamptz[], ?::timestamptz[], ?::timestamptz[], ?::timestamptz[])`

const sessionInsertColumns = `id, token_hash, user_id, auth_method, authenticated_at, created_at, last_seen_at, expires_at`

// InsertSessions adds sessions as they are, many to a statement, and
// returns how many went in; a session whose id or token hash is taken is
// skipped. It is `keyshift bench seed-sessions`'s way to fill a sessions
// table with millions of rows: one CreateSession at a time, with its
// count of the member's other sessions, is a round trip a row, and seeding
// ten million took over an hour on PostgreSQL. Sign-ins never use it: it
// enforces no cap (account.MaxSessions) and keeps only the columns a fresh
// session has.
func (db *Imports) InsertSessions(ctx context.Context, sessions []*account.Session) (int64, error) {
	if db.Dialect() == "postgres" {
		return inChunks(sessions, unnestRows, func(part []*account.Session) (int64, error) {
			return db.insertSessionsUnnest(ctx, part)
		})
	}
	return db.insertRows(ctx, "sessions", sessionInsertColumns, 8, len(sessions), func(i int, args []any) []any {
		s := sessions[i]
		return append(args, s.ID, s.TokenHash, s.UserID, string(s.AuthMethod), db.Time(s.AuthenticatedAt),
			db.Time(s.CreatedAt), db.Time(s.LastSeenAt), db.Time(s.ExpiresAt))
	})
}

func (db *Imports) insertSessionsUnnest(ctx context.Context, sessions []*account.Session) (int64, error) {
	n := len(sessions)
	var (
		id, userID, method                = make([]string, n), make([]string, n), make([]string, n)
		hash                              = make([][]byte, n)
		authenticated, created, seen, end = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	)
	for i, s := range sessions {
		id[i], hash[i], userID[i], method[i] = s.ID, s.TokenHash, s.UserID, string(s.AuthMethod)
		authenticated[i], created[i], seen[i], end[i] = s.AuthenticatedAt.UTC(), s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC()
	}
	return db.execCount(ctx, "sessions", sessionsUnnest, false, id, hash, userID, method, authenticated, created, seen, end)
}
