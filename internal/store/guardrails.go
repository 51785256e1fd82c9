package store

import (
	"context"
	"fmt"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// GuardrailFigures reads what the rollout's guardrails judge, at now:
//
//   - the latest window passkey sign-in attempts of the last 7 days that
//     named an account (events), plus the counted refusals that named none
//     (failure_counts) since the oldest of them — a stranger's unknown
//     passkey is a failed attempt too;
//   - recovery-channel uses this week and last: recovery-code sign-ins and
//     email sign-ins of members who hold a passkey (for whom email is a way
//     around it);
//   - duplicate-passkey reports (the browser's InvalidStateError) in the last
//     hour.
func (db *DB) GuardrailFigures(ctx context.Context, window int, now time.Time) (rollout.Figures, error) {
	var f rollout.Figures
	if window <= 0 {
		window = 200
	}
	var oldest time.Time
	err := db.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN outcome = ? THEN 1 ELSE 0 END), 0), MIN(at) FROM (
			SELECT outcome, at FROM events WHERE type = ? AND method LIKE 'passkey%' AND at >= ? ORDER BY at DESC LIMIT ?) latest`,
		account.OutcomeSuccess, account.EventSignin, db.Time(now.Add(-7*24*time.Hour)), window).
		Scan(&f.PasskeyAttempts, &f.PasskeySuccesses, sqldb.ScanTime(&oldest))
	if err != nil {
		return f, fmt.Errorf("guardrail figures: passkey sign-ins: %w", err)
	}
	if oldest.IsZero() {
		oldest = now.Add(-7 * 24 * time.Hour)
	}
	counted, err := db.FailureCounts(ctx, account.EventSignin, oldest.Truncate(time.Minute), now.Add(time.Minute))
	if err != nil {
		return f, fmt.Errorf("guardrail figures: counted failures: %w", err)
	}
	for _, c := range counted {
		if len(c.Method) >= 7 && c.Method[:7] == "passkey" {
			f.PasskeyAttempts += c.Count
		}
	}
	weekAgo, twoWeeksAgo := now.Add(-7*24*time.Hour), now.Add(-14*24*time.Hour)
	err = db.QueryRow(ctx, `SELECT
			COALESCE(SUM(CASE WHEN e.at >= ? THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN e.at < ? THEN 1 ELSE 0 END), 0)
		FROM events e
		WHERE e.type = ? AND e.outcome = ? AND e.at >= ? AND e.at < ?
		  AND (e.method IN (?, ?) OR (e.method IN (?, ?) AND EXISTS (
			SELECT 1 FROM credentials c WHERE c.user_id = e.user_id AND c.type = ?)))`,
		db.Time(weekAgo), db.Time(weekAgo),
		account.EventSignin, account.OutcomeSuccess, db.Time(twoWeeksAgo), db.Time(now),
		account.MethodRecoveryCode, account.MethodSupportRecovery, account.MethodEmailLink, account.MethodEmailCode, account.CredentialWebAuthn).
		Scan(&f.RecoveryThisWeek, &f.RecoveryLastWeek)
	if err != nil {
		return f, fmt.Errorf("guardrail figures: recovery: %w", err)
	}
	// Duplicate attempts: browsers' InvalidStateError reports and the
	// server's own passkey_exists refusals (rollout.Guardrails).
	err = db.QueryRow(ctx, `SELECT COUNT(*) FROM events WHERE type = ? AND outcome IN (?, ?) AND at >= ?`,
		account.EventPasskeyRegisterError, "passkey_on_device", string(account.EPasskeyExists), db.Time(now.Add(-time.Hour))).Scan(&f.DuplicatesLastHour)
	if err != nil {
		return f, fmt.Errorf("guardrail figures: duplicates: %w", err)
	}
	return f, nil
}
