package oidcprovider

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/keyshift/keyshift/internal/account"
)

// storage is the op.Storage the op package runs on: keyshift's database
// through Store, and keyshift's decisions about what goes in a token.
type storage struct {
	db      Stores
	now     func() time.Time
	ttl     Lifetimes
	login   func(id string) string
	keyLock chan struct{} // one key creation at a time in this process
	static  map[string]*Client
}

// client returns a client of the clients file or the database.
func (s *storage) client(ctx context.Context, id string) (*Client, error) {
	if c, ok := s.static[id]; ok {
		return c, nil
	}
	return s.db.Clients.OIDCClient(ctx, id)
}

var _ op.Storage = (*storage)(nil)

// notFound marks a lookup that found nothing, as the op package asks.
type notFound struct{ error }

func (notFound) IsNotFound() {}

func found(err error) error {
	if account.IsCode(err, account.ENotFound) {
		return notFound{err}
	}
	return err
}

// CreateAuthRequest stores a validated authorization request. The op
// package has checked the client and its redirect_uri; keyshift adds what
// OAuth 2.1 asks and the op package leaves to the token endpoint: PKCE,
// S256 only, from the start — a public client without it is refused here,
// before the member is asked to sign in, with invalid_request sent back to
// the app.
func (s *storage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	c, err := s.client(ctx, r.ClientID)
	if err != nil {
		return nil, err
	}
	switch {
	case r.CodeChallenge == "" && c.Public():
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge is required: this client must use PKCE with S256")
	case r.CodeChallenge != "" && r.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	now := s.now()
	a := &AuthRequest{
		ID: account.Random{}.NewID(), ClientID: r.ClientID, RedirectURI: r.RedirectURI, State: r.State, Nonce: r.Nonce,
		Scopes: r.Scopes, ResponseType: string(r.ResponseType), ResponseMode: string(r.ResponseMode),
		CodeChallenge: r.CodeChallenge, Prompt: r.Prompt, CreatedAt: now, ExpiresAt: now.Add(s.ttl.Request),
	}
	if r.MaxAge != nil {
		d := time.Duration(*r.MaxAge) * time.Second
		a.MaxAge = &d
	}
	if err := s.db.Requests.CreateOIDCAuthRequest(ctx, a); err != nil {
		return nil, err
	}
	return opRequest{a}, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	a, err := s.db.Requests.OIDCAuthRequest(ctx, id, s.now())
	if err != nil {
		return nil, found(err)
	}
	return opRequest{a}, nil
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	a, err := s.db.Requests.ClaimOIDCCode(ctx, account.HashToken(code), s.now())
	if err != nil {
		return nil, found(err)
	}
	return opRequest{a}, nil
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.db.Requests.SaveOIDCCode(ctx, id, account.HashToken(code))
}

func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return s.db.Requests.DeleteOIDCAuthRequest(ctx, id)
}

// grantOf makes the grant a token request stands for.
func (s *storage) grantOf(r op.TokenRequest, refresh bool) (*Grant, string, error) {
	now := s.now()
	g := &Grant{ID: account.Random{}.NewID(), UserID: r.GetSubject(), Scopes: r.GetScopes(), AccessExpiresAt: now.Add(s.ttl.Access), CreatedAt: now}
	switch r := r.(type) {
	case opRequest:
		g.ClientID, g.AuthTime, g.AuthMethod = r.ClientID, r.AuthTime, r.AuthMethod
	case *opRefresh:
		g.ClientID, g.AuthTime, g.AuthMethod = r.ClientID, r.AuthTime, r.AuthMethod
	default:
		return nil, "", fmt.Errorf("oidc: a token request of type %T", r)
	}
	var token string
	if refresh {
		token = account.Random{}.NewToken()
		g.RefreshHash = account.HashToken(token)
		g.RefreshExpiresAt = now.Add(s.ttl.Refresh)
	}
	return g, token, nil
}

