package store

import (
	"context"
	"fmt"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store/sqldb"
	"github.com/keyshift/keyshift/internal/telemetry"
)

// AppendTelemetry implements telemetry.Store.
func (db *DB) AppendTelemetry(ctx context.Context, e *telemetry.Event) error {
	return db.QueryRowW(ctx, `INSERT INTO telemetry_events (at, kind, method, outcome, code, phase, cohort, user_id, has_passkey,
			client_ms, server_ms, provider, synced, browser, os)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		db.Time(e.At), e.Kind, e.Method, e.Outcome, e.Code, e.Phase, e.Cohort, sqldb.NullString(e.UserID), db.Bool(e.HasPasskey),
		e.ClientMs, e.ServerMs, e.Provider, db.Bool(e.Synced), e.Browser, e.OS).Scan(&e.ID)
}

// ClaimTelemetryFold implements telemetry.FoldStore: one conditional
// UPDATE, which also locks the row until the transaction ends, so a second
// folder waits and then finds the lease taken.
func (db *DB) ClaimTelemetryFold(ctx context.Context, owner string, now, until time.Time) (telemetry.Cursor, bool, error) {
	var c telemetry.Cursor
	err := db.QueryRowW(ctx, `UPDATE telemetry_fold SET owner = ?, lease_until = ?
		WHERE id = 1 AND (owner = ? OR lease_until < ?) RETURNING cursor_txid, cursor_id`,
		owner, db.Time(until), owner, db.Time(now)).Scan(&c.TxID, &c.ID)
	if err := sqldb.ScanErr(err, "telemetry lease"); err != nil {
		if account.IsCode(err, account.ENotFound) {
			return c, false, nil
		}
		return c, false, err
	}
	return c, true, nil
}

// ReleaseTelemetryFold gives up owner's lease, so another node may fold at
// once (a node that stops).
func (db *DB) ReleaseTelemetryFold(ctx context.Context, owner string) error {
	_, err := db.Exec(ctx, `UPDATE telemetry_fold SET owner = '', lease_until = ? WHERE id = 1 AND owner = ?`, db.Time(time.Unix(0, 0)), owner)
	return err
}

const telemetryColumns = `id, at, kind, method, outcome, code, phase, cohort, COALESCE(user_id, ''), has_passkey,
	client_ms, server_ms, provider, synced, browser, os, txid`

// TelemetryAfter implements telemetry.FoldStore. On SQLite writers take
// turns, so every event after the cursor's id is final. On PostgreSQL an id
// is handed out before its transaction commits, so an event of a lower id
// may still appear; only events of transactions older than every running
// one (pg_snapshot_xmin) are read, in (txid, id) order, and the cursor is
// that pair.
func (db *DB) TelemetryAfter(ctx context.Context, c telemetry.Cursor, limit int) ([]telemetry.Event, telemetry.Cursor, error) {
	q := `SELECT ` + telemetryColumns + ` FROM telemetry_events WHERE id > ? ORDER BY id LIMIT ?`
	args := []any{c.ID, limit}
	if db.Dialect() == "postgres" {
		q = `SELECT ` + telemetryColumns + ` FROM telemetry_events
			WHERE (txid, id) > (?, ?) AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
			ORDER BY txid, id LIMIT ?`
		args = []any{c.TxID, c.ID, limit}
	}
	rows, err := db.QueryW(ctx, q, args...)
	if err != nil {
		return nil, c, fmt.Errorf("telemetry events: %w", err)
	}
	defer rows.Close()
	var out []telemetry.Event
	for rows.Next() {
		var e telemetry.Event
		if err := rows.Scan(&e.ID, sqldb.ScanTime(&e.At), &e.Kind, &e.Method, &e.Outcome, &e.Code, &e.Phase, &e.Cohort, &e.UserID,
			sqldb.ScanBool(&e.HasPasskey), &e.ClientMs, &e.ServerMs, &e.Provider, sqldb.ScanBool(&e.Synced), &e.Browser, &e.OS, &c.TxID); err != nil {
			return nil, c, err
		}
		c.ID = e.ID
		out = append(out, e)
	}
	return out, c, rows.Err()
}

// AddTelemetry implements telemetry.FoldStore: one upsert per counter.
func (db *DB) AddTelemetry(ctx context.Context, r telemetry.Rollup) error {
	for _, c := range r.Counts {
		if _, err := db.Exec(ctx, `INSERT INTO telemetry_counts (hour, kind, method, outcome, code, phase, cohort, n)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (hour, kind, method, outcome, code, phase, cohort) DO UPDATE SET n = telemetry_counts.n + excluded.n`,
			db.Time(c.Hour), c.Kind, c.Method, c.Outcome, c.Code, c.Phase, c.Cohort, c.N); err != nil {
			return fmt.Errorf("telemetry counts: %w", err)
		}
	}
	for _, d := range r.Durations {
		if _, err := db.Exec(ctx, `INSERT INTO telemetry_durations (hour, method, cohort, clock, bucket, n)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (hour, method, cohort, clock, bucket) DO UPDATE SET n = telemetry_durations.n + excluded.n`,
			db.Time(d.Hour), d.Method, d.Cohort, d.Clock, d.Bucket, d.N); err != nil {
			return fmt.Errorf("telemetry durations: %w", err)
		}
	}
	// The later activity wins a day's row and a member's row: the SET
	// expressions all read the row as it was.
	for _, a := range r.Active {
		if _, err := db.Exec(ctx, `INSERT INTO telemetry_active (day, user_id, last_at, cohort, has_passkey) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (day, user_id) DO UPDATE SET
				cohort = CASE WHEN excluded.last_at >= telemetry_active.last_at THEN excluded.cohort ELSE telemetry_active.cohort END,
				has_passkey = CASE WHEN excluded.last_at >= telemetry_active.last_at THEN excluded.has_passkey ELSE telemetry_active.has_passkey END,
				last_at = CASE WHEN excluded.last_at >= telemetry_active.last_at THEN excluded.last_at ELSE telemetry_active.last_at END`,
			db.Time(a.Day), a.UserID, db.Time(a.At), a.Cohort, db.Bool(a.HasPasskey)); err != nil {
			return fmt.Errorf("telemetry active members: %w", err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO telemetry_members (user_id, last_at, cohort, has_passkey) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET
				cohort = CASE WHEN excluded.last_at >= telemetry_members.last_at THEN excluded.cohort ELSE telemetry_members.cohort END,
				has_passkey = CASE WHEN excluded.last_at >= telemetry_members.last_at THEN excluded.has_passkey ELSE telemetry_members.has_passkey END,
				last_at = CASE WHEN excluded.last_at >= telemetry_members.last_at THEN excluded.last_at ELSE telemetry_members.last_at END`,
			a.UserID, db.Time(a.At), a.Cohort, db.Bool(a.HasPasskey)); err != nil {
			return fmt.Errorf("telemetry members: %w", err)
		}
	}
	return nil
}

