package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/change"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// emailChangeColumns are returned by every email-change statement, in
// scanEmailChange's order. A link from before undo_since existed undoes
// what came after it was made.
const emailChangeColumns = `token_hash, kind, user_id, email, email_key, old_key, COALESCE(session_id, ''), cancel_hash,
	COALESCE(undo_since, created_at), password_hash, password_format, created_at, expires_at`

func scanEmailChange(row sqldb.Row) (*change.Change, error) {
	var c change.Change
	var pwHash, pwFormat sql.NullString
	err := row.Scan(&c.TokenHash, (*string)(&c.Kind), &c.UserID, &c.Email, &c.EmailKey, &c.OldKey, &c.SessionID, &c.CancelHash,
		sqldb.ScanTime(&c.UndoSince), &pwHash, &pwFormat, sqldb.ScanTime(&c.CreatedAt), sqldb.ScanTime(&c.ExpiresAt))
	if err := sqldb.ScanErr(err, "email change"); err != nil {
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
	_, err := db.Exec(ctx, `INSERT INTO email_changes (token_hash, kind, user_id, email, email_key, old_key, session_id, cancel_hash,
			undo_since, password_hash, password_format, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.TokenHash, string(c.Kind), c.UserID, c.Email, c.EmailKey, c.OldKey, sqldb.NullString(c.SessionID), sqldb.NullBytes(c.CancelHash),
		db.NullTime(c.UndoSince), pwHash, pwFormat, db.Time(c.CreatedAt), db.Time(c.ExpiresAt))
	return err
}

// FindEmailChangeByCancel implements change.Store: the pending change
// whose cancel link's token hashes to cancelHash (index email_changes_cancel).
func (db *DB) FindEmailChangeByCancel(ctx context.Context, cancelHash []byte, now time.Time) (*change.Change, error) {
	return scanEmailChange(db.QueryRow(ctx, `SELECT `+emailChangeColumns+` FROM email_changes
		WHERE cancel_hash = ? AND kind = 'confirm' AND expires_at > ?`, cancelHash, db.Time(now)))
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
	res, err := db.Exec(ctx, q, args...)
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
	res, err := db.Exec(ctx, `DELETE FROM email_changes WHERE expires_at <= ?`, db.Time(now))
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
	rows, err := db.Query(ctx, `SELECT user_id, email, email_key, expires_at FROM email_changes
		WHERE user_id = ? AND kind = 'revert' AND expires_at > ? ORDER BY created_at, email_key`, userID, db.Time(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []account.Reservation
	for rows.Next() {
		var r account.Reservation
		if err := rows.Scan(&r.UserID, &r.Email, &r.EmailKey, sqldb.ScanTime(&r.ExpiresAt)); err != nil {
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
	err := db.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM email_changes WHERE kind = 'revert' AND expires_at > ? LIMIT 1) r`,
		db.Time(now)).Scan(&n)
	return n > 0, err
}

// reservedByOther reports whether an account other than userID holds key
// reserved at now (a live revert link of its own to key).
func (db *DB) reservedByOther(ctx context.Context, key, userID string, now time.Time) (bool, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM email_changes
		WHERE kind = 'revert' AND email_key = ? AND user_id <> ? AND expires_at > ? LIMIT 1) r`,
		key, userID, db.Time(now)).Scan(&n)
	return n > 0, err
}

// UpdateUserEmail implements change.Store. The unique index on
// email_key decides a race for an address an account has, and an address
// another account holds reserved is refused alike: EEmailTaken either way,
// and nothing changes, in a savepoint of the caller's transaction, which
// stays usable (a revert carries on with its clean-up).
func (db *DB) UpdateUserEmail(ctx context.Context, userID, email, key string, verified bool, at time.Time) error {
	return db.Atomically(ctx, "update_user_email", func(ctx context.Context) error {
		res, err := db.Exec(ctx, `UPDATE users SET email = ?, email_key = ?, email_verified = ?, updated_at = ? WHERE id = ?`,
			email, key, db.Bool(verified), db.Time(at), userID)
		if db.UniqueOn(err, "users", "email_key") {
			return emailKeyTaken(err)
		}
		if err := sqldb.Affected(res, err, "user"); err != nil {
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

// DeleteEmailChangeLinks implements support.Accounts: every email change
// link of the user, revert links too.
func (db *DB) DeleteEmailChangeLinks(ctx context.Context, userID string) (int, error) {
	return db.DeleteUserEmailChanges(ctx, userID)
}
