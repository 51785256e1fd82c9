package oidcprovider

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/keyshift/keyshift/internal/account"
)

// The provider's paths. Discovery is at the issuer's well-known address;
// everything else under /oidc/, next to keyshift's own pages.
const (
	PathPrefix     = "/oidc/"
	PathLogin      = "/oidc/login"
	PathAuthorize  = "/oidc/authorize"
	PathEndSession = "/oidc/end_session"
	PathLoggedOut  = "/oidc/logged-out"
)

// The op package's WithCustom…Endpoint options write into the Endpoints
// its DefaultEndpoints points at, which every provider shares: two
// providers made at once (nodes in one process, tests) race. So the paths
// are set once, here, before any provider exists, and no option touches
// them.
func init() {
	op.DefaultEndpoints = &op.Endpoints{
		Authorization:       op.NewEndpoint("oidc/authorize"),
		Token:               op.NewEndpoint("oidc/token"),
		Introspection:       op.NewEndpoint("oidc/introspect"),
		Userinfo:            op.NewEndpoint("oidc/userinfo"),
		Revocation:          op.NewEndpoint("oidc/revoke"),
		EndSession:          op.NewEndpoint("oidc/end_session"),
		JwksURI:             op.NewEndpoint("oidc/keys"),
		DeviceAuthorization: op.NewEndpoint("oidc/device_authorization"),
	}
}

// Lifetimes are how long the provider's artefacts live.
type Lifetimes struct {
	Request time.Duration // an authorization request waiting for a sign-in
	Access  time.Duration // an access token
	ID      time.Duration // an ID token
	Refresh time.Duration // a refresh token, from its last use
}

// DefaultLifetimes: short access and ID tokens, so a revoked grant or a
// removed member stops apps soon; a refresh token lasts 30 days of disuse.
var DefaultLifetimes = Lifetimes{Request: 30 * time.Minute, Access: 15 * time.Minute, ID: time.Hour, Refresh: 30 * 24 * time.Hour}

// Provider is keyshift's OpenID Provider.
type Provider struct {
	op      *op.Provider
	db      RequestStore
	now     func() time.Time
	handler http.Handler
}

// New returns the provider whose issuer is the site's origin; static are
// the clients of the configuration's clients file, asked before the
// database's.
func New(ctx context.Context, issuer string, db Stores, ttl Lifetimes, static []Client, now func() time.Time) (*Provider, error) {
	// The op package encrypts each access token ("grant id:subject") with
	// this key; every node reads the same row, so any node accepts any
	// node's tokens.
	secret, err := db.Secrets.ServerKey(ctx, "oidc_access_tokens", 32)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	s := &storage{db: db, now: now, ttl: ttl, keyLock: make(chan struct{}, 1), static: map[string]*Client{},
		login: func(id string) string { return PathLogin + "?id=" + url.QueryEscape(id) }}
	cfg := &op.Config{
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		DefaultLogoutRedirectURI: PathLoggedOut,
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr", "c_hash", "at_hash",
			"azp", "email", "email_verified", "name"},
	}
	copy(cfg.CryptoKey[:], secret)
	opts := []op.Option{
		// Apps' browser code may read discovery, keys and userinfo, and
		// post to the token endpoint; none of them uses cookies.
		op.WithCORSOptions(&cors.Options{AllowOriginFunc: func(string) bool { return true },
			AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost},
			AllowedHeaders: []string{"Authorization", "Content-Type", "Accept"}}),
	}
	if strings.HasPrefix(issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure()) // config allows http only for this machine or dev mode
	}
	for i := range static {
		s.static[static[i].ID] = &static[i]
	}
	p, err := op.NewOpenIDProvider(issuer, cfg, s, opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	return &Provider{op: p, db: db.Requests, now: now, handler: p}, nil
}

// ServeHTTP serves discovery and the provider's endpoints.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.handler.ServeHTTP(w, r) }

// A Session is what the login step knows of the browser: its member and
// how and when the session last proved them present. Nil: not signed in.
type Session struct {
	UserID  string
	Method  account.AuthMethod
	FreshAt time.Time
}

// Next says what the login step does with an authorization request.
type Next struct {
	// Redirect is where the browser goes now: the provider's callback (the
	// request is answered), or the app with an error.
	Redirect string
	// SignIn is set when the browser must sign in first; FreshSince then
	// says how recent that sign-in must be (prompt=login, max_age), zero
	// when any live session does.
	SignIn     bool
	FreshSince time.Time
}

// Login is the provider's login step (/oidc/login?id=): the browser has
// come from the authorization endpoint with a request id. A live session
// recent enough for the request answers it; otherwise the browser signs
// in first and comes back. prompt=none without such a session sends the
// app login_required.
func (p *Provider) Login(ctx context.Context, id string, sess *Session) (Next, error) {
	a, err := p.db.OIDCAuthRequest(ctx, id, p.now())
	if err != nil {
		if account.IsCode(err, account.ENotFound) {
			return Next{}, &account.Error{Code: account.ENotFound, Detail: "this sign-in request has expired; go back to the app and start again"}
		}
		return Next{}, err
	}
	since := time.Time{}
	if slices.Contains(a.Prompt, oidc.PromptLogin) {
		since = a.CreatedAt // a sign-in after the app asked
	}
	if a.MaxAge != nil {
		if t := p.now().Add(-*a.MaxAge); t.After(since) {
			since = t
		}
	}
	if sess == nil || sess.FreshAt.Before(since) {
		if slices.Contains(a.Prompt, oidc.PromptNone) {
			e := oidc.ErrLoginRequired()
			e.State = a.State
			u, err := op.AuthResponseURL(a.RedirectURI, oidc.ResponseType(a.ResponseType), oidc.ResponseMode(a.ResponseMode), e, p.op.Encoder())
			if err == nil {
				err = p.db.DeleteOIDCAuthRequest(ctx, a.ID)
			}
			return Next{Redirect: u}, err
		}
		return Next{SignIn: true, FreshSince: since}, nil
	}
	switch a.UserID {
	case sess.UserID:
	case "":
		if err := p.db.AnswerOIDCAuthRequest(ctx, a.ID, sess.UserID, sess.FreshAt, sess.Method); err != nil {
			return Next{}, err
		}
	default: // answered by another member's session: not this browser's to take
		return Next{}, &account.Error{Code: account.ENotFound, Detail: "this sign-in request has expired; go back to the app and start again"}
	}
	return Next{Redirect: PathAuthorize + "/callback?id=" + url.QueryEscape(a.ID)}, nil
}
