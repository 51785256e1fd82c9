package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// ReplaceRecoveryCodes implements recovery.Store: the old set goes and the
// new one arrives in the caller's transaction, so a member never holds two
// sets, nor none after a failed regeneration.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, codes []account.RecoveryCodeHash, at time.Time) error {
	return db.InTx(ctx, func(ctx context.Context) error {
		if _, err := db.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		for _, c := range codes {
			if _, err := db.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash, pepper_id, created_at) VALUES (?, ?, ?, ?)`,
				userID, c.Hash, c.PepperID, db.Time(at)); err != nil {
				return err
			}
		}
		return nil
	})
}

// UseRecoveryCode implements recovery.Store: one DELETE … RETURNING over
// every form the code may be stored in, so of concurrent redemptions of one
// code exactly one gets the row.
func (db *DB) UseRecoveryCode(ctx context.Context, userID string, hashes [][]byte) error {
	if len(hashes) == 0 {
		return sqldb.ScanErr(sql.ErrNoRows, "recovery code")
	}
	args := make([]any, 0, len(hashes)+1)
	args = append(args, userID)
	for _, h := range hashes {
		args = append(args, h)
	}
	var got string
	err := db.QueryRowW(ctx, `DELETE FROM recovery_codes WHERE user_id = ? AND code_hash IN (?`+strings.Repeat(", ?", len(hashes)-1)+`)
		RETURNING user_id`, args...).Scan(&got)
	return sqldb.ScanErr(err, "recovery code")
}

// CountRecoveryCodesByPepper counts every member's unused recovery codes by
// the id of the pepper they were made under ("" for the plain SHA-256 of
// codes made before peppers), so an operator who rotated the pepper sees
// when no code needs the old one any more.
func (db *DB) CountRecoveryCodesByPepper(ctx context.Context) (map[string]int, error) {
	rows, err := db.Query(ctx, `SELECT pepper_id, COUNT(*) FROM recovery_codes GROUP BY pepper_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

// CountRecoveryCodes implements recovery.Store.
func (db *DB) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?`, userID).Scan(&n)
	return n, err
}

// DeleteRecoveryCodesSince implements member.Credentials.
func (db *DB) DeleteRecoveryCodesSince(ctx context.Context, userID string, since time.Time) (int, error) {
	res, err := db.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ? AND created_at >= ?`, userID, db.Time(since))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
