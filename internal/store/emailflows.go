package store

import (
	"context"
	"time"

	"github.com/keyshift/keyshift/internal/email/signin"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// emailFlowColumns are returned by every email-flow statement, in
// scanEmailFlow's order.
const emailFlowColumns = `id, email, email_key, token_hash, code_hash, attempts, created_at, expires_at`

func scanEmailFlow(row sqldb.Row) (*signin.Flow, error) {
	var f signin.Flow
	err := row.Scan(&f.ID, &f.Email, &f.EmailKey, &f.TokenHash, &f.CodeHash, &f.Attempts, sqldb.ScanTime(&f.CreatedAt), sqldb.ScanTime(&f.ExpiresAt))
	if err := sqldb.ScanErr(err, "email sign-in"); err != nil {
		return nil, err
	}
	return &f, nil
}

// CreateEmailFlow implements signin.Store.
func (db *DB) CreateEmailFlow(ctx context.Context, f *signin.Flow) error {
	_, err := db.Exec(ctx, `INSERT INTO email_flows (id, email, email_key, token_hash, code_hash, attempts, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.Email, f.EmailKey, f.TokenHash, f.CodeHash, f.Attempts,
		db.Time(f.CreatedAt), db.Time(f.ExpiresAt))
	return err
}

// FindNewestEmailFlow implements signin.Store (index email_flows_key_created).
func (db *DB) FindNewestEmailFlow(ctx context.Context, emailKey string, now time.Time) (*signin.Flow, error) {
	return scanEmailFlow(db.QueryRow(ctx, `SELECT `+emailFlowColumns+` FROM email_flows
		WHERE email_key = ? AND expires_at > ? ORDER BY created_at DESC, id DESC LIMIT 1`, emailKey, db.Time(now)))
}

// TakeEmailFlow implements signin.Store: the code's way to a flow, taken
// as its link is (links.go), by id.
func (db *DB) TakeEmailFlow(ctx context.Context, id string, now time.Time) (*signin.Flow, error) {
	return db.emailFlows().TakeBy(ctx, "id", id, now)
}

// TryEmailCode implements signin.Store: the try is counted in the same
// statement that checks the limit, so concurrent tries cannot exceed it.
func (db *DB) TryEmailCode(ctx context.Context, id string, now time.Time, maxAttempts int) (*signin.Flow, error) {
	return scanEmailFlow(db.QueryRowW(ctx, `UPDATE email_flows SET attempts = attempts + 1
		WHERE id = ? AND expires_at > ? AND attempts < ?
		RETURNING `+emailFlowColumns, id, db.Time(now), maxAttempts))
}

// DeleteEmailFlows implements change.Store and signin.Store: every
// flow, live or not, for one of keys, and how many there were.
func (db *DB) DeleteEmailFlows(ctx context.Context, keys ...string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	res, err := db.Exec(ctx, `DELETE FROM email_flows WHERE email_key IN (`+sqldb.Placeholders(len(keys))+`)`, sqldb.Anys(keys)...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// DeleteExpiredEmailFlows removes flows nobody finished.
func (db *DB) DeleteExpiredEmailFlows(ctx context.Context, now time.Time) (int, error) {
	res, err := db.Exec(ctx, `DELETE FROM email_flows WHERE expires_at <= ?`, db.Time(now))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// VerifyUserEmail implements signin.Store.
func (db *DB) VerifyUserEmail(ctx context.Context, userID string, at time.Time) error {
	res, err := db.Exec(ctx, `UPDATE users SET email_verified = ?, updated_at = ? WHERE id = ?`,
		db.Bool(true), db.Time(at), userID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return sqldb.NotFound("user")
	}
	return nil
}
