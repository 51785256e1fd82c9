package web_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/oidcprovider"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// appRedirect is where the test app receives codes; nothing listens
// there: the test reads the code from the redirect.
const appRedirect = "http://127.0.0.1:1/callback"

// appLoggedOut is where the test app asks to be sent after a sign-out.
const appLoggedOut = "http://127.0.0.1:1/bye"

// oidcApp is an app registered with keyshift, seen through the client
// libraries most Go apps use (coreos/go-oidc and x/oauth2).
type oidcApp struct {
	t        *testing.T
	site     *liveSite
	client   *oidcprovider.Client
	oauth    oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

func newOIDCApp(t *testing.T, site *liveSite, public bool, scopes ...string) *oidcApp {
	t.Helper()
	c, secret, err := oidcprovider.CreateClient(t.Context(), site.DB, oidcprovider.NewClient{Name: "app", RedirectURIs: []string{appRedirect}, LogoutURIs: []string{appLoggedOut}, Public: public}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, err := gooidc.NewProvider(t.Context(), site.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &oidcApp{t: t, site: site, client: c,
		oauth:    oauth2.Config{ClientID: c.ID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: appRedirect, Scopes: append([]string{gooidc.ScopeOpenID}, scopes...)},
		verifier: p.Verifier(&gooidc.Config{ClientID: c.ID})}
}

// authorize sends browser b to the authorization endpoint and follows
// keyshift's redirects until the browser would leave for the app (its
// redirect URL's query returned) or must sign in (the sign-in address
// returned, with nil).
func (a *oidcApp) authorize(b *servertest.Client, opts ...oauth2.AuthCodeOption) (url.Values, string) {
	a.t.Helper()
	u, err := url.Parse(a.oauth.AuthCodeURL("st4te", opts...))
	if err != nil {
		a.t.Fatal(err)
	}
	return a.follow(b, u.RequestURI())
}

func (a *oidcApp) follow(b *servertest.Client, path string) (url.Values, string) {
	a.t.Helper()
	for range 10 {
		r := b.Do(http.MethodGet, path, nil, nil)
		if r.Status != http.StatusFound && r.Status != http.StatusSeeOther {
			a.t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
		loc, err := url.Parse(r.Header.Get("Location"))
		if err != nil {
			a.t.Fatal(err)
		}
		switch {
		case strings.HasPrefix(loc.String(), appRedirect):
			return loc.Query(), ""
		case loc.Path == "/signin":
			return nil, loc.RequestURI()
		}
		path = loc.RequestURI()
	}
	a.t.Fatal("too many redirects")
	return nil, ""
}

// TestOIDCCodeFlowSignsAMemberInToAnApp: an app sends the browser to
// keyshift, the member signs in with a passkey, and the app gets an ID
// token that coreos/go-oidc verifies, naming the member, their verified
// address and how they signed in; the code works once; userinfo answers
// the access token.
func TestOIDCCodeFlowSignsAMemberInToAnApp(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		site := startPasskeySite(t, database)
		m := newPasskeyMember(t, site, "ada@example.com")
		app := newOIDCApp(t, site, false, gooidc.ScopeEmail)
		b := site.Client(t)
		verifier := oauth2.GenerateVerifier()
		q, signin := app.authorize(b, oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n0nce"))
		if q != nil || !strings.HasPrefix(signin, "/signin?return_to=") {
			t.Fatalf("a browser without a session went to %v / %q, want the sign-in page", q, signin)
		}
		if r := b.Do(http.MethodGet, signin, nil, nil); r.Status != http.StatusOK {
			t.Fatalf("sign-in page: %d", r.Status)
		}
		wantStatus(t, m.key.signin(b, map[string]any{}, "modal"), http.StatusOK)
		ret, _ := url.QueryUnescape(strings.TrimPrefix(signin, "/signin?return_to="))
		q, _ = app.follow(b, ret)
		if q.Get("state") != "st4te" || q.Get("code") == "" {
			t.Fatalf("back at the app with %v", q)
		}

		ctx := t.Context()
		tok, err := app.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("code exchange: %v", err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := app.verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("ID token: %v", err)
		}
		var claims struct {
			Email         string   `json:"email"`
			EmailVerified bool     `json:"email_verified"`
			AMR           []string `json:"amr"`
			ACR           string   `json:"acr"`
			AuthTime      int64    `json:"auth_time"`
		}
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		// Ada signed up with a password and has not confirmed her address
		// yet: the token says so.
		if idt.Subject != m.id || idt.Nonce != "n0nce" || claims.Email != "ada@example.com" || claims.EmailVerified ||
			!slices.Equal(claims.AMR, []string{"pop", "mfa"}) || claims.ACR != oidcprovider.ACRPhishingResistant || claims.AuthTime == 0 {
			t.Errorf("ID token sub %q nonce %q claims %+v", idt.Subject, idt.Nonce, claims)
		}
		// The access token is a JWT an app's API can check with the JWKS.
		if at, err := app.verifier.Verify(ctx, tok.AccessToken); err != nil || at.Subject != m.id {
			t.Errorf("access token as a JWT: %v", err)
		}
		p, _ := gooidc.NewProvider(ctx, site.URL)
		info, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil || info.Subject != m.id || info.Email != "ada@example.com" {
			t.Errorf("userinfo %+v (%v)", info, err)
		}
		if _, err := app.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Errorf("the code worked twice (%v)", err)
		}

		// RP-initiated logout: without id_token_hint the browser stays
		// signed in to keyshift; with it, the app's tokens and the
		// browser's keyshift session end, and the browser goes back.
		end := "/oidc/end_session?" + url.Values{"client_id": {app.client.ID}, "post_logout_redirect_uri": {appLoggedOut}, "state": {"s1"}}.Encode()
		if r := b.Do(http.MethodGet, end, nil, nil); r.Status != http.StatusFound || r.Header.Get("Location") != appLoggedOut+"?state=s1" {
			t.Errorf("logout without a hint: %d to %q", r.Status, r.Header.Get("Location"))
		}
		wantStatus(t, b.JSON(http.MethodGet, "/api/session", nil), http.StatusOK)
		end = "/oidc/end_session?" + url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {appLoggedOut}}.Encode()
		if r := b.Do(http.MethodGet, end, nil, nil); r.Status != http.StatusFound || r.Header.Get("Location") != appLoggedOut {
			t.Errorf("logout: %d to %q", r.Status, r.Header.Get("Location"))
		}
		wantStatus(t, b.JSON(http.MethodGet, "/api/session", nil), http.StatusUnauthorized)
		if _, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
			t.Error("the access token still worked after logout")
		}
		evil := "/oidc/end_session?" + url.Values{"client_id": {app.client.ID}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode()
		if r := b.Do(http.MethodGet, evil, nil, nil); strings.Contains(r.Header.Get("Location"), "evil") {
			t.Errorf("logout sent the browser to an unregistered address: %q", r.Header.Get("Location"))
		}
	})
}

// TestOIDCRefusesWhatOAuth21Forbids: a public client must send a S256
// code_challenge at the authorization endpoint (refused there, with
// invalid_request sent back to the app); plain is refused for everyone;
// the token endpoint wants the verifier; prompt=none without a session is
// login_required; an unregistered redirect_uri never gets a redirect.
func TestOIDCRefusesWhatOAuth21Forbids(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		site := startPasskeySite(t, database)
		public := newOIDCApp(t, site, true)
		b := site.Client(t)
		if q, _ := public.authorize(b); q.Get("error") != "invalid_request" || q.Get("state") != "st4te" {
			t.Errorf("a public client without PKCE: %v", q)
		}
		if q, _ := public.authorize(b, oauth2.SetAuthURLParam("code_challenge", "abc"), oauth2.SetAuthURLParam("code_challenge_method", "plain")); q.Get("error") != "invalid_request" {
			t.Errorf("PKCE plain: %v", q)
		}
		if q, _ := public.authorize(b, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none")); q.Get("error") != "login_required" {
			t.Errorf("prompt=none without a session: %v", q)
		}
		u, _ := url.Parse(public.oauth.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		qs := u.Query()
		qs.Set("redirect_uri", "https://evil.example/callback")
		r := b.Do(http.MethodGet, u.Path+"?"+qs.Encode(), nil, nil)
		if loc := r.Header.Get("Location"); r.Status != http.StatusBadRequest || strings.Contains(loc, "evil") {
			t.Errorf("an unregistered redirect_uri: %d to %q", r.Status, loc)
		}

		m := newPasskeyMember(t, site, "grace@example.com")
		verifier := oauth2.GenerateVerifier()
		q, _ := public.authorize(m.c, oauth2.S256ChallengeOption(verifier))
		if q.Get("code") == "" {
			t.Fatalf("a signed-in member's browser: %v", q)
		}
		if _, err := public.oauth.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption("wrong-"+verifier)); err == nil {
			t.Error("a wrong code_verifier was accepted")
		}
	})
}

