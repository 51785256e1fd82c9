package store

import (
	"context"
	"fmt"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// CreateUser implements passwordauth.Users and signin.Users.
func (db *DB) CreateUser(ctx context.Context, u *account.User) error {
	if !u.Origin.Valid() {
		// Where an account came from decides whether an import may take it
		// for the same member (importer): it is never guessed.
		return fmt.Errorf("store: creating user %s: origin %q is not one of signup, email, import", u.ID, u.Origin)
	}
	return db.Atomically(ctx, "create_user", func(ctx context.Context) error {
		_, err := db.Exec(ctx, `INSERT INTO users (id, email, email_key, email_verified, name, external_id, webauthn_id, created_at, updated_at, origin, ramp_subject)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.EmailKey, db.Bool(u.EmailVerified), u.Name, sqldb.NullString(u.ExternalID), u.WebAuthnID,
			db.Time(u.CreatedAt), db.Time(u.UpdatedAt), string(u.Origin), sqldb.NullString(u.RampSubject))
		if db.UniqueOn(err, "users", "email_key") {
			return &account.Error{Code: account.EEmailTaken, Field: "email", Detail: "an account with this email already exists", Err: err}
		}
		if err != nil {
			return err
		}
		// An address another account holds reserved (account.Reservation)
		// is taken too, at the account's creation time. Checked after the
		// INSERT, which on PostgreSQL waited for any transaction moving an
		// account off the address: this later statement sees its
		// reservation.
		return db.refuseReserved(ctx, u.EmailKey, u.ID, u.CreatedAt)
	})
}

// userColumns are selected by every user query, in scanUser's order. The
// last two are derived from credentials, so one query answers "who is this
// and how do they sign in".
const userColumns = `u.id, u.email, u.email_key, u.email_verified, u.name, COALESCE(u.external_id, ''), u.webauthn_id, u.created_at, u.updated_at, u.origin, u.device_epoch, COALESCE(u.ramp_subject, ''),
	EXISTS (SELECT 1 FROM credentials c WHERE c.user_id = u.id AND c.type = 'password'),
	(SELECT COUNT(*) FROM credentials c WHERE c.user_id = u.id AND c.type = 'webauthn')`

func userDest(u *account.User) []any {
	return []any{&u.ID, &u.Email, &u.EmailKey, sqldb.ScanBool(&u.EmailVerified), &u.Name, &u.ExternalID, &u.WebAuthnID,
		sqldb.ScanTime(&u.CreatedAt), sqldb.ScanTime(&u.UpdatedAt), (*string)(&u.Origin), &u.DeviceEpoch, &u.RampSubject, sqldb.ScanBool(&u.HasPassword), &u.PasskeyCount}
}

// FindUserByEmailKey implements passwordauth.Users, recovery.Users and passkey.Store.
func (db *DB) FindUserByEmailKey(ctx context.Context, key string) (*account.User, error) {
	var u account.User
	err := db.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.email_key = ?`, key).Scan(userDest(&u)...)
	if err := sqldb.ScanErr(err, "user"); err != nil {
		return nil, err
	}
	return &u, nil
}

// FindEmailHolder implements passwordauth.Users and signin.Users: the account whose address has
// key, else the account holding key reserved at now (its newest live revert
// link to key), in one statement over two indexes.
func (db *DB) FindEmailHolder(ctx context.Context, key string, now time.Time) (*account.User, error) {
	var u account.User
	var rank int
	err := db.QueryRow(ctx, `SELECT `+userColumns+`, 0 AS rank FROM users u WHERE u.email_key = ?
		UNION ALL
		SELECT `+userColumns+`, 1 AS rank FROM email_changes r JOIN users u ON u.id = r.user_id
			WHERE r.kind = 'revert' AND r.email_key = ? AND r.expires_at > ?
		ORDER BY rank LIMIT 1`, key, key, db.Time(now)).Scan(append(userDest(&u), &rank)...)
	if err := sqldb.ScanErr(err, "user"); err != nil {
		return nil, err
	}
	return &u, nil
}

// LockUser implements member.Store: on PostgreSQL the row lock FOR NO KEY
// UPDATE, which foreign-key checks (a session inserted for the user) do
// not wait for; SQLite's one writer runs write transactions one at a time,
// so there the lock is already held and this only checks the user exists.
func (db *DB) LockUser(ctx context.Context, id string) error {
	q := `SELECT id FROM users WHERE id = ?`
	if db.Dialect() == "postgres" {
		q += ` FOR NO KEY UPDATE`
	}
	var got string
	return sqldb.ScanErr(db.QueryRowW(ctx, q, id).Scan(&got), "user")
}

// FindUser implements passwordauth.Users and the other interfaces that read an account.
func (db *DB) FindUser(ctx context.Context, id string) (*account.User, error) {
	var u account.User
	err := db.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = ?`, id).Scan(userDest(&u)...)
	if err := sqldb.ScanErr(err, "user"); err != nil {
		return nil, err
	}
	return &u, nil
}

// CountUsers returns how many accounts exist.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// BumpDeviceEpoch moves the user's device epoch on, so every device cookie
// issued before is a stranger's browser again; it returns the new epoch.
func (db *DB) BumpDeviceEpoch(ctx context.Context, userID string) (int, error) {
	var epoch int
	err := db.QueryRowW(ctx, `UPDATE users SET device_epoch = device_epoch + 1 WHERE id = ? RETURNING device_epoch`, userID).Scan(&epoch)
	return epoch, sqldb.ScanErr(err, "user")
}
