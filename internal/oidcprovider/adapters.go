package oidcprovider

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// opRequest shows an AuthRequest to the op package.
type opRequest struct{ *AuthRequest }

var _ op.AuthRequest = opRequest{}

func (a opRequest) GetID() string { return a.ID }
func (a opRequest) GetACR() string {
	if !a.Done() {
		return ""
	}
	return ACR(a.AuthMethod)
}
func (a opRequest) GetAMR() []string       { return AMR(a.AuthMethod) }
func (a opRequest) GetAudience() []string  { return []string{a.ClientID} }
func (a opRequest) GetAuthTime() time.Time { return a.AuthTime }
func (a opRequest) GetClientID() string    { return a.ClientID }
func (a opRequest) GetNonce() string       { return a.Nonce }
func (a opRequest) GetRedirectURI() string { return a.RedirectURI }
func (a opRequest) GetScopes() []string    { return a.Scopes }
func (a opRequest) GetState() string       { return a.State }
func (a opRequest) GetSubject() string     { return a.UserID }
func (a opRequest) Done() bool             { return a.UserID != "" }
func (a opRequest) GetResponseType() oidc.ResponseType {
	return oidc.ResponseType(a.ResponseType)
}
func (a opRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(a.ResponseMode)
}
func (a opRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.CodeChallenge, Method: oidc.CodeChallengeMethodS256}
}

// opRefresh shows a Grant, found by its refresh token, to the op package.
type opRefresh struct{ *Grant }

var _ op.RefreshTokenRequest = (*opRefresh)(nil)

func (g *opRefresh) GetAMR() []string            { return AMR(g.AuthMethod) }
func (g *opRefresh) GetAudience() []string       { return []string{g.ClientID} }
func (g *opRefresh) GetAuthTime() time.Time      { return g.AuthTime }
func (g *opRefresh) GetClientID() string         { return g.ClientID }
func (g *opRefresh) GetScopes() []string         { return g.Scopes }
func (g *opRefresh) GetSubject() string          { return g.UserID }
func (g *opRefresh) SetCurrentScopes(s []string) { g.Scopes = s }

// opClient shows a Client to the op package.
type opClient struct {
	*Client
	loginURL func(id string) string
	idTTL    time.Duration
}

var _ op.Client = opClient{}

func (c opClient) GetID() string                    { return c.ID }
func (c opClient) RedirectURIs() []string           { return c.Client.RedirectURIs }
func (c opClient) PostLogoutRedirectURIs() []string { return c.LogoutURIs }
func (c opClient) LoginURL(id string) string        { return c.loginURL(id) }
func (c opClient) IDTokenLifetime() time.Duration   { return c.idTTL }
func (c opClient) DevMode() bool                    { return false }
func (c opClient) ClockSkew() time.Duration         { return 0 }
func (c opClient) IsScopeAllowed(string) bool       { return false }

// ApplicationType: a confidential client is a web app with a server that
// keeps its secret. A public one (PKCE, no secret) is treated as native:
// its https redirect URIs must match exactly, and a loopback one matches
// on any port, as RFC 8252 asks for apps that listen on a port of the
// moment; a single-page app on https is served the same way.
func (c opClient) ApplicationType() op.ApplicationType {
	if c.Public() {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

func (c opClient) AuthMethod() oidc.AuthMethod {
	if c.Public() {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

// Only the code flow: the implicit flow's tokens in URLs are what OAuth 2.1
// removed.
func (c opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c opClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}

// Access tokens are JWTs signed like ID tokens, so an app's API can check
// one against the JWKS without asking keyshift. Userinfo and introspection
// also find the grant, so there a revoked grant stops its token at once;
// an API that only checks the signature accepts it until it expires (15
// minutes).
func (c opClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }

func (c opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// The ID token carries the profile and email claims itself: apps need not
// call userinfo for the member's address.
func (c opClient) IDTokenUserinfoClaimsAssertion() bool { return true }