// TestOIDCPromptLoginAndMaxAgeAskForAFreshSignIn: a session older than the
// app allows is sent to sign in again, and the new sign-in's time is the
// token's auth_time.
func TestOIDCPromptLoginAndMaxAgeAskForAFreshSignIn(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		site := startPasskeySite(t, database)
		m := newPasskeyMember(t, site, "ada@example.com")
		app := newOIDCApp(t, site, false)
		site.Clock.Advance(10 * time.Minute)
		for _, opt := range []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "60")} {
			q, signin := app.authorize(m.c, opt)
			if q != nil || !strings.Contains(signin, "prompt=login") {
				t.Fatalf("a 10-minute-old session went to %v / %q, want a fresh sign-in", q, signin)
			}
			if r := m.c.Do(http.MethodGet, signin, nil, nil); r.Status != http.StatusOK {
				t.Fatalf("the sign-in page over a live session: %d, want the page", r.Status)
			}
		}
		if q, _ := app.authorize(m.c, oauth2.SetAuthURLParam("max_age", "3600")); q.Get("code") == "" {
			t.Errorf("max_age an hour: %v", q)
		}
		q, signin := app.authorize(m.c, oauth2.SetAuthURLParam("max_age", "60"))
		wantStatus(t, m.key.signin(m.c, map[string]any{}, "modal"), http.StatusOK)
		ret, _ := url.QueryUnescape(strings.TrimPrefix(strings.Split(signin, "&")[0], "/signin?return_to="))
		if q, _ = app.follow(m.c, ret); q.Get("code") == "" {
			t.Fatalf("after the fresh sign-in: %v", q)
		}
		tok, err := app.oauth.Exchange(t.Context(), q.Get("code"))
		if err != nil {
			t.Fatal(err)
		}
		idt, err := app.verifier.Verify(t.Context(), tok.Extra("id_token").(string))
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			AuthTime int64 `json:"auth_time"`
		}
		idt.Claims(&c)
		if got := time.Unix(c.AuthTime, 0); site.Clock.Now().Sub(got) > 2*time.Second {
			t.Errorf("auth_time %v, want the fresh sign-in at %v", got, site.Clock.Now())
		}
	})
}

