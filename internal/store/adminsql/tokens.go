// Package adminsql is the SQL of administration: the admin API's bearer
// tokens (admintoken.Store) and the members holding the admin role
// (adminrole.Store). store.DB embeds it.
package adminsql

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/admintoken"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// CreateAdminToken stores t with the hash of its secret; a name in use
// (revoked tokens keep theirs) answers name_taken.
func (db *Admin) CreateAdminToken(ctx context.Context, t admintoken.Token, hash []byte) error {
	scopes, err := json.Marshal(t.Scopes)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO admin_tokens (id, name, token_hash, scopes, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, hash, string(scopes), db.Time(t.CreatedAt), t.CreatedBy)
	if db.UniqueOn(err, "admin_tokens", "name") {
		return &account.Error{Code: account.ENameTaken, Field: "name", Detail: fmt.Sprintf("an admin token named %q exists (revoked tokens keep their names)", t.Name)}
	}
	if err != nil {
		return fmt.Errorf("create admin token: %w", err)
	}
	return nil
}

const adminTokenColumns = `id, name, scopes, created_at, created_by, last_used_at, revoked_at`

// AdminTokens lists every token, revoked ones too, oldest first.
func (db *Admin) AdminTokens(ctx context.Context) ([]admintoken.Token, error) {
	rows, err := db.Query(ctx, `SELECT `+adminTokenColumns+` FROM admin_tokens ORDER BY created_at, name`)
	if err != nil {
		return nil, fmt.Errorf("admin tokens: %w", err)
	}
	defer rows.Close()
	var out []admintoken.Token
	for rows.Next() {
		t, err := scanAdminToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeAdminToken revokes the live token named name.
func (db *Admin) RevokeAdminToken(ctx context.Context, name string, at time.Time) error {
	res, err := db.Exec(ctx, `UPDATE admin_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL`, db.Time(at), name)
	if err != nil {
		return fmt.Errorf("revoke admin token: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return sqldb.NotFound("live admin token " + fmt.Sprintf("%q", name))
	}
	return nil
}

// FindAdminToken returns the live token whose secret hashes to hash.
func (db *Admin) FindAdminToken(ctx context.Context, hash []byte) (admintoken.Token, error) {
	t, err := scanAdminToken(db.QueryRow(ctx, `SELECT `+adminTokenColumns+` FROM admin_tokens WHERE token_hash = ? AND revoked_at IS NULL`, hash))
	return t, err
}

// TouchAdminToken records a use of the token.
func (db *Admin) TouchAdminToken(ctx context.Context, id string, at time.Time) error {
	if _, err := db.Exec(ctx, `UPDATE admin_tokens SET last_used_at = ? WHERE id = ?`, db.Time(at), id); err != nil {
		return fmt.Errorf("touch admin token: %w", err)
	}
	return nil
}

func scanAdminToken(row sqldb.Row) (admintoken.Token, error) {
	var t admintoken.Token
	var scopes string
	err := row.Scan(&t.ID, &t.Name, &scopes, sqldb.ScanTime(&t.CreatedAt), &t.CreatedBy, sqldb.ScanTime(&t.LastUsedAt), sqldb.ScanTime(&t.RevokedAt))
	if err := sqldb.ScanErr(err, "admin token"); err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
		return t, fmt.Errorf("admin token scopes: %w", err)
	}
	return t, nil
}

// Admin serves admintoken.Store and adminrole.Store over the shared
// connections.
type Admin struct {
	*sqldb.DB
}
