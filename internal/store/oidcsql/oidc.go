// Package oidcsql is the SQL of keyshift's OpenID Provider
// (oidcprovider.Store): clients, signing keys, authorization requests and
// grants. store.DB embeds it.
package oidcsql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/oidcprovider"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// OIDC serves oidcprovider's stores over the shared connections.
type OIDC struct {
	*sqldb.DB
}

func spaced(l []string) string { return strings.Join(l, " ") }

// CreateOIDCClient implements oidcprovider.ClientStore.
func (db *OIDC) CreateOIDCClient(ctx context.Context, c *oidcprovider.Client) error {
	_, err := db.Exec(ctx, `INSERT INTO oidc_clients (id, name, secret_hash, redirect_uris, logout_uris, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, sqldb.NullBytes(c.SecretHash), spaced(c.RedirectURIs), spaced(c.LogoutURIs), db.Time(c.CreatedAt))
	return err
}

const clientColumns = `id, name, secret_hash, redirect_uris, logout_uris, created_at, revoked_at`

func scanClient(row interface{ Scan(...any) error }) (*oidcprovider.Client, error) {
	var c oidcprovider.Client
	var redirect, logout string
	err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &redirect, &logout, sqldb.ScanTime(&c.CreatedAt), sqldb.ScanTime(&c.RevokedAt))
	c.RedirectURIs, c.LogoutURIs = strings.Fields(redirect), strings.Fields(logout)
	return &c, err
}

// OIDCClient implements oidcprovider.ClientStore.
func (db *OIDC) OIDCClient(ctx context.Context, id string) (*oidcprovider.Client, error) {
	c, err := scanClient(db.QueryRow(ctx, `SELECT `+clientColumns+` FROM oidc_clients WHERE id = ?`, id))
	return c, sqldb.ScanErr(err, "oidc client")
}

// OIDCClients implements oidcprovider.ClientStore.
func (db *OIDC) OIDCClients(ctx context.Context) ([]oidcprovider.Client, error) {
	rows, err := db.Query(ctx, `SELECT `+clientColumns+` FROM oidc_clients ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []oidcprovider.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// RevokeOIDCClient implements oidcprovider.ClientStore: the client can no
// longer ask, and its grants end.
func (db *OIDC) RevokeOIDCClient(ctx context.Context, id string, at time.Time) error {
	return db.InTx(ctx, func(ctx context.Context) error {
		res, err := db.Exec(ctx, `UPDATE oidc_clients SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, db.Time(at), id)
		if err := sqldb.Affected(res, err, "oidc client"); err != nil {
			return err
		}
		if _, err := db.Exec(ctx, `DELETE FROM oidc_tokens WHERE client_id = ?`, id); err != nil {
			return err
		}
		_, err = db.Exec(ctx, `DELETE FROM oidc_auth_requests WHERE client_id = ?`, id)
		return err
	})
}

// CreateOIDCAuthRequest implements oidcprovider.RequestStore; it also
// drops expired requests, so the table holds only those in flight.
func (db *OIDC) CreateOIDCAuthRequest(ctx context.Context, a *oidcprovider.AuthRequest) error {
	if _, err := db.Exec(ctx, `DELETE FROM oidc_auth_requests WHERE expires_at < ?`, db.Time(a.CreatedAt)); err != nil {
		return err
	}
	var maxAge any
	if a.MaxAge != nil {
		maxAge = int64(*a.MaxAge / time.Second)
	}
	_, err := db.Exec(ctx, `INSERT INTO oidc_auth_requests (id, client_id, redirect_uri, state, nonce, scopes, response_type,
			response_mode, code_challenge, prompt, max_age, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.ClientID, a.RedirectURI, a.State, a.Nonce, spaced(a.Scopes), a.ResponseType, a.ResponseMode,
		a.CodeChallenge, spaced(a.Prompt), maxAge, db.Time(a.CreatedAt), db.Time(a.ExpiresAt))
	return err
}

const requestColumns = `id, client_id, redirect_uri, state, nonce, scopes, response_type, response_mode, code_challenge,
	prompt, max_age, user_id, auth_time, auth_method, created_at, expires_at`

func scanRequest(row interface{ Scan(...any) error }) (*oidcprovider.AuthRequest, error) {
	var a oidcprovider.AuthRequest
	var scopes, prompt, method string
	var maxAge sql.NullInt64
	var userID sql.NullString
	err := row.Scan(&a.ID, &a.ClientID, &a.RedirectURI, &a.State, &a.Nonce, &scopes, &a.ResponseType, &a.ResponseMode,
		&a.CodeChallenge, &prompt, &maxAge, &userID, sqldb.ScanTime(&a.AuthTime), &method,
		sqldb.ScanTime(&a.CreatedAt), sqldb.ScanTime(&a.ExpiresAt))
	a.Scopes, a.Prompt, a.UserID, a.AuthMethod = strings.Fields(scopes), strings.Fields(prompt), userID.String, account.AuthMethod(method)
	if maxAge.Valid {
		d := time.Duration(maxAge.Int64) * time.Second
		a.MaxAge = &d
	}
	return &a, err
}

// OIDCAuthRequest implements oidcprovider.RequestStore.
func (db *OIDC) OIDCAuthRequest(ctx context.Context, id string, now time.Time) (*oidcprovider.AuthRequest, error) {
	a, err := scanRequest(db.QueryRowW(ctx, `SELECT `+requestColumns+` FROM oidc_auth_requests WHERE id = ? AND expires_at > ?`, id, db.Time(now)))
	return a, sqldb.ScanErr(err, "authorization request")
}

// AnswerOIDCAuthRequest implements oidcprovider.RequestStore.
func (db *OIDC) AnswerOIDCAuthRequest(ctx context.Context, id, userID string, authTime time.Time, method account.AuthMethod) error {
	res, err := db.Exec(ctx, `UPDATE oidc_auth_requests SET user_id = ?, auth_time = ?, auth_method = ? WHERE id = ? AND user_id IS NULL`,
		userID, db.Time(authTime), string(method), id)
	return sqldb.Affected(res, err, "authorization request")
}

// SaveOIDCCode implements oidcprovider.RequestStore.
func (db *OIDC) SaveOIDCCode(ctx context.Context, id string, codeHash []byte) error {
	res, err := db.Exec(ctx, `UPDATE oidc_auth_requests SET code_hash = ? WHERE id = ? AND user_id IS NOT NULL`, codeHash, id)
	return sqldb.Affected(res, err, "authorization request")
}

// ClaimOIDCCode implements oidcprovider.RequestStore: one UPDATE … RETURNING,
// so of two exchanges of one code only one finds it.
func (db *OIDC) ClaimOIDCCode(ctx context.Context, codeHash []byte, now time.Time) (*oidcprovider.AuthRequest, error) {
	a, err := scanRequest(db.QueryRowW(ctx, `UPDATE oidc_auth_requests SET code_hash = NULL
		WHERE code_hash = ? AND expires_at > ? RETURNING `+requestColumns, codeHash, db.Time(now)))
	return a, sqldb.ScanErr(err, "authorization code")
}

// DeleteOIDCAuthRequest implements oidcprovider.RequestStore.
func (db *OIDC) DeleteOIDCAuthRequest(ctx context.Context, id string) error {
	_, err := db.Exec(ctx, `DELETE FROM oidc_auth_requests WHERE id = ?`, id)
	return err
}

// CreateOIDCGrant implements oidcprovider.GrantStore.
func (db *OIDC) CreateOIDCGrant(ctx context.Context, g *oidcprovider.Grant) error {
	_, err := db.Exec(ctx, `INSERT INTO oidc_tokens (id, client_id, user_id, scopes, auth_time, auth_method, refresh_hash,
			access_expires_at, refresh_expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.ClientID, g.UserID, spaced(g.Scopes), db.Time(g.AuthTime), string(g.AuthMethod), sqldb.NullBytes(g.RefreshHash),
		db.Time(g.AccessExpiresAt), db.NullTime(g.RefreshExpiresAt), db.Time(g.CreatedAt))
	return err
}

const grantColumns = `id, client_id, user_id, scopes, auth_time, auth_method, refresh_hash, access_expires_at, refresh_expires_at, created_at`

func scanGrant(row interface{ Scan(...any) error }) (*oidcprovider.Grant, error) {
	var g oidcprovider.Grant
	var scopes, method string
	err := row.Scan(&g.ID, &g.ClientID, &g.UserID, &scopes, sqldb.ScanTime(&g.AuthTime), &method, &g.RefreshHash,
		sqldb.ScanTime(&g.AccessExpiresAt), sqldb.ScanTime(&g.RefreshExpiresAt), sqldb.ScanTime(&g.CreatedAt))
	g.Scopes, g.AuthMethod = strings.Fields(scopes), account.AuthMethod(method)
	return &g, err
}

// OIDCGrant implements oidcprovider.GrantStore.
func (db *OIDC) OIDCGrant(ctx context.Context, id string) (*oidcprovider.Grant, error) {
	g, err := scanGrant(db.QueryRow(ctx, `SELECT `+grantColumns+` FROM oidc_tokens WHERE id = ?`, id))
	return g, sqldb.ScanErr(err, "grant")
}

// OIDCGrantByRefresh implements oidcprovider.GrantStore.
func (db *OIDC) OIDCGrantByRefresh(ctx context.Context, refreshHash []byte, now time.Time) (*oidcprovider.Grant, error) {
	g, err := scanGrant(db.QueryRowW(ctx, `SELECT `+grantColumns+` FROM oidc_tokens WHERE refresh_hash = ? AND refresh_expires_at > ?`,
		refreshHash, db.Time(now)))
	return g, sqldb.ScanErr(err, "refresh token")
}

// ReplaceOIDCGrant implements oidcprovider.GrantStore.
func (db *OIDC) ReplaceOIDCGrant(ctx context.Context, oldRefresh []byte, g *oidcprovider.Grant) error {
	return db.InTx(ctx, func(ctx context.Context) error {
		res, err := db.Exec(ctx, `DELETE FROM oidc_tokens WHERE refresh_hash = ?`, oldRefresh)
		if err := sqldb.Affected(res, err, "refresh token"); err != nil {
			return err
		}
		return db.CreateOIDCGrant(ctx, g)
	})
}

// DeleteOIDCGrant implements oidcprovider.GrantStore.
func (db *OIDC) DeleteOIDCGrant(ctx context.Context, id string) error {
	_, err := db.Exec(ctx, `DELETE FROM oidc_tokens WHERE id = ?`, id)
	return err
}

// DeleteOIDCGrants implements oidcprovider.GrantStore.
func (db *OIDC) DeleteOIDCGrants(ctx context.Context, userID, clientID string) error {
	if clientID == "" {
		_, err := db.Exec(ctx, `DELETE FROM oidc_tokens WHERE user_id = ?`, userID)
		return err
	}
	_, err := db.Exec(ctx, `DELETE FROM oidc_tokens WHERE user_id = ? AND client_id = ?`, userID, clientID)
	return err
}

// OIDCKeys implements oidcprovider.KeyStore.
func (db *OIDC) OIDCKeys(ctx context.Context, now time.Time) ([]oidcprovider.SigningKey, error) {
	rows, err := db.Query(ctx, `SELECT id, alg, private_der, created_at, retired_at, published_until FROM oidc_keys
		WHERE published_until IS NULL OR published_until > ? ORDER BY created_at DESC, id`, db.Time(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []oidcprovider.SigningKey
	for rows.Next() {
		var k oidcprovider.SigningKey
		if err := rows.Scan(&k.ID, &k.Alg, &k.PrivateDER, sqldb.ScanTime(&k.CreatedAt), sqldb.ScanTime(&k.RetiredAt),
			sqldb.ScanTime(&k.PublishedUntil)); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// AddOIDCKey implements oidcprovider.KeyStore.
func (db *OIDC) AddOIDCKey(ctx context.Context, k *oidcprovider.SigningKey, publishedUntil time.Time) error {
	return db.InTx(ctx, func(ctx context.Context) error {
		if !publishedUntil.IsZero() {
			if _, err := db.Exec(ctx, `UPDATE oidc_keys SET retired_at = ?, published_until = ? WHERE retired_at IS NULL`,
				db.Time(k.CreatedAt), db.Time(publishedUntil)); err != nil {
				return err
			}
		}
		_, err := db.Exec(ctx, `INSERT INTO oidc_keys (id, alg, private_der, created_at) VALUES (?, ?, ?, ?)`,
			k.ID, k.Alg, k.PrivateDER, db.Time(k.CreatedAt))
		return err
	})
}

// DeleteExpiredOIDC deletes authorization requests past their end and
// grants neither of whose tokens can be used any more (the janitor).
func (db *OIDC) DeleteExpiredOIDC(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for _, q := range []string{
		`DELETE FROM oidc_auth_requests WHERE expires_at <= ?`,
		`DELETE FROM oidc_tokens WHERE access_expires_at <= ? AND (refresh_hash IS NULL OR refresh_expires_at <= ?)`,
	} {
		args := []any{db.Time(now)}
		if strings.Count(q, "?") == 2 {
			args = append(args, db.Time(now))
		}
		res, err := db.Exec(ctx, q, args...)
		if err != nil {
			return total, fmt.Errorf("purging expired OIDC rows: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
