package store

import (
	"context"
	"time"

	"github.com/keyshift/keyshift/internal/email/stepup"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// reauthCodeColumns are returned by every step-up code statement, in
// scanReauthCode's order.
const reauthCodeColumns = `id, session_id, user_id, code_hash, attempts, created_at, expires_at`

func scanReauthCode(row sqldb.Row) (*stepup.Code, error) {
	var c stepup.Code
	err := row.Scan(&c.ID, &c.SessionID, &c.UserID, &c.CodeHash, &c.Attempts, sqldb.ScanTime(&c.CreatedAt), sqldb.ScanTime(&c.ExpiresAt))
	if err := sqldb.ScanErr(err, "step-up code"); err != nil {
		return nil, err
	}
	return &c, nil
}

// ReplaceReauthCode implements stepup.Store: a session has one code at most
// (session_id is unique), the newest.
func (db *DB) ReplaceReauthCode(ctx context.Context, c *stepup.Code) error {
	if _, err := db.Exec(ctx, `DELETE FROM reauth_codes WHERE session_id = ?`, c.SessionID); err != nil {
		return err
	}
	_, err := db.Exec(ctx, `INSERT INTO reauth_codes (id, session_id, user_id, code_hash, attempts, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, c.ID, c.SessionID, c.UserID, c.CodeHash, c.Attempts, db.Time(c.CreatedAt), db.Time(c.ExpiresAt))
	return err
}

// TryReauthCode implements stepup.Store: the try is counted in the
// statement that checks the limit, so concurrent tries cannot exceed it.
func (db *DB) TryReauthCode(ctx context.Context, sessionID string, now time.Time, maxAttempts int) (*stepup.Code, error) {
	return scanReauthCode(db.QueryRowW(ctx, `UPDATE reauth_codes SET attempts = attempts + 1
		WHERE session_id = ? AND expires_at > ? AND attempts < ?
		RETURNING `+reauthCodeColumns, sessionID, db.Time(now), maxAttempts))
}

// TakeReauthCode implements stepup.Store: one DELETE … RETURNING, so a
// code works once however many answers race.
func (db *DB) TakeReauthCode(ctx context.Context, id string, now time.Time) (*stepup.Code, error) {
	return scanReauthCode(db.QueryRowW(ctx, `DELETE FROM reauth_codes WHERE id = ? AND expires_at > ? RETURNING `+reauthCodeColumns,
		id, db.Time(now)))
}

// DeleteExpiredReauthCodes removes step-up codes nobody used.
func (db *DB) DeleteExpiredReauthCodes(ctx context.Context, now time.Time) (int, error) {
	res, err := db.Exec(ctx, `DELETE FROM reauth_codes WHERE expires_at <= ?`, db.Time(now))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
