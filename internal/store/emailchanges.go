package store

import (
	"context"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/emailchange"
)

// CreateEmailChange implements emailchange.Store.
func (db *DB) CreateEmailChange(ctx context.Context, c *emailchange.Change) error {
	_, err := db.exec(ctx, `INSERT INTO email_changes (token_hash, kind, user_id, email, email_key, old_key, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.TokenHash, string(c.Kind), c.UserID, c.Email, c.EmailKey, c.OldKey, db.dialect.time(c.CreatedAt), db.dialect.time(c.ExpiresAt))
	return err
}

// TakeEmailChange implements emailchange.Store: one DELETE … RETURNING, so
// a link works once however many requests race, on any node.
func (db *DB) TakeEmailChange(ctx context.Context, kind emailchange.Kind, tokenHash []byte, now time.Time) (*emailchange.Change, error) {
	var c emailchange.Change
	err := db.queryRowW(ctx, `DELETE FROM email_changes WHERE token_hash = ? AND kind = ? AND expires_at > ?
		RETURNING token_hash, kind, user_id, email, email_key, old_key, created_at, expires_at`,
		tokenHash, string(kind), db.dialect.time(now)).
		Scan(&c.TokenHash, (*string)(&c.Kind), &c.UserID, &c.Email, &c.EmailKey, &c.OldKey, dbTime{&c.CreatedAt}, dbTime{&c.ExpiresAt})
	if err := scanErr(err, "email change"); err != nil {
		return nil, err
	}
	return &c, nil
}

// DeleteUserEmailChanges implements emailchange.Store.
func (db *DB) DeleteUserEmailChanges(ctx context.Context, userID string, kinds ...emailchange.Kind) (int, error) {
	q, args := `DELETE FROM email_changes WHERE user_id = ?`, []any{userID}
	if len(kinds) > 0 {
		q += ` AND kind IN (?` + strings.Repeat(", ?", len(kinds)-1) + `)`
		for _, k := range kinds {
			args = append(args, string(k))
		}
	}
	res, err := db.exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// DeleteExpiredEmailChanges removes links nobody used in time.
func (db *DB) DeleteExpiredEmailChanges(ctx context.Context, now time.Time) (int, error) {
	res, err := db.exec(ctx, `DELETE FROM email_changes WHERE expires_at <= ?`, db.dialect.time(now))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// UpdateUserEmail implements emailchange.Store. The unique index on
// email_key decides a race for an address: the loser gets EEmailTaken.
func (db *DB) UpdateUserEmail(ctx context.Context, userID, email, key string, verified bool, at time.Time) error {
	res, err := db.exec(ctx, `UPDATE users SET email = ?, email_key = ?, email_verified = ?, updated_at = ? WHERE id = ?`,
		email, key, db.boolArg(verified), db.dialect.time(at), userID)
	if db.dialect.uniqueOn(err, "users", "email_key") {
		return &account.Error{Code: account.EEmailTaken, Field: "email", Detail: "another account has this email address", Err: err}
	}
	return affected(res, err, "user")
}
