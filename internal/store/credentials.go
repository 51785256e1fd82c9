package store

import (
	"context"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// CreateCredential implements passwordauth.Store, member.Credentials and passkey.Store. A second password for one user
// or a WebAuthn credential id already registered (to anyone) is refused by
// unique indexes, whatever the race.
func (db *DB) CreateCredential(ctx context.Context, c *account.Credential) error {
	_, err := db.exec(ctx, `INSERT INTO credentials (id, user_id, type, password_hash, password_format,
			credential_id, public_key, sign_count, aaguid, transports, attachment, backup_eligible, backup_state,
			user_handle, name, created_at, updated_at, last_used_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.UserID, string(c.Type), nullString(c.PasswordHash), nullString(c.PasswordFormat),
		nullBytes(c.CredentialID), nullBytes(c.PublicKey), int64(c.SignCount), nullBytes(c.AAGUID),
		strings.Join(c.Transports, ","), c.Attachment, db.boolArg(c.BackupEligible), db.boolArg(c.BackupState),
		nullBytes(c.UserHandle), c.Name, db.dialect.time(c.CreatedAt), db.dialect.time(c.UpdatedAt), db.nullTime(c.LastUsedAt))
	switch {
	case db.dialect.uniqueOn(err, "credentials", "credential_id"):
		return &account.Error{Code: account.EPasskeyExists, Detail: "this passkey is already registered", Err: err}
	case c.Type == account.CredentialPassword && db.dialect.isUnique(err):
		return &account.Error{Code: account.EInvalidRequest, Detail: "the account already has a password", Err: err}
	}
	return err
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// FindPasswordCredential implements passwordauth.Store, member.Credentials and change.Accounts.
func (db *DB) FindPasswordCredential(ctx context.Context, userID string) (*account.Credential, error) {
	c := account.Credential{Type: account.CredentialPassword}
	err := db.queryRow(ctx, `SELECT id, user_id, password_hash, COALESCE(password_format, ''), created_at, updated_at, last_used_at
		FROM credentials WHERE user_id = ? AND type = 'password'`, userID).
		Scan(&c.ID, &c.UserID, &c.PasswordHash, &c.PasswordFormat, dbTime{&c.CreatedAt}, dbTime{&c.UpdatedAt}, dbTime{&c.LastUsedAt})
	if err := scanErr(err, "password"); err != nil {
		return nil, err
	}
	return &c, nil
}

// UpdatePasswordHash implements passwordauth.Store and member.Credentials.
func (db *DB) UpdatePasswordHash(ctx context.Context, credID, hash, format string, at time.Time) error {
	res, err := db.exec(ctx, `UPDATE credentials SET password_hash = ?, password_format = ?, updated_at = ?, last_used_at = ?
		WHERE id = ? AND type = 'password'`, hash, format, db.dialect.time(at), db.dialect.time(at), credID)
	return affected(res, err, "password")
}

// TouchCredential implements passwordauth.Store.
func (db *DB) TouchCredential(ctx context.Context, credID string, at time.Time) error {
	res, err := db.exec(ctx, `UPDATE credentials SET last_used_at = ? WHERE id = ?`, db.dialect.time(at), credID)
	return affected(res, err, "credential")
}

// affected turns "no row changed" into a coded not-found error.
func affected(res interface{ RowsAffected() (int64, error) }, err error, what string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(what)
	}
	return nil
}

// DeletePasswordCredential implements passwordauth.Store and member.Credentials.
func (db *DB) DeletePasswordCredential(ctx context.Context, userID string) error {
	res, err := db.exec(ctx, `DELETE FROM credentials WHERE user_id = ? AND type = 'password'`, userID)
	return affected(res, err, "password")
}