// TestOIDCRefreshTokensRotate: offline_access gives a refresh token; each
// works once — of two uses at the same moment exactly one succeeds — and
// the token it was swapped for works.
func TestOIDCRefreshTokensRotate(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		site := startPasskeySite(t, database)
		m := newPasskeyMember(t, site, "ada@example.com")
		app := newOIDCApp(t, site, false, gooidc.ScopeOfflineAccess)
		q, _ := app.authorize(m.c, oauth2.SetAuthURLParam("prompt", "consent"))
		tok, err := app.oauth.Exchange(t.Context(), q.Get("code"))
		if err != nil || tok.RefreshToken == "" {
			t.Fatalf("exchange: refresh token %q (%v)", tok.RefreshToken, err)
		}
		refresh := func(rt string) (*oauth2.Token, error) {
			return app.oauth.TokenSource(context.Background(), &oauth2.Token{RefreshToken: rt}).Token()
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var won []*oauth2.Token
		for range 4 {
			wg.Go(func() {
				if nt, err := refresh(tok.RefreshToken); err == nil {
					mu.Lock()
					won = append(won, nt)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(won) != 1 || won[0].RefreshToken == "" || won[0].RefreshToken == tok.RefreshToken {
			t.Fatalf("%d of 4 concurrent uses of one refresh token succeeded, want 1", len(won))
		}
		if _, err := refresh(tok.RefreshToken); err == nil {
			t.Error("a used refresh token worked again")
		}
		if _, err := refresh(won[0].RefreshToken); err != nil {
			t.Errorf("the new refresh token: %v", err)
		}
	})
}

// TestOIDCKeyRotationKeepsTokensVerifying: after `keyshift admin keys
// rotate` new ID tokens are signed by the new key, and one signed before
// still verifies against the published key set.
func TestOIDCKeyRotationKeepsTokensVerifying(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		site := startPasskeySite(t, database)
		m := newPasskeyMember(t, site, "ada@example.com")
		app := newOIDCApp(t, site, false)
		idToken := func() (string, string) {
			q, _ := app.authorize(m.c)
			tok, err := app.oauth.Exchange(t.Context(), q.Get("code"))
			if err != nil {
				t.Fatal(err)
			}
			raw := tok.Extra("id_token").(string)
			var header struct {
				Kid string `json:"kid"`
			}
			b, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
			json.Unmarshal(b, &header)
			return raw, header.Kid
		}
		before, kidBefore := idToken()
		if _, err := oidcprovider.RotateKey(t.Context(), site.DB, time.Now(), 2*time.Hour); err != nil {
			t.Fatal(err)
		}
		after, kidAfter := idToken()
		if kidBefore == "" || kidBefore == kidAfter {
			t.Errorf("signing key ids %q then %q, want two different", kidBefore, kidAfter)
		}
		p, err := gooidc.NewProvider(t.Context(), site.URL) // a fresh key set, as an app started now has
		if err != nil {
			t.Fatal(err)
		}
		v := p.Verifier(&gooidc.Config{ClientID: app.client.ID})
		for _, raw := range []string{before, after} {
			if _, err := v.Verify(t.Context(), raw); err != nil {
				t.Errorf("a token of key %v: %v", kidBefore, err)
			}
		}
	})
}

// TestOIDCClientsFromTheConfigFile: an app declared in oidc.clients_file
// signs members in with the secret whose hash the file holds, and no other.
func TestOIDCClientsFromTheConfigFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "clients.yaml")
	file := "clients:\n  - id: wiki\n    name: Team wiki\n    secret_hash: " + oidcprovider.HashSecret("wiki-secret") +
		"\n    redirect_uris: [" + appRedirect + "]\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		site := startPasskeySite(t, database, func(c *config.Config) { c.OIDC.ClientsFile = path })
		m := newPasskeyMember(t, site, "ada@example.com")
		p, err := gooidc.NewProvider(t.Context(), site.URL)
		if err != nil {
			t.Fatal(err)
		}
		app := &oidcApp{t: t, site: site, client: &oidcprovider.Client{ID: "wiki"},
			oauth:    oauth2.Config{ClientID: "wiki", ClientSecret: "wiki-secret", Endpoint: p.Endpoint(), RedirectURL: appRedirect, Scopes: []string{gooidc.ScopeOpenID}},
			verifier: p.Verifier(&gooidc.Config{ClientID: "wiki"})}
		q, _ := app.authorize(m.c)
		wrong := app.oauth
		wrong.ClientSecret = "wiki-secret-not"
		if _, err := wrong.Exchange(t.Context(), q.Get("code")); err == nil {
			t.Error("a wrong secret exchanged the code")
		}
		q, _ = app.authorize(m.c)
		tok, err := app.oauth.Exchange(t.Context(), q.Get("code"))
		if err != nil {
			t.Fatal(err)
		}
		if idt, err := app.verifier.Verify(t.Context(), tok.Extra("id_token").(string)); err != nil || idt.Subject != m.id {
			t.Errorf("ID token for the file's client: %v", err)
		}
	})
}
