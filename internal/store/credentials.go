package store

import (
	"context"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// CreateCredential implements passwordauth.Store, member.Credentials and passkey.Store. A second password for one user
// or a WebAuthn credential id already registered (to anyone) is refused by
// unique indexes, whatever the race.
func (db *DB) CreateCredential(ctx context.Context, c *account.Credential) error {
	_, err := db.Exec(ctx, `INSERT INTO credentials (id, user_id, type, password_hash, password_format,
			credential_id, public_key, sign_count, aaguid, transports, attachment, backup_eligible, backup_state,
			user_handle, name, created_at, updated_at, last_used_at,
			probation_until, probation_via, added_session_id, disown_hash, disown_expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.UserID, string(c.Type), sqldb.NullString(c.PasswordHash), sqldb.NullString(c.PasswordFormat),
		sqldb.NullBytes(c.CredentialID), sqldb.NullBytes(c.PublicKey), int64(c.SignCount), sqldb.NullBytes(c.AAGUID),
		strings.Join(c.Transports, ","), c.Attachment, db.Bool(c.BackupEligible), db.Bool(c.BackupState),
		sqldb.NullBytes(c.UserHandle), c.Name, db.Time(c.CreatedAt), db.Time(c.UpdatedAt), db.NullTime(c.LastUsedAt),
		db.NullTime(c.ProbationUntil), string(c.ProbationVia), c.AddedSessionID, sqldb.NullBytes(c.DisownHash), db.NullTime(c.DisownExpiresAt))
	switch {
	case db.UniqueOn(err, "credentials", "credential_id"):
		return &account.Error{Code: account.EPasskeyExists, Detail: "this passkey is already registered", Err: err}
	case c.Type == account.CredentialPassword && db.IsUnique(err):
		return &account.Error{Code: account.EInvalidRequest, Detail: "the account already has a password", Err: err}
	}
	return err
}

// FindPasswordCredential implements passwordauth.Store, member.Credentials and change.Accounts.
func (db *DB) FindPasswordCredential(ctx context.Context, userID string) (*account.Credential, error) {
	c := account.Credential{Type: account.CredentialPassword}
	err := db.QueryRow(ctx, `SELECT id, user_id, password_hash, COALESCE(password_format, ''), created_at, updated_at, last_used_at
		FROM credentials WHERE user_id = ? AND type = 'password'`, userID).
		Scan(&c.ID, &c.UserID, &c.PasswordHash, &c.PasswordFormat, sqldb.ScanTime(&c.CreatedAt), sqldb.ScanTime(&c.UpdatedAt), sqldb.ScanTime(&c.LastUsedAt))
	if err := sqldb.ScanErr(err, "password"); err != nil {
		return nil, err
	}
	return &c, nil
}

// UpdatePasswordHash implements passwordauth.Store and member.Credentials.
func (db *DB) UpdatePasswordHash(ctx context.Context, credID, hash, format string, at time.Time) error {
	res, err := db.Exec(ctx, `UPDATE credentials SET password_hash = ?, password_format = ?, updated_at = ?, last_used_at = ?
		WHERE id = ? AND type = 'password'`, hash, format, db.Time(at), db.Time(at), credID)
	return sqldb.Affected(res, err, "password")
}

// TouchCredential implements passwordauth.Store.
func (db *DB) TouchCredential(ctx context.Context, credID string, at time.Time) error {
	res, err := db.Exec(ctx, `UPDATE credentials SET last_used_at = ? WHERE id = ?`, db.Time(at), credID)
	return sqldb.Affected(res, err, "credential")
}

// DeletePasswordCredential implements passwordauth.Store and member.Credentials.
func (db *DB) DeletePasswordCredential(ctx context.Context, userID string) error {
	res, err := db.Exec(ctx, `DELETE FROM credentials WHERE user_id = ? AND type = 'password'`, userID)
	return sqldb.Affected(res, err, "password")
}
