package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/change"
)

// emailChangeColumns are returned by every email-change statement, in
// scanEmailChange's order. A link from before undo_since existed undoes
// what came after it was made.
const emailChangeColumns = `token_hash, kind, user_id, email, email_key, old_key, COALESCE(session_id, ''), cancel_hash,
	COALESCE(undo_since, created_at), password_hash, password_format, created_at, expires_at`

func scanEmailChange(row rowScanner) (*change.Change, error) {
	var c change.Change
	var pwHash, pwFormat sql.NullString
	err := row.Scan(&c.TokenHash, (*string)(&c.Kind), &c.UserID, &c.Email, &c.EmailKey, &c.OldKey, &c.SessionID, &c.CancelHash,
		dbTime{&c.UndoSince}, &pwHash, &pwFormat, dbTime{&c.CreatedAt}, dbTime{&c.ExpiresAt})
	if err := scanErr(err, "email change"); err != nil {
		return nil, err
	}
	if pwHash.Valid {
		c.Password = &account.Credential{Type: account.CredentialPassword, UserID: c.UserID, PasswordHash: pwHash.String, PasswordFormat: pwFormat.String}
	}
	return &c, nil
}

// CreateEmailChange implements change.Store.
func (db *DB) CreateEmailChange(ctx context.Context, c *change.Change) error {
	var pwHash, pwFormat any
	if c.Password != nil {
		pwHash, pwFormat = c.Password.PasswordHash, c.Password.PasswordFormat
	}
	_, err := db.exec(ctx, `INSERT INTO email_changes (token_hash, kind, user_id, email, email_key, old_key, session_id, cancel_hash,
			undo_since, password_hash, password_format, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.TokenHash, string(c.Kind), c.UserID, c.Email, c.EmailKey, c.OldKey, nullString(c.SessionID), nullBytes(c.CancelHash),
		db.nullTime(c.UndoSince), pwHash, pwFormat, db.dialect.time(c.CreatedAt), db.dialect.time(c.ExpiresAt))
	return err
}

// FindEmailChangeByCancel implements change.Store: the pending change
// whose cancel link's token hashes to cancelHash (index email_changes_cancel).
func (db *DB) FindEmailChangeByCancel(ctx context.Context, cancelHash []byte, now time.Time) (*change.Change, error) {
	return scanEmailChange(db.queryRow(ctx, `SELECT `+emailChangeColumns+` FROM email_changes
		WHERE cancel_hash = ? AND kind = 'confirm' AND expires_at > ?`, cancelHash, db.dialect.time(now)))
}

// DeleteUserEmailChanges implements change.Store.
func (db *DB) DeleteUserEmailChanges(ctx context.Context, userID string, kinds ...change.Kind) (int, error) {
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

// DeletePendingEmailChanges implements member.Store: the confirmation
// links, not the revert links.
func (db *DB) DeletePendingEmailChanges(ctx context.Context, userID string) (int, error) {
	return db.DeleteUserEmailChanges(ctx, userID, change.KindConfirm)
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

// FindEmailReservations implements notice.Store and change.Store: the
// addresses userID moved away from and holds reserved at now (its live
// revert links), oldest first.
func (db *DB) FindEmailReservations(ctx context.Context, userID string, now time.Time) ([]account.Reservation, error) {
	rows, err := db.query(ctx, `SELECT user_id, email, email_key, expires_at FROM email_changes
		WHERE user_id = ? AND kind = 'revert' AND expires_at > ? ORDER BY created_at, email_key`, userID, db.dialect.time(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []account.Reservation
	for rows.Next() {
		var r account.Reservation
		if err := rows.Scan(&r.UserID, &r.Email, &r.EmailKey, dbTime{&r.ExpiresAt}); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// HasEmailReservations implements importer.Store: whether any address is
// reserved at now.
func (db *DB) HasEmailReservations(ctx context.Context, now time.Time) (bool, error) {
	var n int
	err := db.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM email_changes WHERE kind = 'revert' AND expires_at > ? LIMIT 1) r`,
		db.dialect.time(now)).Scan(&n)
	return n > 0, err
}

// reservedByOther reports whether an account other than userID holds key
// reserved at now (a live revert link of its own to key).
func (db *DB) reservedByOther(ctx context.Context, key, userID string, now time.Time) (bool, error) {
	var n int
	err := db.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM email_changes
		WHERE kind = 'revert' AND email_key = ? AND user_id <> ? AND expires_at > ? LIMIT 1) r`,
		key, userID, db.dialect.time(now)).Scan(&n)
	return n > 0, err
}

// UpdateUserEmail implements change.Store. The unique index on
// email_key decides a race for an address an account has, and an address
// another account holds reserved is refused alike: EEmailTaken either way,
// and nothing changes, in a savepoint of the caller's transaction, which
// stays usable (a revert carries on with its clean-up).
func (db *DB) UpdateUserEmail(ctx context.Context, userID, email, key string, verified bool, at time.Time) error {
	return db.atomically(ctx, "update_user_email", func(ctx context.Context) error {
		res, err := db.exec(ctx, `UPDATE users SET email = ?, email_key = ?, email_verified = ?, updated_at = ? WHERE id = ?`,
			email, key, db.boolArg(verified), db.dialect.time(at), userID)
		if db.dialect.uniqueOn(err, "users", "email_key") {
			return emailKeyTaken(err)
		}
		if err := affected(res, err, "user"); err != nil {
			return err
		}
		// Checked after the write: on PostgreSQL the UPDATE waited for any
		// transaction moving an account off key, whose reservation this
		// later statement then sees.
		return db.refuseReserved(ctx, key, userID, at)
	})
}

// refuseReserved is EEmailTaken when another account than userID holds key
// reserved at now.
func (db *DB) refuseReserved(ctx context.Context, key, userID string, now time.Time) error {
	reserved, err := db.reservedByOther(ctx, key, userID, now)
	if err != nil {
		return err
	}
	if reserved {
		return emailKeyTaken(nil)
	}
	return nil
}

func emailKeyTaken(err error) error {
	return &account.Error{Code: account.EEmailTaken, Field: "email", Detail: "another account has this email address", Err: err}
}

// atomically runs fn so that its writes happen all or not at all: in a
// savepoint of the transaction in ctx (whose failure leaves that
// transaction usable, even on PostgreSQL after a unique violation), or in a
// transaction of its own.
func (db *DB) atomically(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return db.savepoint(ctx, name, fn)
	}
	return db.InTx(ctx, fn)
}