func (s *storage) CreateAccessToken(ctx context.Context, r op.TokenRequest) (string, time.Time, error) {
	g, _, err := s.grantOf(r, false)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := s.db.Grants.CreateOIDCGrant(ctx, g); err != nil {
		return "", time.Time{}, err
	}
	return g.ID, g.AccessExpiresAt, nil
}

// CreateAccessAndRefreshTokens starts a grant with a refresh token, or
// (currentRefresh set) replaces the grant of the refresh token just used:
// each refresh token works once, and the one it replaced stops working.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, r op.TokenRequest, currentRefresh string) (string, string, time.Time, error) {
	g, token, err := s.grantOf(r, true)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if currentRefresh == "" {
		err = s.db.Grants.CreateOIDCGrant(ctx, g)
	} else {
		err = s.db.Grants.ReplaceOIDCGrant(ctx, account.HashToken(currentRefresh), g)
		if account.IsCode(err, account.ENotFound) {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("the refresh token was already used")
		}
	}
	if err != nil {
		return "", "", time.Time{}, err
	}
	return g.ID, token, g.AccessExpiresAt, nil
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	if !account.PlausibleToken(token) {
		return nil, op.ErrInvalidRefreshToken
	}
	g, err := s.db.Grants.OIDCGrantByRefresh(ctx, account.HashToken(token), s.now())
	if err != nil {
		if account.IsCode(err, account.ENotFound) {
			return nil, op.ErrInvalidRefreshToken
		}
		return nil, err
	}
	return &opRefresh{g}, nil
}

// TerminateSession ends an app's grants when the member signs out of it.
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	if userID == "" {
		return nil
	}
	return s.db.Grants.DeleteOIDCGrants(ctx, userID, clientID)
}

var _ op.CanTerminateSessionFromRequest = (*storage)(nil)

// TerminateSessionFromRequest is RP-initiated logout: the app's grants end,
// and — when the app named the member with an ID token it was given
// (id_token_hint) — so does the browser's keyshift session if it is that
// member's. Without the hint the browser stays signed in to keyshift: a
// bare link must not sign anyone out.
func (s *storage) TerminateSessionFromRequest(ctx context.Context, r *op.EndSessionRequest) (string, error) {
	if err := s.TerminateSession(ctx, r.UserID, r.ClientID); err != nil {
		return "", err
	}
	if signOut, ok := ctx.Value(signOutKey{}).(SignOut); ok && r.UserID != "" && r.IDTokenHintClaims != nil {
		if err := signOut(ctx, r.UserID); err != nil {
			return "", err
		}
	}
	return r.RedirectURI, nil
}

// SignOut ends the browser's keyshift session if it is userID's.
type SignOut func(ctx context.Context, userID string) error

type signOutKey struct{}

// WithSignOut returns ctx carrying how the end_session endpoint signs the
// browser out of keyshift: the op package hands the storage a context, not
// the request, so the page that serves the endpoint puts it there.
func WithSignOut(ctx context.Context, fn SignOut) context.Context {
	return context.WithValue(ctx, signOutKey{}, fn)
}

func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	r, err := s.TokenRequestByRefreshToken(ctx, token)
	if err != nil {
		return "", "", err
	}
	g := r.(*opRefresh)
	if g.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return g.UserID, g.ID, nil
}

// RevokeToken ends the grant an access token (by id) or a refresh token
// belongs to: an app that revokes either signs the member out of itself.
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	id := tokenOrID
	if userID == "" { // a refresh token
		_, gid, err := s.GetRefreshTokenInfo(ctx, clientID, tokenOrID)
		if err != nil {
			return nil // RFC 7009: an unknown token is not an error
		}
		id = gid
	} else {
		g, err := s.db.Grants.OIDCGrant(ctx, id)
		if err != nil {
			return nil
		}
		if g.ClientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("the token belongs to another client")
		}
	}
	if err := s.db.Grants.DeleteOIDCGrant(ctx, id); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// SigningKey is the newest key; the first call on a new database makes it.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	keys, err := s.signingKeys(ctx)
	if err != nil {
		return nil, err
	}
	return opKey(&keys[0])
}

