package store

import (
	"context"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/passkey"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// CreateFlow implements passkey.Store.
func (db *DB) CreateFlow(ctx context.Context, f *passkey.Flow) error {
	_, err := db.Exec(ctx, `INSERT INTO webauthn_flows (id, kind, user_id, session_id, data, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.Kind, sqldb.NullString(f.UserID), sqldb.NullString(f.SessionID), string(f.Data),
		db.Time(f.CreatedAt), db.Time(f.ExpiresAt))
	return err
}

// TakeFlow implements passkey.Store: one DELETE … RETURNING, so of two
// requests finishing the same ceremony at once exactly one gets the row.
func (db *DB) TakeFlow(ctx context.Context, id, kind string) (*passkey.Flow, error) {
	f := passkey.Flow{ID: id, Kind: kind}
	var data string
	err := db.QueryRowW(ctx, `DELETE FROM webauthn_flows WHERE id = ? AND kind = ?
		RETURNING COALESCE(user_id, ''), COALESCE(session_id, ''), data, created_at, expires_at`, id, kind).
		Scan(&f.UserID, &f.SessionID, &data, sqldb.ScanTime(&f.CreatedAt), sqldb.ScanTime(&f.ExpiresAt))
	if err := sqldb.ScanErr(err, "ceremony"); err != nil {
		return nil, err
	}
	f.Data = []byte(data)
	return &f, nil
}

// FindFlow implements passkey.Store: the flow, left in place.
func (db *DB) FindFlow(ctx context.Context, id, kind string) (*passkey.Flow, error) {
	f := passkey.Flow{ID: id, Kind: kind}
	var data string
	err := db.QueryRow(ctx, `SELECT COALESCE(user_id, ''), COALESCE(session_id, ''), data, created_at, expires_at
		FROM webauthn_flows WHERE id = ? AND kind = ?`, id, kind).
		Scan(&f.UserID, &f.SessionID, &data, sqldb.ScanTime(&f.CreatedAt), sqldb.ScanTime(&f.ExpiresAt))
	if err := sqldb.ScanErr(err, "ceremony"); err != nil {
		return nil, err
	}
	f.Data = []byte(data)
	return &f, nil
}

// DeleteExpiredFlows removes ceremonies nobody finished.
func (db *DB) DeleteExpiredFlows(ctx context.Context, now time.Time) (int, error) {
	res, err := db.Exec(ctx, `DELETE FROM webauthn_flows WHERE expires_at <= ?`, db.Time(now))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// SpendCeremony implements passkey.Store. ON CONFLICT DO NOTHING rather
// than a caught unique violation: on PostgreSQL a violation would abort the
// caller's transaction. A concurrent transaction spending the same id waits
// for the first to end, then inserts nothing (or, if the first rolled back,
// spends it).
func (db *DB) SpendCeremony(ctx context.Context, id []byte, expires time.Time) (bool, error) {
	res, err := db.Exec(ctx, `INSERT INTO webauthn_spent (expires_at, id) VALUES (?, ?) ON CONFLICT DO NOTHING`,
		db.Time(expires), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteSpentCeremonies forgets the spent sign-in ceremonies that expired
// before before: a flowId past its expiry is refused before this table is
// looked at.
func (db *DB) DeleteSpentCeremonies(ctx context.Context, before time.Time) (int, error) {
	res, err := db.Exec(ctx, `DELETE FROM webauthn_spent WHERE expires_at < ?`, db.Time(before))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// FindUserByWebAuthnID implements passkey.Store.
func (db *DB) FindUserByWebAuthnID(ctx context.Context, handle []byte) (*account.User, error) {
	var u account.User
	err := db.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.webauthn_id = ?`, handle).Scan(userDest(&u)...)
	if err := sqldb.ScanErr(err, "user"); err != nil {
		return nil, err
	}
	return &u, nil
}

const passkeyColumns = `id, user_id, credential_id, public_key, sign_count, aaguid, transports, attachment,
	backup_eligible, backup_state, user_handle, name, created_at, updated_at, last_used_at,
	probation_until, probation_via, added_session_id`

func passkeyDest(c *account.Credential, transports *string) []any {
	return []any{&c.ID, &c.UserID, &c.CredentialID, &c.PublicKey, &c.SignCount, &c.AAGUID, transports, &c.Attachment,
		sqldb.ScanBool(&c.BackupEligible), sqldb.ScanBool(&c.BackupState), &c.UserHandle, &c.Name,
		sqldb.ScanTime(&c.CreatedAt), sqldb.ScanTime(&c.UpdatedAt), sqldb.ScanTime(&c.LastUsedAt),
		sqldb.ScanTime(&c.ProbationUntil), (*string)(&c.ProbationVia), &c.AddedSessionID}
}

func splitTransports(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// ListPasskeys implements passkey.Store: the user's WebAuthn credentials,
// oldest first.
func (db *DB) ListPasskeys(ctx context.Context, userID string) ([]account.Credential, error) {
	rows, err := db.Query(ctx, `SELECT `+passkeyColumns+` FROM credentials
		WHERE user_id = ? AND type = 'webauthn' ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []account.Credential
	for rows.Next() {
		c := account.Credential{Type: account.CredentialWebAuthn}
		var tr string
		if err := rows.Scan(passkeyDest(&c, &tr)...); err != nil {
			return nil, err
		}
		c.Transports = splitTransports(tr)
		out = append(out, c)
	}
	return out, rows.Err()
}

// FindPasskeyByCredentialID implements passkey.Store.
func (db *DB) FindPasskeyByCredentialID(ctx context.Context, credentialID []byte) (*account.Credential, error) {
	c := account.Credential{Type: account.CredentialWebAuthn}
	var tr string
	err := db.QueryRow(ctx, `SELECT `+passkeyColumns+` FROM credentials
		WHERE credential_id = ? AND type = 'webauthn'`, credentialID).Scan(passkeyDest(&c, &tr)...)
	if err := sqldb.ScanErr(err, "passkey"); err != nil {
		return nil, err
	}
	c.Transports = splitTransports(tr)
	return &c, nil
}

// passkeyColumnsC is passkeyColumns qualified with the alias c, for joins.
var passkeyColumnsC = func() string {
	cols := strings.Split(passkeyColumns, ",")
	for i, c := range cols {
		cols[i] = "c." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

// FindPasskeyWithUser implements passkey.Store: the passkey and its owner
// in one indexed query, as a sign-in needs them.
func (db *DB) FindPasskeyWithUser(ctx context.Context, credentialID []byte) (*account.Credential, *account.User, error) {
	c := account.Credential{Type: account.CredentialWebAuthn}
	var u account.User
	var tr string
	err := db.QueryRow(ctx, `SELECT `+passkeyColumnsC+`, `+userColumns+`
		FROM credentials c JOIN users u ON u.id = c.user_id
		WHERE c.credential_id = ? AND c.type = 'webauthn'`, credentialID).
		Scan(append(passkeyDest(&c, &tr), userDest(&u)...)...)
	if err := sqldb.ScanErr(err, "passkey"); err != nil {
		return nil, nil, err
	}
	c.Transports = splitTransports(tr)
	return &c, &u, nil
}

// UpdatePasskeyUse implements passkey.Store: after a verified assertion, the
// new sign count, the backup flags as the authenticator reports them now,
// and the time of use. The sign-count rule of WebAuthn L3 §7.2 step 22 is
// checked again in the UPDATE itself — the new count is above the stored
// one, or both are zero — so that of two sign-ins with the same count
// (a cloned authenticator used twice at once) only one is written;
// ENotFound for the other, and when the passkey is gone.
func (db *DB) UpdatePasskeyUse(ctx context.Context, id string, signCount uint32, backupEligible, backupState bool, at time.Time) error {
	res, err := db.Exec(ctx, `UPDATE credentials SET sign_count = ?, backup_eligible = ?, backup_state = ?, last_used_at = ?, updated_at = ?
		WHERE id = ? AND type = 'webauthn' AND (sign_count < ? OR (sign_count = 0 AND sign_count = ?))`,
		int64(signCount), db.Bool(backupEligible), db.Bool(backupState), db.Time(at), db.Time(at), id,
		int64(signCount), int64(signCount))
	return sqldb.Affected(res, err, "passkey")
}

// RenamePasskey implements passkey.Store; ENotFound unless the passkey is
// the user's.
func (db *DB) RenamePasskey(ctx context.Context, userID, id, name string, at time.Time) error {
	res, err := db.Exec(ctx, `UPDATE credentials SET name = ?, updated_at = ? WHERE id = ? AND user_id = ? AND type = 'webauthn'`,
		name, db.Time(at), id, userID)
	return sqldb.Affected(res, err, "passkey")
}

// DeletePasskey implements passkey.Store; ENotFound unless the passkey is
// the user's.
func (db *DB) DeletePasskey(ctx context.Context, userID, id string) error {
	res, err := db.Exec(ctx, `DELETE FROM credentials WHERE id = ? AND user_id = ? AND type = 'webauthn'`, id, userID)
	return sqldb.Affected(res, err, "passkey")
}

// DeletePasskeysSince implements member.Credentials: one DELETE … RETURNING of
// the user's passkeys created at or after since.
func (db *DB) DeletePasskeysSince(ctx context.Context, userID string, since time.Time) ([]string, error) {
	rows, err := db.QueryW(ctx, `DELETE FROM credentials WHERE user_id = ? AND type = 'webauthn' AND created_at >= ?
		RETURNING name`, userID, db.Time(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// PasskeyShapes implements passkey.Store: how many passkeys members have,
// and how many passkeys have each id length and list of transports — two
// aggregate scans of the credentials, for the decoys of username-first
// sign-in. It runs every few minutes, not per request.
func (db *DB) PasskeyShapes(ctx context.Context) (passkey.Shapes, error) {
	var sh passkey.Shapes
	rows, err := db.Query(ctx, `SELECT n, COUNT(*) FROM
		(SELECT COUNT(*) AS n FROM credentials WHERE type = 'webauthn' GROUP BY user_id) AS per_member
		GROUP BY n ORDER BY n`)
	if err != nil {
		return sh, err
	}
	for rows.Next() {
		var w passkey.Weighted[int]
		if err := rows.Scan(&w.Value, &w.Weight); err != nil {
			rows.Close()
			return sh, err
		}
		sh.Counts = append(sh.Counts, w)
	}
	if err := rows.Close(); err != nil {
		return sh, err
	}
	rows, err = db.Query(ctx, `SELECT length(credential_id), transports, COUNT(*) FROM credentials
		WHERE type = 'webauthn' GROUP BY length(credential_id), transports ORDER BY 1, 2`)
	if err != nil {
		return sh, err
	}
	defer rows.Close()
	for rows.Next() {
		var w passkey.Weighted[passkey.CredShape]
		if err := rows.Scan(&w.Value.IDLen, &w.Value.Transports, &w.Weight); err != nil {
			return sh, err
		}
		sh.Creds = append(sh.Creds, w)
	}
	return sh, rows.Err()
}

// FindDisownPasskey implements passkey.Store: a read, so that the
// account's lock is taken before the passkey is (link.Take).
func (db *DB) FindDisownPasskey(ctx context.Context, hash []byte, now time.Time) (*account.Credential, error) {
	return db.scanPasskey(db.QueryRow(ctx, `SELECT `+passkeyColumns+` FROM credentials
		WHERE disown_hash = ? AND type = 'webauthn' AND disown_expires_at > ?`, hash, db.Time(now)))
}

// TakeDisownPasskey implements passkey.Store: one DELETE … RETURNING, so
// a "This wasn't me" link works once however many requests race, on any
// node.
func (db *DB) TakeDisownPasskey(ctx context.Context, hash []byte, now time.Time) (*account.Credential, error) {
	return db.scanPasskey(db.QueryRowW(ctx, `DELETE FROM credentials
		WHERE disown_hash = ? AND type = 'webauthn' AND disown_expires_at > ? RETURNING `+passkeyColumns, hash, db.Time(now)))
}

func (db *DB) scanPasskey(row sqldb.Row) (*account.Credential, error) {
	c := account.Credential{Type: account.CredentialWebAuthn}
	var tr string
	if err := sqldb.ScanErr(row.Scan(passkeyDest(&c, &tr)...), "passkey"); err != nil {
		return nil, err
	}
	c.Transports = splitTransports(tr)
	return &c, nil
}

// DeletePasskeySessions implements passkey.Store.
func (db *DB) DeletePasskeySessions(ctx context.Context, userID, passkeyID, addedSessionID string) (int, error) {
	res, err := db.Exec(ctx, `DELETE FROM sessions WHERE user_id = ? AND (signin_passkey = ? OR stepped_up_passkey = ? OR id = ?)`,
		userID, passkeyID, passkeyID, addedSessionID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
