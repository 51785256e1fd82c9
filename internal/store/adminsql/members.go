package adminsql

import (
	"context"
	"fmt"
	"time"

	"github.com/keyshift/keyshift/internal/adminrole"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// GrantAdmin implements adminrole.Store.
func (db *Admin) GrantAdmin(ctx context.Context, userID string, at time.Time, by string) (bool, error) {
	res, err := db.Exec(ctx, `INSERT INTO admin_members (user_id, granted_at, granted_by) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO NOTHING`, userID, db.Time(at), by)
	if err != nil {
		return false, fmt.Errorf("grant admin: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// RevokeAdmin implements adminrole.Store.
func (db *Admin) RevokeAdmin(ctx context.Context, userID string) (bool, error) {
	res, err := db.Exec(ctx, `DELETE FROM admin_members WHERE user_id = ?`, userID)
	if err != nil {
		return false, fmt.Errorf("revoke admin: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// IsAdmin implements adminrole.Store.
func (db *Admin) IsAdmin(ctx context.Context, userID string) (bool, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT COUNT(*) FROM admin_members WHERE user_id = ?`, userID).Scan(&n)
	return n > 0, err
}

// AdminMembers implements adminrole.Store.
func (db *Admin) AdminMembers(ctx context.Context) ([]adminrole.Member, error) {
	rows, err := db.Query(ctx, `SELECT a.user_id, u.email, a.granted_at, a.granted_by,
		(SELECT COUNT(*) FROM credentials c WHERE c.user_id = a.user_id AND c.type = 'webauthn')
		FROM admin_members a JOIN users u ON u.id = a.user_id ORDER BY a.granted_at, u.email`)
	if err != nil {
		return nil, fmt.Errorf("admin members: %w", err)
	}
	defer rows.Close()
	out := []adminrole.Member{}
	for rows.Next() {
		var m adminrole.Member
		if err := rows.Scan(&m.UserID, &m.Email, sqldb.ScanTime(&m.GrantedAt), &m.GrantedBy, &m.Passkeys); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