// signingKeys returns the published keys, making the first when there is
// none. Two nodes racing to make it may both add one; the newer signs, and
// both are published.
func (s *storage) signingKeys(ctx context.Context) ([]SigningKey, error) {
	keys, err := s.db.Keys.OIDCKeys(ctx, s.now())
	if err != nil || len(keys) > 0 {
		return keys, err
	}
	s.keyLock <- struct{}{}
	defer func() { <-s.keyLock }()
	if keys, err = s.db.Keys.OIDCKeys(ctx, s.now()); err != nil || len(keys) > 0 {
		return keys, err
	}
	k, err := NewSigningKey(s.now())
	if err != nil {
		return nil, err
	}
	if err := s.db.Keys.AddOIDCKey(ctx, k, time.Time{}); err != nil {
		return nil, err
	}
	return s.db.Keys.OIDCKeys(ctx, s.now())
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256}, nil
}

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	keys, err := s.signingKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, 0, len(keys))
	for i := range keys {
		k, err := opKey(&keys[i])
		if err != nil {
			return nil, err
		}
		out = append(out, opPublicKey{k})
	}
	return out, nil
}

// GetClientByClientID returns a client that may ask; a revoked or unknown
// one is not found.
func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.client(ctx, id)
	if err != nil {
		return nil, found(err)
	}
	if !c.RevokedAt.IsZero() {
		return nil, notFound{errors.New("oidc client revoked")}
	}
	return opClient{Client: c, loginURL: s.login, idTTL: s.ttl.ID}, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret in
// constant time; a public client has none to check.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, err := s.client(ctx, id)
	if err != nil || !c.RevokedAt.IsZero() || c.Public() ||
		subtle.ConstantTimeCompare(account.HashToken(secret), c.SecretHash) != 1 {
		return oidc.ErrInvalidClient().WithDescription("unknown client or wrong secret")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in the op package, which calls
// SetUserinfoFromRequest instead.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	return s.userinfo(ctx, info, r.GetSubject(), scopes)
}

// SetUserinfoFromToken answers userinfo for a live grant.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	g, err := s.db.Grants.OIDCGrant(ctx, tokenID)
	if err != nil || g.UserID != subject || !s.now().Before(g.AccessExpiresAt) {
		return oidc.ErrInvalidRequest().WithDescription("the access token is invalid or expired")
	}
	return s.userinfo(ctx, info, subject, g.Scopes)
}

func (s *storage) SetIntrospectionFromToken(ctx context.Context, in *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	g, err := s.db.Grants.OIDCGrant(ctx, tokenID)
	if err != nil || g.UserID != subject || !s.now().Before(g.AccessExpiresAt) {
		return oidc.ErrInvalidRequest().WithDescription("the token is invalid or expired")
	}
	var info oidc.UserInfo
	if err := s.userinfo(ctx, &info, subject, g.Scopes); err != nil {
		return err
	}
	in.SetUserInfo(&info)
	in.Scope = g.Scopes
	in.ClientID = g.ClientID
	return nil
}

// userinfo sets the claims the scopes ask for: sub always; email and
// email_verified for "email"; name for "profile" when the member has one.
func (s *storage) userinfo(ctx context.Context, info *oidc.UserInfo, userID string, scopes []string) error {
	u, err := s.db.Users.FindUser(ctx, userID)
	if err != nil {
		return found(err)
	}
	info.Subject = u.ID
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeEmail:
			info.Email, info.EmailVerified = u.Email, oidc.Bool(u.EmailVerified)
		case oidc.ScopeProfile:
			info.Name = u.Name
		}
	}
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// JWT profile grants are not offered: no client keys to find.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, notFound{errors.New("no client keys")}
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnauthorizedClient().WithDescription("JWT profile grants are not offered")
}

func (s *storage) Health(ctx context.Context) error {
	_, err := s.db.Keys.OIDCKeys(ctx, s.now())
	return err
}
