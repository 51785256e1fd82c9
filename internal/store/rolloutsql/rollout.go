// Package rolloutsql is the SQL of the staged rollout (rollout.Store): its
// one state row, changed under optimistic versions, the audit of changes and
// each member's answers. store.DB embeds it.
package rolloutsql

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

const rolloutColumns = `phase, percent, internal_domains, internal_emails, salt, new_users_since, held, held_reasons, version, updated_at, updated_by`

// Rollout returns the install's rollout and its version (a count of
// changes), making the default row with a fresh salt on first read. Nodes
// that race to make it agree on the winner's row.
func (db *Rollouts) Rollout(ctx context.Context) (rollout.State, int64, error) {
	st, v, err := db.scanRollout(db.QueryRow(ctx, `SELECT `+rolloutColumns+` FROM rollout WHERE id = 1`))
	if err == nil || !account.IsCode(err, account.ENotFound) {
		return st, v, err
	}
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return st, 0, err
	}
	def := rollout.Default(salt, time.Now())
	if _, err := db.Exec(ctx, `INSERT INTO rollout (id, phase, percent, salt, new_users_since, updated_at, updated_by)
		VALUES (1, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		def.Phase.String(), def.Percent, def.Salt, db.NullTime(def.NewUsersSince), db.Time(def.UpdatedAt), def.UpdatedBy); err != nil {
		return st, 0, fmt.Errorf("rollout: %w", err)
	}
	return db.scanRollout(db.QueryRowW(ctx, `SELECT `+rolloutColumns+` FROM rollout WHERE id = 1`))
}

// ChangeRollout applies change to the current rollout in one transaction
// that holds the row, and writes the new state with its audit row, so two
// operators changing it at once are applied one after the other. An error
// from change leaves everything as it was.
func (db *Rollouts) ChangeRollout(ctx context.Context, change func(cur rollout.State) (rollout.State, rollout.Audit, error)) (rollout.State, error) {
	if _, _, err := db.Rollout(ctx); err != nil { // the row exists before it is locked
		return rollout.State{}, err
	}
	var next rollout.State
	err := db.InTx(ctx, func(ctx context.Context) error {
		lock := ""
		if db.Dialect() == "postgres" {
			lock = " FOR UPDATE"
		}
		cur, _, err := db.scanRollout(db.QueryRowW(ctx, `SELECT `+rolloutColumns+` FROM rollout WHERE id = 1`+lock))
		if err != nil {
			return err
		}
		var audit rollout.Audit
		if next, audit, err = change(cur); err != nil {
			return err
		}
		if err := db.writeRollout(ctx, next); err != nil {
			return err
		}
		return db.insertRolloutChange(ctx, audit)
	})
	return next, err
}

// HoldRollout records that the guardrails hold the rollout, unless it is
// held already; it reports whether this call made the hold.
func (db *Rollouts) HoldRollout(ctx context.Context, reasons []string, at time.Time) (bool, error) {
	r, err := json.Marshal(reasons)
	if err != nil {
		return false, err
	}
	res, err := db.Exec(ctx, `UPDATE rollout SET held = ?, held_reasons = ?, version = version + 1, updated_at = ?, updated_by = 'guardrails'
		WHERE id = 1 AND held = ?`, db.Bool(true), string(r), db.Time(at), db.Bool(false))
	if err != nil {
		return false, fmt.Errorf("hold rollout: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (db *Rollouts) writeRollout(ctx context.Context, s rollout.State) error {
	domains, emails, reasons := jsonList(s.Internal.Domains), jsonList(s.Internal.Emails), jsonList(s.HeldReasons)
	_, err := db.Exec(ctx, `UPDATE rollout SET phase = ?, percent = ?, internal_domains = ?, internal_emails = ?, new_users_since = ?,
		held = ?, held_reasons = ?, version = version + 1, updated_at = ?, updated_by = ? WHERE id = 1`,
		s.Phase.String(), s.Percent, domains, emails, db.NullTime(s.NewUsersSince),
		db.Bool(s.Held), reasons, db.Time(s.UpdatedAt), s.UpdatedBy)
	if err != nil {
		return fmt.Errorf("write rollout: %w", err)
	}
	return nil
}

// rolloutRecord is a state as the audit keeps it: everything but the salt.
type rolloutRecord struct {
	Phase         rollout.Phase    `json:"phase"`
	Percent       int              `json:"percent"`
	Internal      rollout.Internal `json:"internal"`
	NewUsersSince *time.Time       `json:"newUsersSince,omitempty"`
	Held          bool             `json:"held"`
	HeldReasons   []string         `json:"heldReasons,omitempty"`
}

func recordOf(s rollout.State) rolloutRecord {
	r := rolloutRecord{Phase: s.Phase, Percent: s.Percent, Internal: s.Internal, Held: s.Held, HeldReasons: s.HeldReasons}
	if !s.NewUsersSince.IsZero() {
		t := s.NewUsersSince.UTC()
		r.NewUsersSince = &t
	}
	return r
}

func (r rolloutRecord) state() rollout.State {
	s := rollout.State{Phase: r.Phase, Percent: r.Percent, Internal: r.Internal, Held: r.Held, HeldReasons: r.HeldReasons}
	if r.NewUsersSince != nil {
		s.NewUsersSince = *r.NewUsersSince
	}
	return s
}

func (db *Rollouts) insertRolloutChange(ctx context.Context, a rollout.Audit) error {
	before, err := json.Marshal(recordOf(a.From))
	if err != nil {
		return err
	}
	after, err := json.Marshal(recordOf(a.To))
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO rollout_changes (at, changed_by, state_before, state_after, reason, forced, tripped) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		db.Time(a.At), a.By, string(before), string(after), a.Reason, db.Bool(a.Forced), jsonList(a.Tripped))
	if err != nil {
		return fmt.Errorf("audit rollout change: %w", err)
	}
	return nil
}

// RecordRolloutAction audits an operator's action on the rollout that
// changes no field of it (a password retirement run): a row of
// rollout_changes whose state before and after are the same, so that
// `keyshift rollout history` lists it beside the changes.
func (db *Rollouts) RecordRolloutAction(ctx context.Context, a rollout.Audit) error {
	return db.insertRolloutChange(ctx, a)
}

// RolloutChanges returns the latest limit changes, newest first.
func (db *Rollouts) RolloutChanges(ctx context.Context, limit int) ([]rollout.Audit, error) {
	rows, err := db.Query(ctx, `SELECT at, changed_by, state_before, state_after, reason, forced, tripped
		FROM rollout_changes ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("rollout changes: %w", err)
	}
	defer rows.Close()
	var out []rollout.Audit
	for rows.Next() {
		var a rollout.Audit
		var before, after, tripped string
		if err := rows.Scan(sqldb.ScanTime(&a.At), &a.By, &before, &after, &a.Reason, sqldb.ScanBool(&a.Forced), &tripped); err != nil {
			return nil, fmt.Errorf("rollout changes: %w", err)
		}
		var b, f rolloutRecord
		if err := json.Unmarshal([]byte(before), &b); err != nil {
			return nil, fmt.Errorf("rollout change before: %w", err)
		}
		if err := json.Unmarshal([]byte(after), &f); err != nil {
			return nil, fmt.Errorf("rollout change after: %w", err)
		}
		if err := json.Unmarshal([]byte(tripped), &a.Tripped); err != nil {
			return nil, fmt.Errorf("rollout change tripped: %w", err)
		}
		a.From, a.To = b.state(), f.state()
		out = append(out, a)
	}
	return out, rows.Err()
}

