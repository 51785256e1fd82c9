package store

import (
	"context"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// CreateSession implements session.Store.
// The count of the user's other sessions comes back from the INSERT
// itself, so that the cap on sessions (account.MaxSessions) costs no round
// trip of its own on every sign-in. The subquery leaves the new row out by
// its id: SQLite's RETURNING would count it, PostgreSQL's does not.
func (db *DB) CreateSession(ctx context.Context, s *account.Session) (int, error) {
	var others int
	err := db.QueryRowW(ctx, `INSERT INTO sessions (id, token_hash, user_id, auth_method, authenticated_at, created_at, last_seen_at, expires_at, user_agent, ip, signin_passkey)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING (SELECT COUNT(*) FROM sessions o WHERE o.user_id = sessions.user_id AND o.id <> sessions.id)`,
		s.ID, s.TokenHash, s.UserID, string(s.AuthMethod), db.Time(s.AuthenticatedAt), db.Time(s.CreatedAt),
		db.Time(s.LastSeenAt), db.Time(s.ExpiresAt), s.UserAgent, s.IP, s.SigninPasskey).Scan(&others)
	return others, err
}

const sessionColumns = `s.id, s.token_hash, s.user_id, s.auth_method, s.authenticated_at, s.created_at, s.last_seen_at, s.expires_at, s.stepped_up_at, s.stepped_up_method, s.nudged_at, s.user_agent, s.ip, s.signin_passkey, s.stepped_up_passkey`

func sessionDest(s *account.Session) []any {
	return []any{&s.ID, &s.TokenHash, &s.UserID, (*string)(&s.AuthMethod), sqldb.ScanTime(&s.AuthenticatedAt), sqldb.ScanTime(&s.CreatedAt),
		sqldb.ScanTime(&s.LastSeenAt), sqldb.ScanTime(&s.ExpiresAt), sqldb.ScanTime(&s.SteppedUpAt), (*string)(&s.SteppedUpMethod), sqldb.ScanTime(&s.NudgedAt), &s.UserAgent, &s.IP, &s.SigninPasskey, &s.SteppedUpPasskey}
}

// FindSessionByToken implements session.Store: the session and its user in
// one indexed query, since every authenticated request starts here, with
// the probation ends of the passkeys that proved it (two primary-key
// lookups; a session no passkey proved matches no row).
func (db *DB) FindSessionByToken(ctx context.Context, tokenHash []byte) (*account.SessionWithUser, error) {
	var sw account.SessionWithUser
	dest := append(sessionDest(&sw.Session), userDest(&sw.User)...)
	dest = append(dest, sqldb.ScanTime(&sw.SigninProbation), sqldb.ScanTime(&sw.StepUpProbation))
	err := db.QueryRow(ctx, `SELECT `+sessionColumns+`, `+userColumns+`, sp.probation_until, up.probation_until
		FROM sessions s JOIN users u ON u.id = s.user_id
		LEFT JOIN credentials sp ON sp.id = s.signin_passkey AND sp.user_id = s.user_id
		LEFT JOIN credentials up ON up.id = s.stepped_up_passkey AND up.user_id = s.user_id
		WHERE s.token_hash = ?`, tokenHash).Scan(dest...)
	if err := sqldb.ScanErr(err, "session"); err != nil {
		return nil, err
	}
	return &sw, nil
}

// FindSession implements session.Store.
func (db *DB) FindSession(ctx context.Context, userID, id string) (*account.Session, error) {
	var sess account.Session
	err := db.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions s WHERE s.id = ? AND s.user_id = ?`, id, userID).Scan(sessionDest(&sess)...)
	if err := sqldb.ScanErr(err, "session"); err != nil {
		return nil, err
	}
	return &sess, nil
}

// TouchSession implements session.Store. It is a no-op for a session deleted
// meanwhile.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	_, err := db.Exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, db.Time(at), id)
	return err
}

// ListSessions implements session.Store.
func (db *DB) ListSessions(ctx context.Context, userID string) ([]account.Session, error) {
	rows, err := db.Query(ctx, `SELECT `+sessionColumns+` FROM sessions s WHERE s.user_id = ? ORDER BY s.created_at DESC, s.id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []account.Session
	for rows.Next() {
		var s account.Session
		if err := rows.Scan(sessionDest(&s)...); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// DeleteSession implements session.Store.
func (db *DB) DeleteSession(ctx context.Context, userID, id string) error {
	res, err := db.Exec(ctx, `DELETE FROM sessions WHERE id = ? AND user_id = ?`, id, userID)
	return sqldb.Affected(res, err, "session")
}

// DeleteUserSessions implements member.Store.
func (db *DB) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	res, err := db.Exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// DeleteExpiredSessions implements session.Store.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int, error) {
	res, err := db.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at < ?`,
		db.Time(now), db.Time(idleBefore))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// DeleteOtherSessions implements passwordauth.Store.
func (db *DB) DeleteOtherSessions(ctx context.Context, userID, keepID string) (int, error) {
	res, err := db.Exec(ctx, `DELETE FROM sessions WHERE user_id = ? AND id <> ?`, userID, keepID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// RotateSessionToken implements session.Store: the session keeps its id and
// times but answers only to the token whose hash is tokenHash now.
// ENotFound when the session is gone.
func (db *DB) RotateSessionToken(ctx context.Context, id string, tokenHash []byte) error {
	res, err := db.Exec(ctx, `UPDATE sessions SET token_hash = ? WHERE id = ?`, tokenHash, id)
	return sqldb.Affected(res, err, "session")
}

// StepUpSession implements session.Store: a new token hash and the
// step-up's time and proof, in one statement. ENotFound when the session
// is gone.
func (db *DB) StepUpSession(ctx context.Context, id string, tokenHash []byte, at time.Time, m account.AuthMethod, passkeyID string) error {
	res, err := db.Exec(ctx, `UPDATE sessions SET token_hash = ?, stepped_up_at = ?, stepped_up_method = ?, stepped_up_passkey = ? WHERE id = ?`,
		tokenHash, db.Time(at), string(m), passkeyID, id)
	return sqldb.Affected(res, err, "session")
}

// TrimSessions implements session.Store: it deletes the user's n oldest
// sessions (by creation, then id) but never keepID, and says how many. The
// index sessions_user_created (user_id, created_at, id) hands the subquery
// the oldest rows first, so a member at the cap costs a short index range
// and one DELETE, not a sort of all their sessions.
func (db *DB) TrimSessions(ctx context.Context, userID, keepID string, n int) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	// At the cap each sign-in trims one, so that case has its own
	// statement: SQLite prepares a statement again every time a value is
	// bound to "LIMIT ?" (its plan may depend on it), which cost as much
	// as the DELETE itself.
	q, args := `DELETE FROM sessions WHERE id IN
		(SELECT id FROM sessions WHERE user_id = ? AND id <> ? ORDER BY created_at, id LIMIT 1)`, []any{userID, keepID}
	if n > 1 {
		q, args = `DELETE FROM sessions WHERE id IN
		(SELECT id FROM sessions WHERE user_id = ? AND id <> ? ORDER BY created_at, id LIMIT ?)`, []any{userID, keepID, n}
	}
	res, err := db.Exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	m, err := res.RowsAffected()
	return int(m), err
}

// MarkSessionNudged implements rollout.Store: one conditional UPDATE, so
// two answers racing in one session cannot both nudge.
func (db *DB) MarkSessionNudged(ctx context.Context, sessionID string, at time.Time) (bool, error) {
	res, err := db.Exec(ctx, `UPDATE sessions SET nudged_at = ? WHERE id = ? AND nudged_at IS NULL`, db.Time(at), sessionID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CountLiveSessions implements support.Accounts.
func (db *DB) CountLiveSessions(ctx context.Context, userID string, now time.Time) (int, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT COUNT(*) FROM sessions WHERE user_id = ? AND expires_at > ?`, userID, db.Time(now)).Scan(&n)
	return n, err
}
