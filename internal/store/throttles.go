package store

import (
	"context"
	"strings"
	"time"

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
	rows, err := db.query(ctx, `SELECT key, failures, last_failure_at FROM throttles WHERE key IN (?`+strings.Repeat(", ?", len(keys)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []throttle.State
	for rows.Next() {
		var s throttle.State
		if err := rows.Scan(&s.Key, &s.Failures, dbTime{&s.LastFailureAt}); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// FailThrottle implements throttle.Store with one atomic upsert, so
// concurrent failures on a key all count, on any node.
func (db *DB) FailThrottle(ctx context.Context, key string, now, forgetBefore time.Time) (throttle.State, error) {
	s := throttle.State{Key: key}
	err := db.queryRowW(ctx, `INSERT INTO throttles (key, failures, last_failure_at) VALUES (?, 1, ?)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN throttles.last_failure_at < ? THEN 1 ELSE throttles.failures + 1 END,
			last_failure_at = excluded.last_failure_at
		RETURNING failures, last_failure_at`,
		key, db.dialect.time(now), db.dialect.time(forgetBefore)).Scan(&s.Failures, dbTime{&s.LastFailureAt})
	return s, err
}

// DeleteThrottle implements throttle.Store.
func (db *DB) DeleteThrottle(ctx context.Context, key string) error {
	_, err := db.exec(ctx, `DELETE FROM throttles WHERE key = ?`, key)
	return err
}

// DeleteStaleThrottles removes keys whose last failure is before t; they no
// longer slow anyone down.
func (db *DB) DeleteStaleThrottles(ctx context.Context, t time.Time) (int, error) {
	res, err := db.exec(ctx, `DELETE FROM throttles WHERE last_failure_at < ?`, db.dialect.time(t))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
