package store

import (
	"context"
	"fmt"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// readinessColumns reads, for the member u (joined to rollout_members rm),
// what retiring their password depends on.
const readinessColumns = `u.id, u.email, CASE WHEN rm.passwordless THEN 1 ELSE 0 END,
	(SELECT MIN(e.at) FROM events e WHERE e.user_id = u.id AND e.type = 'signin' AND e.outcome = 'success' AND e.method LIKE 'passkey%'),
	(SELECT COUNT(*) FROM credentials c WHERE c.user_id = u.id AND c.type = 'webauthn'),
	(SELECT COUNT(*) FROM credentials c WHERE c.user_id = u.id AND c.type = 'webauthn' AND c.backup_state = ?),
	(SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = u.id),
	EXISTS (SELECT 1 FROM credentials c WHERE c.user_id = u.id AND c.type = 'password')`

func (db *DB) scanCandidate(row sqldb.Row) (rollout.Candidate, error) {
	var c rollout.Candidate
	err := row.Scan(&c.UserID, &c.Email, sqldb.ScanBool(&c.OptedIn), sqldb.ScanTime(&c.FirstPasskeySignin), &c.Passkeys, &c.SyncedPasskeys,
		&c.RecoveryCodes, sqldb.ScanBool(&c.HasPassword))
	return c, err
}

// RetirementCandidates returns every member who chose "Go passwordless"
// and still has a password, with their readiness, and how many members
// with a password did not opt in.
func (db *DB) RetirementCandidates(ctx context.Context) ([]rollout.Candidate, int, error) {
	rows, err := db.Query(ctx, `SELECT `+readinessColumns+` FROM rollout_members rm JOIN users u ON u.id = rm.user_id
		WHERE rm.passwordless = ? AND EXISTS (SELECT 1 FROM credentials c WHERE c.user_id = u.id AND c.type = 'password')
		ORDER BY u.id`, db.Bool(true), db.Bool(true))
	if err != nil {
		return nil, 0, fmt.Errorf("retirement candidates: %w", err)
	}
	defer rows.Close()
	var out []rollout.Candidate
	for rows.Next() {
		c, err := db.scanCandidate(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("retirement candidates: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var others int
	err = db.QueryRow(ctx, `SELECT COUNT(*) FROM credentials c WHERE c.type = 'password' AND NOT EXISTS (
		SELECT 1 FROM rollout_members rm WHERE rm.user_id = c.user_id AND rm.passwordless = ?)`, db.Bool(true)).Scan(&others)
	if err != nil {
		return nil, 0, fmt.Errorf("members who keep their password: %w", err)
	}
	return out, others, nil
}

// RolloutReadiness implements rollout.Store: what retiring userID's
// password depends on now.
func (db *DB) RolloutReadiness(ctx context.Context, userID string) (rollout.Readiness, error) {
	c, err := db.scanCandidate(db.QueryRow(ctx, `SELECT `+readinessColumns+` FROM users u
		LEFT JOIN rollout_members rm ON rm.user_id = u.id WHERE u.id = ?`, db.Bool(true), userID))
	if err := sqldb.ScanErr(err, "member"); err != nil {
		return rollout.Readiness{}, err
	}
	return c.Readiness, nil
}

// RetirePassword deletes userID's password in one transaction that reads
// the member's readiness again and asks check first, writes the
// password_retired event, and runs notify (which queues the member's
// notice in the same transaction). It reports false when the password was
// gone already. check's error is returned as it is, with nothing written.
func (db *DB) RetirePassword(ctx context.Context, userID string, at time.Time, check func(rollout.Readiness) error, notify func(ctx context.Context) error) (bool, error) {
	gone := false
	err := db.InTx(ctx, func(ctx context.Context) error {
		c, err := db.scanCandidate(db.QueryRowW(ctx, `SELECT `+readinessColumns+` FROM users u
			LEFT JOIN rollout_members rm ON rm.user_id = u.id WHERE u.id = ?`, db.Bool(true), userID))
		if err := sqldb.ScanErr(err, "member"); err != nil {
			return err
		}
		if !c.HasPassword {
			return nil
		}
		if err := check(c.Readiness); err != nil {
			return err
		}
		if err := db.DeletePasswordCredential(ctx, userID); err != nil {
			return err
		}
		if err := db.AppendEvent(ctx, &account.Event{At: at, Type: account.EventPasswordRetired, UserID: userID, Outcome: account.OutcomeSuccess}); err != nil {
			return err
		}
		gone = true
		return notify(ctx)
	})
	if err != nil {
		return false, err
	}
	return gone, nil
}
