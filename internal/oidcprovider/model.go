// Package oidcprovider makes keyshift an OpenID Provider for the site's
// apps (docs/integrate.md): discovery, JWKS, the authorization code flow
// with PKCE, ID tokens, userinfo, rotating refresh tokens and RP-initiated
// logout, on github.com/zitadel/oidc/v3's op package. The protocol is the
// library's; this package holds what keyshift decides: its clients, its
// signing keys in the database, how a keyshift session answers an
// authorization request (amr, acr, auth_time), and that a public client
// cannot start a flow without PKCE S256.
package oidcprovider

import (
	"context"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// Client is an app allowed to ask keyshift who is signed in.
type Client struct {
	ID   string
	Name string
	// SecretHash is account.HashToken of the client's secret; nil for a
	// public client (a single-page or native app), which must use PKCE S256.
	SecretHash   []byte
	RedirectURIs []string
	// LogoutURIs are the post_logout_redirect_uris RP-initiated logout may
	// send the browser to.
	LogoutURIs []string
	CreatedAt  time.Time
	RevokedAt  time.Time // zero while the client may ask
}

// Public reports whether c has no secret.
func (c *Client) Public() bool { return c.SecretHash == nil }

// AuthRequest is an authorization request in flight: made when an app
// sends the browser to /oidc/authorize, answered when a keyshift session
// stands behind it, exchanged (once) for tokens by its code.
type AuthRequest struct {
	ID            string
	ClientID      string
	RedirectURI   string
	State         string
	Nonce         string
	Scopes        []string
	ResponseType  string
	ResponseMode  string
	CodeChallenge string // S256 only: the one method offered
	Prompt        []string
	MaxAge        *time.Duration
	// Set when a session answered the request.
	UserID     string
	AuthTime   time.Time
	AuthMethod account.AuthMethod
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// Grant is one app's tokens for one member: an access token (the
// provider's encrypted "id:subject", so only its row is stored) and, when
// the app asked for offline_access, a refresh token stored hashed and
// replaced at each use.
type Grant struct {
	ID               string
	ClientID         string
	UserID           string
	Scopes           []string
	AuthTime         time.Time
	AuthMethod       account.AuthMethod
	RefreshHash      []byte // nil: no refresh token
	AccessExpiresAt  time.Time
	RefreshExpiresAt time.Time
	CreatedAt        time.Time
}

// SigningKey is a private key that signs ID tokens and JWT access tokens.
type SigningKey struct {
	ID             string
	Alg            string // "ES256"
	PrivateDER     []byte // PKCS #8
	CreatedAt      time.Time
	RetiredAt      time.Time // zero while it signs
	PublishedUntil time.Time // zero while it signs; then when its last token expires
}

// ClientStore keeps clients.
type ClientStore interface {
	CreateOIDCClient(ctx context.Context, c *Client) error
	// OIDCClient returns a client, revoked ones included; ENotFound.
	OIDCClient(ctx context.Context, id string) (*Client, error)
	OIDCClients(ctx context.Context) ([]Client, error)
	RevokeOIDCClient(ctx context.Context, id string, at time.Time) error
}

// RequestStore keeps authorization requests.
type RequestStore interface {
	CreateOIDCAuthRequest(ctx context.Context, a *AuthRequest) error
	// OIDCAuthRequest returns an unexpired request; ENotFound.
	OIDCAuthRequest(ctx context.Context, id string, now time.Time) (*AuthRequest, error)
	// AnswerOIDCAuthRequest records who answered a request not yet answered.
	AnswerOIDCAuthRequest(ctx context.Context, id, userID string, authTime time.Time, method account.AuthMethod) error
	SaveOIDCCode(ctx context.Context, id string, codeHash []byte) error
	// ClaimOIDCCode returns the unexpired request of a code and forgets the
	// code in the same statement: of two exchanges of one code, one wins.
	ClaimOIDCCode(ctx context.Context, codeHash []byte, now time.Time) (*AuthRequest, error)
	DeleteOIDCAuthRequest(ctx context.Context, id string) error
}

// GrantStore keeps grants.
type GrantStore interface {
	CreateOIDCGrant(ctx context.Context, g *Grant) error
	// OIDCGrant returns a grant by id; ENotFound.
	OIDCGrant(ctx context.Context, id string) (*Grant, error)
	// OIDCGrantByRefresh returns the grant of an unexpired refresh token.
	OIDCGrantByRefresh(ctx context.Context, refreshHash []byte, now time.Time) (*Grant, error)
	// ReplaceOIDCGrant deletes the grant holding oldRefresh and adds g, in
	// one transaction; ENotFound when no grant holds it any more (a refresh
	// token is used once, even by two requests at the same moment).
	ReplaceOIDCGrant(ctx context.Context, oldRefresh []byte, g *Grant) error
	DeleteOIDCGrant(ctx context.Context, id string) error
	// DeleteOIDCGrants ends every grant of a member to a client ("" for all).
	DeleteOIDCGrants(ctx context.Context, userID, clientID string) error
}

// KeyStore keeps signing keys.
type KeyStore interface {
	// OIDCKeys returns the keys still published at now, newest first.
	OIDCKeys(ctx context.Context, now time.Time) ([]SigningKey, error)
	// AddOIDCKey adds k as the signing key and retires the others,
	// publishing them until publishedUntil.
	AddOIDCKey(ctx context.Context, k *SigningKey, publishedUntil time.Time) error
}

// Users finds members.
type Users interface {
	FindUser(ctx context.Context, id string) (*account.User, error)
}

// Secrets hands out the install's server keys.
type Secrets interface {
	ServerKey(ctx context.Context, name string, size int) ([]byte, error)
}

// Stores are what the provider keeps, each behind its own small interface
// (one database usually serves them all).
type Stores struct {
	Clients  ClientStore
	Requests RequestStore
	Grants   GrantStore
	Keys     KeyStore
	Users    Users
	Secrets  Secrets
}
