package store

import (
	"context"
	"time"

	"github.com/keyshift/keyshift/internal/email/confirm"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// CreateEmailVerification implements confirm.Store.
func (db *DB) CreateEmailVerification(ctx context.Context, v *confirm.Verification) error {
	_, err := db.Exec(ctx, `INSERT INTO email_verifications (token_hash, user_id, email_key, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`,
		v.TokenHash, v.UserID, v.EmailKey, db.Time(v.CreatedAt), db.Time(v.ExpiresAt))
	return err
}

// emailVerificationColumns are returned by every statement of
// confirmation links, in scanEmailVerification's order.
const emailVerificationColumns = `token_hash, user_id, email_key, created_at, expires_at`

func scanEmailVerification(row sqldb.Row) (*confirm.Verification, error) {
	var v confirm.Verification
	err := row.Scan(&v.TokenHash, &v.UserID, &v.EmailKey, sqldb.ScanTime(&v.CreatedAt), sqldb.ScanTime(&v.ExpiresAt))
	if err := sqldb.ScanErr(err, "email verification"); err != nil {
		return nil, err
	}
	return &v, nil
}

// DeleteUserEmailVerifications removes every confirmation link of the user
// and says how many there were.
func (db *DB) DeleteUserEmailVerifications(ctx context.Context, userID string) (int, error) {
	res, err := db.Exec(ctx, `DELETE FROM email_verifications WHERE user_id = ?`, userID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// DeleteExpiredEmailVerifications removes links nobody used in time.
func (db *DB) DeleteExpiredEmailVerifications(ctx context.Context, now time.Time) (int, error) {
	res, err := db.Exec(ctx, `DELETE FROM email_verifications WHERE expires_at <= ?`, db.Time(now))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
