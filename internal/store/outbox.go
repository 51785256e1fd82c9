package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

const outboxColumns = `id, kind, to_addr, subject, text_body, html_body, sealed, status, attempts, lease, last_error, provider, created_at, due_at, done_at`

func scanMail(r sqldb.Row) (outbox.Mail, error) {
	var m outbox.Mail
	var status string
	err := r.Scan(&m.ID, &m.Kind, &m.To, &m.Subject, &m.Text, &m.HTML, &m.Sealed, &status, &m.Attempts, &m.Lease, &m.LastError,
		&m.Provider, sqldb.ScanTime(&m.CreatedAt), sqldb.ScanTime(&m.DueAt), sqldb.ScanTime(&m.DoneAt))
	m.Status = outbox.Status(status)
	return m, err
}

// CreateOutbox implements outbox.Store. The outbox hands over subject and
// bodies sealed (m.Sealed) and the clear columns empty; they are written as
// given.
func (db *DB) CreateOutbox(ctx context.Context, m *outbox.Mail) error {
	return db.QueryRowW(ctx, `INSERT INTO outbox (kind, to_addr, subject, text_body, html_body, sealed, status, created_at, due_at)
		VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?) RETURNING id`,
		m.Kind, m.To, m.Subject, m.Text, m.HTML, m.Sealed, db.Time(m.CreatedAt), db.Time(m.DueAt)).Scan(&m.ID)
}

// ClaimOutbox implements outbox.Store in one statement. On PostgreSQL, FOR
// UPDATE SKIP LOCKED lets several nodes claim at once without waiting for or
// taking each other's rows; SQLite has a single writer, so the statement
// runs alone.
func (db *DB) ClaimOutbox(ctx context.Context, now, leaseUntil time.Time, lease string, limit int) ([]outbox.Mail, error) {
	lock := ""
	if db.Dialect() == "postgres" {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := db.QueryW(ctx, `UPDATE outbox SET due_at = ?, lease = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox WHERE status = 'queued' AND due_at <= ? ORDER BY due_at, id LIMIT ?`+lock+`)
		RETURNING `+outboxColumns,
		db.Time(leaseUntil), lease, db.Time(now), limit)
	if err != nil {
		return nil, err
	}
	return collectMail(rows)
}

func collectMail(rows *sql.Rows) ([]outbox.Mail, error) {
	defer rows.Close()
	var out []outbox.Mail
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MarkOutboxSent implements outbox.Store. A mail counts as sent even if its
// lease ran out meanwhile: a server accepted it. Wiping clears the sealed
// value and the clear columns (mail queued before sealing).
func (db *DB) MarkOutboxSent(ctx context.Context, id int64, lease string, at time.Time, provider string, wipe bool) error {
	q := `UPDATE outbox SET status = 'sent', done_at = ?, provider = ?, lease = '', last_error = ''`
	if wipe {
		q += `, sealed = NULL, subject = '', text_body = '', html_body = ''`
	}
	_, err := db.Exec(ctx, q+` WHERE id = ? AND status = 'queued'`, db.Time(at), provider, id)
	return err
}

// MarkOutboxRetry implements outbox.Store. It changes nothing when another
// worker has claimed the mail since (the lease differs).
func (db *DB) MarkOutboxRetry(ctx context.Context, id int64, lease string, due time.Time, lastErr string) error {
	_, err := db.Exec(ctx, `UPDATE outbox SET due_at = ?, last_error = ?, lease = ''
		WHERE id = ? AND status = 'queued' AND lease = ?`, db.Time(due), lastErr, id, lease)
	return err
}

// MarkOutboxFailed implements outbox.Store.
func (db *DB) MarkOutboxFailed(ctx context.Context, id int64, lease string, at time.Time, lastErr string) error {
	_, err := db.Exec(ctx, `UPDATE outbox SET status = 'failed', done_at = ?, last_error = ?, lease = ''
		WHERE id = ? AND status = 'queued' AND lease = ?`, db.Time(at), lastErr, id, lease)
	return err
}

// FindOutbox implements outbox.Store.
func (db *DB) FindOutbox(ctx context.Context, f outbox.Filter) ([]outbox.Mail, error) {
	q := `SELECT ` + outboxColumns + ` FROM outbox WHERE 1 = 1`
	var args []any
	if len(f.Statuses) > 0 {
		q += ` AND status IN (?` + strings.Repeat(", ?", len(f.Statuses)-1) + `)`
		for _, s := range f.Statuses {
			args = append(args, string(s))
		}
	}
	if f.Troubled {
		q += ` AND last_error <> ''`
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return collectMail(rows)
}

// CountOutbox implements outbox.Store.
func (db *DB) CountOutbox(ctx context.Context, status outbox.Status) (int, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT COUNT(*) FROM outbox WHERE status = ?`, string(status)).Scan(&n)
	return n, err
}

// DeleteSentOutbox removes mail sent before t; failed mail stays until an
// operator deals with it.
func (db *DB) DeleteSentOutbox(ctx context.Context, t time.Time) (int, error) {
	res, err := db.Exec(ctx, `DELETE FROM outbox WHERE status = 'sent' AND done_at < ?`, db.Time(t))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
