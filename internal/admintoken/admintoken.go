// Package admintoken holds the admin API's credentials: bearer tokens made
// with `keyshift admin token create`, stored as their SHA-256, listed and
// revoked, and the one token the configuration may carry
// (KEYSHIFT_ADMIN_TOKEN). A member's session is never an admin credential.
package admintoken

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// Scope is an area of the admin API a token may use.
type Scope string

// The scopes. A token with ScopeAll may use every area.
const (
	ScopeAll      Scope = "all"
	ScopeRollout  Scope = "rollout"  // read and change the rollout
	ScopeMetrics  Scope = "metrics"  // read telemetry
	ScopeRecovery Scope = "recovery" // support-driven recovery
	ScopeClients  Scope = "clients"  // OIDC clients
)

var scopes = []Scope{ScopeAll, ScopeRollout, ScopeMetrics, ScopeRecovery, ScopeClients}

// ParseScopes reads scope names; none means ScopeAll.
func ParseScopes(names []string) ([]Scope, error) {
	if len(names) == 0 {
		return []Scope{ScopeAll}, nil
	}
	var out []Scope
	for _, n := range names {
		for _, part := range strings.Split(n, ",") {
			s := Scope(strings.ToLower(strings.TrimSpace(part)))
			if !slices.Contains(scopes, s) {
				return nil, &account.Error{Code: account.EInvalidRequest, Field: "scope",
					Detail: fmt.Sprintf("unknown scope %q (want one of %s)", part, joinScopes(scopes))}
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

func joinScopes(ss []Scope) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// Token is an admin token as listed: never the secret itself.
type Token struct {
	ID         string
	Name       string
	Scopes     []Scope
	CreatedAt  time.Time
	CreatedBy  string
	LastUsedAt time.Time // zero: never used
	RevokedAt  time.Time // zero: live
}

// Allows reports whether the token may use scope.
func (t Token) Allows(scope Scope) bool {
	return slices.Contains(t.Scopes, ScopeAll) || slices.Contains(t.Scopes, scope)
}

// Principal is who made an admin request: a token's name ("config" for the
// configured token), recorded in every audit.
type Principal struct {
	Name   string
	Scopes []Scope
}

// Allows reports whether p may use scope; refused, the API answers 403
// insufficient_scope.
func (p Principal) Allows(scope Scope) error {
	if (Token{Scopes: p.Scopes}).Allows(scope) {
		return nil
	}
	return &account.Error{Code: account.EInsufficientScope, Detail: fmt.Sprintf("the token %q may not use %s", p.Name, scope)}
}

// Store keeps tokens. FindAdminToken answers not_found for an unknown or
// revoked hash alike.
type Store interface {
	CreateAdminToken(ctx context.Context, t Token, hash []byte) error
	AdminTokens(ctx context.Context) ([]Token, error)
	RevokeAdminToken(ctx context.Context, name string, at time.Time) error
	FindAdminToken(ctx context.Context, hash []byte) (Token, error)
	TouchAdminToken(ctx context.Context, id string, at time.Time) error
}

// Prefix starts every token this package makes, so that secret scanners and
// people recognise one in a paste.
const Prefix = "ks_admin_"

// ConfigName is the name the configured token (KEYSHIFT_ADMIN_TOKEN) goes
// by in audits.
const ConfigName = "config"

// touchEvery bounds how often a token's last use is written: a script
// polling the API must not turn every read into a write.
const touchEvery = time.Minute

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Tokens makes, lists, revokes and checks admin tokens.
type Tokens struct {
	store      Store
	configured *[32]byte // SHA-256 of the configured token, or nil
	now        func() time.Time
}

// New returns Tokens over store, accepting also configToken when it is set.
func New(store Store, configToken string, now func() time.Time) *Tokens {
	t := &Tokens{store: store, now: now}
	if configToken != "" {
		sum := sha256.Sum256([]byte(configToken))
		t.configured = &sum
	}
	return t
}

// Create makes a token named name with scopes, made by who; the secret is
// returned once and only its hash is kept.
func (t *Tokens) Create(ctx context.Context, name string, scopes []Scope, who string) (string, Token, error) {
	if !validName.MatchString(name) || name == ConfigName {
		return "", Token{}, &account.Error{Code: account.EInvalidRequest, Field: "name",
			Detail: fmt.Sprintf("a token name is 1–64 letters, digits, '.', '_' or '-', not %q (and not %q, which is the configured token's)", name, ConfigName)}
	}
	if len(scopes) == 0 {
		scopes = []Scope{ScopeAll}
	}
	secret := make([]byte, 32)
	id := make([]byte, 12)
	rand.Read(secret)
	rand.Read(id)
	plain := Prefix + base64.RawURLEncoding.EncodeToString(secret)
	tok := Token{ID: base64.RawURLEncoding.EncodeToString(id), Name: name, Scopes: scopes, CreatedAt: t.now(), CreatedBy: who}
	if err := t.store.CreateAdminToken(ctx, tok, hash(plain)); err != nil {
		return "", Token{}, err
	}
	return plain, tok, nil
}

// List returns every token, revoked ones too, oldest first.
func (t *Tokens) List(ctx context.Context) ([]Token, error) { return t.store.AdminTokens(ctx) }

// Revoke ends the token named name at once (not_found when there is no live
// token of that name).
func (t *Tokens) Revoke(ctx context.Context, name string) error {
	return t.store.RevokeAdminToken(ctx, name, t.now())
}

// Authenticate checks an Authorization header. Anything but a live token —
// no header, another scheme, a wrong, revoked or malformed token — is
// unauthenticated (401), and says nothing of which.
func (t *Tokens) Authenticate(ctx context.Context, authorization string) (Principal, error) {
	unauth := &account.Error{Code: account.EUnauthenticated, Detail: "the admin API needs a bearer token"}
	scheme, plain, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	plain = strings.TrimSpace(plain)
	if !ok || !strings.EqualFold(scheme, "Bearer") || plain == "" || len(plain) > 512 {
		return Principal{}, unauth
	}
	if t.configured != nil {
		sum := sha256.Sum256([]byte(plain))
		if subtle.ConstantTimeCompare(sum[:], t.configured[:]) == 1 {
			return Principal{Name: ConfigName, Scopes: []Scope{ScopeAll}}, nil
		}
	}
	if !strings.HasPrefix(plain, Prefix) {
		return Principal{}, unauth
	}
	tok, err := t.store.FindAdminToken(ctx, hash(plain))
	if account.IsCode(err, account.ENotFound) {
		return Principal{}, unauth
	}
	if err != nil {
		return Principal{}, err
	}
	if now := t.now(); now.Sub(tok.LastUsedAt) >= touchEvery {
		if err := t.store.TouchAdminToken(ctx, tok.ID, now); err != nil {
			return Principal{}, err
		}
	}
	return Principal{Name: tok.Name, Scopes: tok.Scopes}, nil
}

// hash is how a token is stored: SHA-256, enough for 256 random bits
// (nothing to guess), and a lookup by it leaks nothing useful by timing.
func hash(plain string) []byte {
	sum := sha256.Sum256([]byte(plain))
	return sum[:]
}
