package store

import (
	"context"
	"fmt"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/audit"
	"github.com/keyshift/keyshift/internal/readiness"
)

// ReadinessBuckets implements audit.Store: one pass over the accounts,
// joined to what each holds aggregated per member, so a million accounts
// are one grouped scan rather than a million lookups.
func (db *DB) ReadinessBuckets(ctx context.Context) (map[readiness.Holdings]int, error) {
	rows, err := db.Query(ctx, `SELECT
			CASE WHEN COALESCE(p.n, 0) >= 2 THEN 2 ELSE COALESCE(p.n, 0) END,
			COALESCE(p.synced, 0),
			CASE WHEN pw.user_id IS NULL THEN 0 ELSE 1 END,
			CASE WHEN r.user_id IS NULL THEN 0 ELSE 1 END,
			COUNT(*)
		FROM users u
		LEFT JOIN (SELECT user_id, COUNT(*) AS n, MAX(CASE WHEN backup_eligible THEN 1 ELSE 0 END) AS synced
			FROM credentials WHERE type = ? GROUP BY user_id) p ON p.user_id = u.id
		LEFT JOIN (SELECT user_id FROM credentials WHERE type = ?) pw ON pw.user_id = u.id
		LEFT JOIN (SELECT DISTINCT user_id FROM recovery_codes) r ON r.user_id = u.id
		GROUP BY 1, 2, 3, 4`, account.CredentialWebAuthn, account.CredentialPassword)
	if err != nil {
		return nil, fmt.Errorf("readiness buckets: %w", err)
	}
	defer rows.Close()
	out := map[readiness.Holdings]int{}
	for rows.Next() {
		var h readiness.Holdings
		var synced, password, n int
		if err := rows.Scan(&h.Passkeys, &synced, &password, &h.RecoveryCodes, &n); err != nil {
			return nil, fmt.Errorf("readiness buckets: %w", err)
		}
		h.Synced, h.Password = synced == 1, password == 1
		out[h] += n
	}
	return out, rows.Err()
}

// SigninsByMethod implements audit.Store.
func (db *DB) SigninsByMethod(ctx context.Context, since time.Time) ([]audit.MethodCount, error) {
	rows, err := db.Query(ctx, `SELECT e.method,
			CASE WHEN EXISTS (SELECT 1 FROM credentials c WHERE c.user_id = e.user_id AND c.type = ?) THEN 1 ELSE 0 END,
			COUNT(*)
		FROM events e
		WHERE e.type = ? AND e.outcome = ? AND e.at >= ?
		GROUP BY 1, 2`, account.CredentialWebAuthn, account.EventSignin, account.OutcomeSuccess, db.Time(since))
	if err != nil {
		return nil, fmt.Errorf("sign-ins by method: %w", err)
	}
	defer rows.Close()
	var out []audit.MethodCount
	for rows.Next() {
		var c audit.MethodCount
		var holders int
		if err := rows.Scan(&c.Method, &holders, &c.Count); err != nil {
			return nil, fmt.Errorf("sign-ins by method: %w", err)
		}
		c.PasskeyHolders = holders == 1
		out = append(out, c)
	}
	return out, rows.Err()
}

// PasswordFormats implements audit.Store.
func (db *DB) PasswordFormats(ctx context.Context) (map[string]int, error) {
	rows, err := db.Query(ctx, `SELECT COALESCE(password_format, ''), COUNT(*) FROM credentials WHERE type = ? GROUP BY 1`,
		account.CredentialPassword)
	if err != nil {
		return nil, fmt.Errorf("password formats: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var f string
		var n int
		if err := rows.Scan(&f, &n); err != nil {
			return nil, fmt.Errorf("password formats: %w", err)
		}
		out[f] = n
	}
	return out, rows.Err()
}
