package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keyshift/keyshift/internal/store/sqldb"
	"github.com/keyshift/keyshift/internal/throttle"
)

// FindThrottles implements throttle.Store.
func (db *DB) FindThrottles(ctx context.Context, keys []string) ([]throttle.State, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := db.Query(ctx, `SELECT key, failures, last_failure_at FROM throttles WHERE key IN (?`+strings.Repeat(", ?", len(keys)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []throttle.State
	for rows.Next() {
		var s throttle.State
		if err := rows.Scan(&s.Key, &s.Failures, sqldb.ScanTime(&s.LastFailureAt)); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// errRefused rolls back a reservation that one of its keys refused.
var errRefused = errors.New("throttle refused")

// ReserveThrottles implements throttle.Store. Each key is one upsert whose
// WHERE is the rule: it adds one only when the rule allows the attempt and
// returns the new count, or no row when it refuses, so the decision is made
// on the row as the database locked it (PostgreSQL: the row lock of ON
// CONFLICT DO UPDATE, which re-reads the newest version; SQLite: the one
// writer). Keys are taken in sorted order, so two attempts sharing keys never
// wait on each other crosswise. One key needs no transaction; several share
// one (or a savepoint of the caller's), rolled back when any refuses.
func (db *DB) ReserveThrottles(ctx context.Context, now time.Time, rules []throttle.Rule) ([]int, bool, error) {
	counts := make([]int, len(rules))
	order := make([]int, len(rules))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(rules[a].Key, rules[b].Key) })
	reserve := func(ctx context.Context) error {
		for _, i := range order {
			n, err := db.reserveThrottle(ctx, now, rules[i])
			if err != nil {
				return err
			}
			counts[i] = n
		}
		return nil
	}
	var err error
	switch inTx := sqldb.InTransaction(ctx); {
	case len(rules) <= 1:
		err = reserve(ctx)
	case inTx:
		err = db.Savepoint(ctx, "throttle_reserve", reserve)
	default:
		err = db.InTx(ctx, reserve)
	}
	if errors.Is(err, errRefused) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return counts, true, nil
}

// reserveThrottle runs one key's upsert; errRefused when the rule refuses.
func (db *DB) reserveThrottle(ctx context.Context, now time.Time, r throttle.Rule) (int, error) {
	args := []any{r.Key, db.Time(now), db.Time(r.ForgetBefore), db.Time(r.ForgetBefore), r.Free}
	for i, step := range r.Steps {
		args = append(args, r.Free+i, db.Time(step))
	}
	args = append(args, r.Free+len(r.Steps), db.Time(r.Rest))
	var n int
	err := db.QueryRowW(ctx, reserveQuery(len(r.Steps)), args...).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errRefused
	}
	return n, err
}

// reserveQueries caches reserveQuery's text by the number of steps.
var reserveQueries sync.Map // int → string

// reserveQuery is the upsert of throttle.Rule.Allows with steps back-off
// steps. Arguments: key, now, forgetBefore (twice), free, then free+i and
// step i for each step, then free+steps and rest.
func reserveQuery(steps int) string {
	if q, ok := reserveQueries.Load(steps); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO throttles (key, failures, last_failure_at) VALUES (?, 1, ?)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN throttles.last_failure_at <= ? THEN 1 ELSE throttles.failures + 1 END,
			last_failure_at = excluded.last_failure_at
		WHERE throttles.last_failure_at <= ? OR throttles.failures < ?`)
	for range steps {
		b.WriteString(`
			OR (throttles.failures = ? AND throttles.last_failure_at <= ?)`)
	}
	b.WriteString(`
			OR (throttles.failures >= ? AND throttles.last_failure_at <= ?)
		RETURNING failures`)
	q, _ := reserveQueries.LoadOrStore(steps, b.String())
	return q.(string)
}

// RefundThrottle implements throttle.Store.
func (db *DB) RefundThrottle(ctx context.Context, key string) error {
	_, err := db.Exec(ctx, `UPDATE throttles SET failures = failures - 1 WHERE key = ? AND failures > 0`, key)
	return err
}

// DeleteThrottle implements throttle.Store.
func (db *DB) DeleteThrottle(ctx context.Context, key string) error {
	_, err := db.Exec(ctx, `DELETE FROM throttles WHERE key = ?`, key)
	return err
}

// DeleteStaleThrottles removes keys whose last attempt is before t; they no
// longer slow anyone down.
func (db *DB) DeleteStaleThrottles(ctx context.Context, t time.Time) (int, error) {
	res, err := db.Exec(ctx, `DELETE FROM throttles WHERE last_failure_at < ?`, db.Time(t))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
