package store

import (
	"context"
	"time"

	"github.com/keyshift/keyshift/internal/email/notice"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// NoteNewDevice implements notice.Store in one upsert. The SET clauses read
// the row as it was, so reported takes the old pending count when the
// notice is due, and the new pending count says which it was: 0 when due.
func (db *DB) NoteNewDevice(ctx context.Context, userID string, now, quietSince time.Time, browser, ip string) (bool, int, error) {
	var pending, reported int
	err := db.QueryRowW(ctx, `INSERT INTO new_device_notices (user_id, last_sent_at, pending, reported, last_browser, last_ip)
		VALUES (?, ?, 0, 0, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET
			reported = CASE WHEN new_device_notices.last_sent_at <= ? THEN new_device_notices.pending ELSE 0 END,
			pending_since = CASE WHEN new_device_notices.pending = 0 THEN excluded.last_sent_at ELSE new_device_notices.pending_since END,
			pending = CASE WHEN new_device_notices.last_sent_at <= ? THEN 0 ELSE new_device_notices.pending + 1 END,
			last_sent_at = CASE WHEN new_device_notices.last_sent_at <= ? THEN excluded.last_sent_at ELSE new_device_notices.last_sent_at END,
			last_browser = excluded.last_browser,
			last_ip = excluded.last_ip
		RETURNING pending, reported`,
		userID, db.Time(now), browser, ip,
		db.Time(quietSince), db.Time(quietSince), db.Time(quietSince)).Scan(&pending, &reported)
	if err != nil {
		return false, 0, err
	}
	return pending == 0, reported, nil
}

// TakeNewDeviceDigests implements notice.Store: one UPDATE … RETURNING, so
// of several nodes' janitors each digest is claimed by one.
func (db *DB) TakeNewDeviceDigests(ctx context.Context, now, quietSince time.Time) ([]notice.Digest, error) {
	rows, err := db.QueryW(ctx, `UPDATE new_device_notices SET reported = pending, pending = 0, last_sent_at = ?
		WHERE pending > 0 AND last_sent_at <= ?
		RETURNING user_id, reported, last_browser, last_ip, pending_since`, db.Time(now), db.Time(quietSince))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []notice.Digest
	for rows.Next() {
		var d notice.Digest
		if err := rows.Scan(&d.UserID, &d.Count, &d.Browser, &d.IP, sqldb.ScanTime(&d.Since)); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
