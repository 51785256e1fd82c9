package store

import (
	"context"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// CountFailure implements account.AuditStore: one upsert adds one to the row of
// f's minute (UTC, truncated), type, method, outcome, reason and IP.
func (db *DB) CountFailure(ctx context.Context, f *account.Failure) error {
	return db.ExecLater(ctx, `INSERT INTO failure_counts (minute, type, method, outcome, reason, ip, count)
		VALUES (?, ?, ?, ?, ?, ?, 1)
		ON CONFLICT (minute, type, method, outcome, reason, ip) DO UPDATE SET count = failure_counts.count + 1`,
		db.Time(f.At.UTC().Truncate(time.Minute)), f.Type, f.Method, f.Outcome, f.Reason, f.IP)
}

// FailureCount is how many counted failures (account.Failure) of one
// method and outcome fell in a time range.
type FailureCount struct {
	Method  string
	Outcome string
	Count   int
}

// FailureCounts returns the counted failures of type (e.g.
// account.EventSignin) whose minute lies in [from, to), summed by method and
// outcome, ordered by method then outcome. Failures tied to an account are
// events instead (FindEvents); telemetry reads both.
func (db *DB) FailureCounts(ctx context.Context, typ string, from, to time.Time) ([]FailureCount, error) {
	rows, err := db.Query(ctx, `SELECT method, outcome, SUM(count) FROM failure_counts
		WHERE type = ? AND minute >= ? AND minute < ?
		GROUP BY method, outcome ORDER BY method, outcome`,
		typ, db.Time(from), db.Time(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []FailureCount
	for rows.Next() {
		var c FailureCount
		if err := rows.Scan(&c.Method, &c.Outcome, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteOldFailureCounts removes counted failures of minutes before t.
func (db *DB) DeleteOldFailureCounts(ctx context.Context, t time.Time) (int, error) {
	res, err := db.Exec(ctx, `DELETE FROM failure_counts WHERE minute < ?`, db.Time(t))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