func (db *Rollouts) scanRollout(row sqldb.Row) (rollout.State, int64, error) {
	var s rollout.State
	var phase, domains, emails, reasons string
	var version int64
	err := row.Scan(&phase, &s.Percent, &domains, &emails, &s.Salt, sqldb.ScanTime(&s.NewUsersSince), sqldb.ScanBool(&s.Held), &reasons,
		&version, sqldb.ScanTime(&s.UpdatedAt), &s.UpdatedBy)
	if err := sqldb.ScanErr(err, "rollout"); err != nil {
		return s, 0, err
	}
	if s.Phase, err = rollout.ParsePhase(phase); err != nil {
		return s, 0, fmt.Errorf("rollout: %w", err)
	}
	for _, l := range []struct {
		text string
		into *[]string
	}{{domains, &s.Internal.Domains}, {emails, &s.Internal.Emails}, {reasons, &s.HeldReasons}} {
		if err := json.Unmarshal([]byte(l.text), l.into); err != nil {
			return s, 0, fmt.Errorf("rollout: %w", err)
		}
	}
	if len(s.HeldReasons) == 0 {
		s.HeldReasons = nil
	}
	return s, version, nil
}

// RolloutAnswers returns a member's answers to the rollout (the zero value
// for a member who gave none).
func (db *Rollouts) RolloutAnswers(ctx context.Context, userID string) (rollout.Answers, error) {
	var a rollout.Answers
	err := db.QueryRow(ctx, `SELECT passkey_beta, passwordless, nudge_never, nudge_snoozes, nudge_until FROM rollout_members WHERE user_id = ?`, userID).
		Scan(sqldb.ScanBool(&a.Beta), sqldb.ScanBool(&a.Passwordless), sqldb.ScanBool(&a.Nudge.Never), &a.Nudge.Snoozes, sqldb.ScanTime(&a.Nudge.Until))
	if err := sqldb.ScanErr(err, "rollout answers"); err != nil && !account.IsCode(err, account.ENotFound) {
		return a, err
	}
	return a, nil
}

// SetRolloutAnswers writes a member's answers at the time at.
func (db *Rollouts) SetRolloutAnswers(ctx context.Context, userID string, a rollout.Answers, at time.Time) error {
	_, err := db.Exec(ctx, `INSERT INTO rollout_members (user_id, passkey_beta, passwordless, nudge_never, nudge_snoozes, nudge_until, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET passkey_beta = excluded.passkey_beta, passwordless = excluded.passwordless,
			nudge_never = excluded.nudge_never, nudge_snoozes = excluded.nudge_snoozes, nudge_until = excluded.nudge_until,
			updated_at = excluded.updated_at`,
		userID, db.Bool(a.Beta), db.Bool(a.Passwordless), db.Bool(a.Nudge.Never), a.Nudge.Snoozes,
		db.NullTime(a.Nudge.Until), db.Time(at))
	if err != nil {
		return fmt.Errorf("rollout answers: %w", err)
	}
	return nil
}

// jsonList is a string list as a JSON array, never "null".
func jsonList(xs []string) string {
	if len(xs) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(xs)
	return string(b)
}

// Rollouts is the queries, on the SQL core.
type Rollouts struct {
	*sqldb.DB
}
