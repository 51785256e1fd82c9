package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// AppendEvent implements account.AuditStore. The event's ID is read back
// when it is written at once; on PostgreSQL inside a transaction it travels
// with the COMMIT (sqldb.ExecLater) and keeps ID 0 — nothing in a flow
// reads it.
func (db *DB) AppendEvent(ctx context.Context, e *account.Event) error {
	data := []byte("{}")
	if len(e.Data) > 0 {
		var err error
		if data, err = json.Marshal(e.Data); err != nil {
			return fmt.Errorf("event data: %w", err)
		}
	}
	const insert = `INSERT INTO events (at, type, user_id, session_id, method, outcome, ip, user_agent, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	args := []any{db.Time(e.At), e.Type, sqldb.NullString(e.UserID), sqldb.NullString(e.SessionID), e.Method, e.Outcome, e.IP, e.UserAgent, string(data)}
	return db.Append(ctx, &e.ID, insert, args...)
}

// EventFilter selects audit events; zero fields match everything.
type EventFilter struct {
	UserID string
	Type   string
	Since  time.Time
	Limit  int // default 100
	// Newest takes the newest Limit events rather than the oldest; they
	// still come back oldest first.
	Newest bool
}

// FindEvents returns events matching f, oldest first.
func (db *DB) FindEvents(ctx context.Context, f EventFilter) ([]account.Event, error) {
	q := `SELECT id, at, type, COALESCE(user_id, ''), COALESCE(session_id, ''), method, outcome, ip, user_agent, data FROM events WHERE 1 = 1`
	var args []any
	if f.UserID != "" {
		q += ` AND user_id = ?`
		args = append(args, f.UserID)
	}
	if f.Type != "" {
		q += ` AND type = ?`
		args = append(args, f.Type)
	}
	if !f.Since.IsZero() {
		q += ` AND at >= ?`
		args = append(args, db.Time(f.Since))
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	order := ` ORDER BY id`
	if f.Newest {
		order = ` ORDER BY id DESC`
	}
	q += order + ` LIMIT ?`
	args = append(args, f.Limit)
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []account.Event
	for rows.Next() {
		var e account.Event
		var data []byte
		if err := rows.Scan(&e.ID, sqldb.ScanTime(&e.At), &e.Type, &e.UserID, &e.SessionID, &e.Method, &e.Outcome, &e.IP, &e.UserAgent, &data); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, &e.Data); err != nil {
			return nil, fmt.Errorf("event %d data: %w", e.ID, err)
		}
		out = append(out, e)
	}
	if f.Newest {
		slices.Reverse(out)
	}
	return out, rows.Err()
}

// ListUserEvents implements export.Store: the user's newest limit events
// at or after since, oldest first.
func (db *DB) ListUserEvents(ctx context.Context, userID string, since time.Time, limit int) ([]account.Event, error) {
	if since.IsZero() {
		since = time.Unix(0, 0)
	}
	return db.FindEvents(ctx, EventFilter{UserID: userID, Since: since, Limit: limit, Newest: true})
}