// SetTelemetryCursor implements telemetry.FoldStore.
func (db *DB) SetTelemetryCursor(ctx context.Context, c telemetry.Cursor, at time.Time) error {
	_, err := db.Exec(ctx, `UPDATE telemetry_fold SET cursor_txid = ?, cursor_id = ?, folded_at = ? WHERE id = 1`, c.TxID, c.ID, db.Time(at))
	return err
}

// TelemetryBacklog says how many events wait to be folded, and when the
// folder last folded (zero: never): for readiness of the figures and tests.
func (db *DB) TelemetryBacklog(ctx context.Context) (int64, time.Time, error) {
	var n int64
	var at time.Time
	err := db.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM telemetry_events e, telemetry_fold f
			WHERE f.id = 1 AND (e.txid > f.cursor_txid OR (e.txid = f.cursor_txid AND e.id > f.cursor_id))),
		(SELECT folded_at FROM telemetry_fold WHERE id = 1)`).Scan(&n, sqldb.ScanTime(&at))
	return n, at, err
}

// TelemetryCounts implements telemetry.FigureStore: the counters of the
// hours in [from, to), of cohort ("" for all).
func (db *DB) TelemetryCounts(ctx context.Context, from, to time.Time, cohort string) ([]telemetry.Count, error) {
	q := `SELECT hour, kind, method, outcome, code, phase, cohort, n FROM telemetry_counts WHERE hour >= ? AND hour < ?`
	args := []any{db.Time(from), db.Time(to)}
	if cohort != "" {
		q += ` AND cohort = ?`
		args = append(args, cohort)
	}
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("telemetry counts: %w", err)
	}
	defer rows.Close()
	var out []telemetry.Count
	for rows.Next() {
		var c telemetry.Count
		if err := rows.Scan(sqldb.ScanTime(&c.Hour), &c.Kind, &c.Method, &c.Outcome, &c.Code, &c.Phase, &c.Cohort, &c.N); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// TelemetryDurations implements telemetry.FigureStore: the histograms of
// the hours in [from, to), of cohort ("" for all), summed over the hours.
func (db *DB) TelemetryDurations(ctx context.Context, from, to time.Time, cohort string) ([]telemetry.Duration, error) {
	q := `SELECT method, clock, bucket, SUM(n) FROM telemetry_durations WHERE hour >= ? AND hour < ?`
	args := []any{db.Time(from), db.Time(to)}
	if cohort != "" {
		q += ` AND cohort = ?`
		args = append(args, cohort)
	}
	rows, err := db.Query(ctx, q+` GROUP BY method, clock, bucket`, args...)
	if err != nil {
		return nil, fmt.Errorf("telemetry durations: %w", err)
	}
	defer rows.Close()
	var out []telemetry.Duration
	for rows.Next() {
		d := telemetry.Duration{Cohort: cohort}
		if err := rows.Scan(&d.Method, &d.Clock, &d.Bucket, &d.N); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ActiveMembers implements telemetry.FigureStore. When no member was
// active on or after to, a member active in the days is one whose last
// activity is in them: one index range over telemetry_members. Otherwise
// (a range in the past) the day rows are read, each member's last one in
// the range deciding their cohort and passkey.
func (db *DB) ActiveMembers(ctx context.Context, from, to time.Time, cohort string) ([]telemetry.ActiveCount, error) {
	var latest time.Time
	if err := db.QueryRow(ctx, `SELECT MAX(last_at) FROM telemetry_members`).Scan(sqldb.ScanTime(&latest)); err != nil {
		return nil, fmt.Errorf("telemetry members: %w", err)
	}
	q := `SELECT cohort, COUNT(*), SUM(CASE WHEN has_passkey THEN 1 ELSE 0 END) FROM telemetry_members WHERE last_at >= ?`
	args := []any{db.Time(from)}
	if !latest.Before(to) {
		q = `SELECT cohort, COUNT(*), SUM(CASE WHEN has_passkey THEN 1 ELSE 0 END) FROM telemetry_active a
			WHERE day >= ? AND day < ? AND day = (SELECT MAX(day) FROM telemetry_active b WHERE b.user_id = a.user_id AND b.day >= ? AND b.day < ?)`
		args = []any{db.Time(from), db.Time(to), db.Time(from), db.Time(to)}
	}
	if cohort != "" {
		q += ` AND cohort = ?`
		args = append(args, cohort)
	}
	rows, err := db.Query(ctx, q+` GROUP BY cohort`, args...)
	if err != nil {
		return nil, fmt.Errorf("telemetry active members: %w", err)
	}
	defer rows.Close()
	var out []telemetry.ActiveCount
	for rows.Next() {
		var a telemetry.ActiveCount
		if err := rows.Scan(&a.Cohort, &a.Members, &a.WithPasskey); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// AccountTotals implements telemetry.FigureStore: accounts now, those with
// a passkey, and those with a passkey and no password.
func (db *DB) AccountTotals(ctx context.Context) (telemetry.Accounts, error) {
	var a telemetry.Accounts
	err := db.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(k), 0), COALESCE(SUM(CASE WHEN k = 1 AND p = 0 THEN 1 ELSE 0 END), 0) FROM (
			SELECT CASE WHEN EXISTS (SELECT 1 FROM credentials c WHERE c.user_id = u.id AND c.type = 'webauthn') THEN 1 ELSE 0 END AS k,
				CASE WHEN EXISTS (SELECT 1 FROM credentials c WHERE c.user_id = u.id AND c.type = 'password') THEN 1 ELSE 0 END AS p
			FROM users u) a`).Scan(&a.Total, &a.WithPasskey, &a.Passwordless)
	return a, err
}

// PruneTelemetry deletes telemetry events, counters and active days from
// before before, and returns how many rows went. It deletes in batches, so
// neither database holds a long transaction over a large table.
func (db *DB) PruneTelemetry(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for _, q := range []string{
		`DELETE FROM telemetry_events WHERE id IN (SELECT id FROM telemetry_events WHERE at < ? LIMIT 10000)`,
		`DELETE FROM telemetry_durations WHERE hour < ?`,
		`DELETE FROM telemetry_counts WHERE hour < ?`,
		`DELETE FROM telemetry_active WHERE day < ?`,
		`DELETE FROM telemetry_members WHERE last_at < ?`,
	} {
		for {
			res, err := db.Exec(ctx, q, db.Time(before))
			if err != nil {
				return total, fmt.Errorf("pruning telemetry: %w", err)
			}
			n, _ := res.RowsAffected()
			total += n
			if n < 10000 {
				break
			}
		}
	}
	return total, nil
}
