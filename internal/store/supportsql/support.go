// Package supportsql is the SQL of support recovery (support.Store): the
// recoveries and their single-use links. store.DB embeds it.
package supportsql

import (
	"context"
	"time"

	"github.com/keyshift/keyshift/internal/email/link"
	"github.com/keyshift/keyshift/internal/store/sqldb"
	"github.com/keyshift/keyshift/internal/support"
)

// supportColumns are returned by every support recovery query, in
// scanSupportRecovery's order; r is support_recoveries, u its account.
const supportColumns = `r.id, r.user_id, r.email, r.email_key, r.evidence, r.requested_by, r.state, r.created_at, r.ready_at,
	r.mailed_at, r.link_expires_at, r.ended_at, r.ended_by, u.email`

const supportFrom = ` FROM support_recoveries r JOIN users u ON u.id = r.user_id`

func scanSupportRecovery(row sqldb.Row) (*support.Recovery, error) {
	var r support.Recovery
	err := row.Scan(&r.ID, &r.UserID, &r.Email, &r.EmailKey, &r.Evidence, &r.RequestedBy, (*string)(&r.State),
		sqldb.ScanTime(&r.CreatedAt), sqldb.ScanTime(&r.ReadyAt), sqldb.ScanTime(&r.MailedAt), sqldb.ScanTime(&r.LinkExpiresAt),
		sqldb.ScanTime(&r.EndedAt), &r.EndedBy, &r.CurrentEmail)
	if err := sqldb.ScanErr(err, "support recovery"); err != nil {
		return nil, err
	}
	return &r, nil
}

func (db *Support) supportRecoveries(ctx context.Context, q string, args ...any) ([]support.Recovery, error) {
	rows, err := db.Query(ctx, `SELECT `+supportColumns+supportFrom+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []support.Recovery
	for rows.Next() {
		r, err := scanSupportRecovery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// CreateSupportRecovery implements support.Store.
func (db *Support) CreateSupportRecovery(ctx context.Context, r *support.Recovery) error {
	_, err := db.Exec(ctx, `INSERT INTO support_recoveries (id, user_id, email, email_key, evidence, requested_by, state,
			created_at, ready_at, mailed_at, link_expires_at, ended_at, ended_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.UserID, r.Email, r.EmailKey, r.Evidence, r.RequestedBy, string(r.State), db.Time(r.CreatedAt), db.Time(r.ReadyAt),
		db.NullTime(r.MailedAt), db.NullTime(r.LinkExpiresAt), db.NullTime(r.EndedAt), r.EndedBy)
	return err
}

// FindSupportRecovery implements support.Store.
func (db *Support) FindSupportRecovery(ctx context.Context, id string) (*support.Recovery, error) {
	return scanSupportRecovery(db.QueryRow(ctx, `SELECT `+supportColumns+supportFrom+` WHERE r.id = ?`, id))
}

// SupportRecoveries implements support.Store.
func (db *Support) SupportRecoveries(ctx context.Context, f support.Filter) ([]support.Recovery, error) {
	q, args := ` WHERE 1 = 1`, []any{}
	if f.UserID != "" {
		q, args = q+` AND r.user_id = ?`, append(args, f.UserID)
	}
	if f.Pending {
		q, args = q+` AND r.state = ?`, append(args, string(support.StatePending))
	}
	return db.supportRecoveries(ctx, q+` ORDER BY r.created_at DESC, r.id LIMIT ?`, append(args, max(f.Limit, 1))...)
}

// AnySupportRecoveryPending implements support.Store (index
// support_recoveries_due).
func (db *Support) AnySupportRecoveryPending(ctx context.Context) (bool, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM support_recoveries WHERE state = 'pending' LIMIT 1) r`).Scan(&n)
	return n > 0, err
}

// DueSupportRecoveries implements support.Store (index support_recoveries_due).
func (db *Support) DueSupportRecoveries(ctx context.Context, now time.Time, limit int) ([]support.Recovery, error) {
	return db.supportRecoveries(ctx, ` WHERE r.state = 'pending' AND r.ready_at <= ? AND r.mailed_at IS NULL
		ORDER BY r.ready_at, r.id LIMIT ?`, db.Time(now), limit)
}

// ExpiredSupportRecoveries implements support.Store.
func (db *Support) ExpiredSupportRecoveries(ctx context.Context, now time.Time, limit int) ([]support.Recovery, error) {
	return db.supportRecoveries(ctx, ` WHERE r.state = 'pending' AND r.link_expires_at <= ?
		ORDER BY r.link_expires_at, r.id LIMIT ?`, db.Time(now), limit)
}

// MarkSupportRecoveryMailed implements support.Store: one conditional
// UPDATE, so of several nodes one mails the link.
func (db *Support) MarkSupportRecoveryMailed(ctx context.Context, id string, at, expires time.Time) (bool, error) {
	res, err := db.Exec(ctx, `UPDATE support_recoveries SET mailed_at = ?, link_expires_at = ?
		WHERE id = ? AND state = 'pending' AND mailed_at IS NULL`, db.Time(at), db.Time(expires), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// EndSupportRecovery implements support.Store.
func (db *Support) EndSupportRecovery(ctx context.Context, id string, state support.State, at time.Time, by string) (bool, error) {
	res, err := db.Exec(ctx, `UPDATE support_recoveries SET state = ?, ended_at = ?, ended_by = ?
		WHERE id = ? AND state = 'pending'`, string(state), db.Time(at), by, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

const supportLinkColumns = `token_hash, kind, recovery_id, user_id, expires_at`

func scanSupportLink(row sqldb.Row) (*support.Link, error) {
	var l support.Link
	err := row.Scan(&l.TokenHash, (*string)(&l.Kind), &l.RecoveryID, &l.UserID, sqldb.ScanTime(&l.ExpiresAt))
	if err := sqldb.ScanErr(err, "support recovery link"); err != nil {
		return nil, err
	}
	return &l, nil
}

// CreateSupportLink implements support.Store.
func (db *Support) CreateSupportLink(ctx context.Context, l *support.Link) error {
	_, err := db.Exec(ctx, `INSERT INTO support_links (`+supportLinkColumns+`) VALUES (?, ?, ?, ?, ?)`,
		l.TokenHash, string(l.Kind), l.RecoveryID, l.UserID, db.Time(l.ExpiresAt))
	return err
}

// SupportLinks implements support.Store.
func (db *Support) SupportLinks(kind support.LinkKind) link.Store[support.Link] {
	return sqldb.Links[support.Link]{DB: db.DB, Table: "support_links", Columns: supportLinkColumns, Scan: scanSupportLink,
		Where: `kind = ?`, Args: []any{string(kind)}}
}

// DeleteSupportLinks implements support.Store.
func (db *Support) DeleteSupportLinks(ctx context.Context, recoveryID string) (int, error) {
	res, err := db.Exec(ctx, `DELETE FROM support_links WHERE recovery_id = ?`, recoveryID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Support is the SQL of support recovery over the shared core.
type Support struct {
	*sqldb.DB
}
