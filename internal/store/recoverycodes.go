package store

import (
	"context"
	"time"
)

// ReplaceRecoveryCodes implements account.Store: the old set goes and the
// new one arrives in the caller's transaction, so a member never holds two
// sets, nor none after a failed regeneration.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, at time.Time) error {
	return db.InTx(ctx, func(ctx context.Context) error {
		if _, err := db.exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := db.exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)`,
				userID, h, db.dialect.time(at)); err != nil {
				return err
			}
		}
		return nil
	})
}

// UseRecoveryCode implements account.Store: one DELETE … RETURNING, so of
// concurrent redemptions of one code exactly one gets the row.
func (db *DB) UseRecoveryCode(ctx context.Context, userID string, hash []byte) error {
	var got string
	err := db.queryRowW(ctx, `DELETE FROM recovery_codes WHERE user_id = ? AND code_hash = ? RETURNING user_id`,
		userID, hash).Scan(&got)
	return scanErr(err, "recovery code")
}

// CountRecoveryCodes implements account.Store.
func (db *DB) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	err := db.queryRow(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?`, userID).Scan(&n)
	return n, err
}
