package web_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestOIDCConformanceOffline runs the checks of the OpenID Connect
// conformance suite's Basic and Config OP profiles that need no outside
// service, by their suite names (docs/integrate.md lists them).
func TestOIDCConformanceOffline(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		site := startPasskeySite(t, database)
		m := newPasskeyMember(t, site, "ada@example.com")
		app := newOIDCApp(t, site, false, gooidc.ScopeEmail)
		c := site.Client(t)

		var disc map[string]any
		r := c.Do(http.MethodGet, "/.well-known/openid-configuration", nil, nil)
		wantStatus(t, r, http.StatusOK)
		r.JSON(t, &disc)
		strs := func(k string) []string {
			var out []string
			for _, v := range disc[k].([]any) {
				out = append(out, v.(string))
			}
			return out
		}

		codeFor := func(t *testing.T, opts ...oauth2.AuthCodeOption) string {
			t.Helper()
			q, _ := app.authorize(m.c, opts...)
			if q.Get("code") == "" {
				t.Fatalf("no code: %v", q)
			}
			return q.Get("code")
		}
		tokenPost := func(form url.Values, header ...string) *servertest.Response {
			h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
			for i := 0; i+1 < len(header); i += 2 {
				h.Set(header[i], header[i+1])
			}
			return c.Do(http.MethodPost, "/oidc/token", []byte(form.Encode()), h)
		}
		basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(app.client.ID)+":"+url.QueryEscape(app.oauth.ClientSecret)))

		for _, tc := range []struct {
			name  string
			check func(t *testing.T)
		}{
			{"OP-Discovery-Config", func(t *testing.T) {
				if disc["issuer"] != site.URL {
					t.Errorf("issuer %v, want %s", disc["issuer"], site.URL)
				}
				for _, k := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "end_session_endpoint"} {
					if s, _ := disc[k].(string); !strings.HasPrefix(s, site.URL+"/oidc/") {
						t.Errorf("%s = %v", k, disc[k])
					}
				}
				if !slices.Equal(strs("response_types_supported"), []string{"code"}) && !slices.Contains(strs("response_types_supported"), "code") {
					t.Errorf("response_types_supported %v", strs("response_types_supported"))
				}
				if !slices.Contains(strs("subject_types_supported"), "public") || !slices.Contains(strs("id_token_signing_alg_values_supported"), "ES256") ||
					!slices.Contains(strs("code_challenge_methods_supported"), "S256") || slices.Contains(strs("code_challenge_methods_supported"), "plain") {
					t.Errorf("discovery: %v", disc)
				}
			}},
			{"OP-Discovery-claims_supported", func(t *testing.T) {
				for _, cl := range []string{"sub", "email", "email_verified", "amr", "acr", "auth_time"} {
					if !slices.Contains(strs("claims_supported"), cl) {
						t.Errorf("claims_supported lacks %s", cl)
					}
				}
			}},
			{"OP-Discovery-jwks_uri", func(t *testing.T) {
				var jwks struct {
					Keys []map[string]any `json:"keys"`
				}
				r := c.Do(http.MethodGet, "/oidc/keys", nil, nil)
				wantStatus(t, r, http.StatusOK)
				r.JSON(t, &jwks)
				if len(jwks.Keys) == 0 {
					t.Fatal("no keys")
				}
				for _, k := range jwks.Keys {
					if k["kty"] != "EC" || k["crv"] != "P-256" || k["use"] != "sig" || k["alg"] != "ES256" || k["kid"] == "" || k["d"] != nil {
						t.Errorf("key %v: want a public P-256 signing key with a kid", k)
					}
				}
			}},
			{"OP-Response-code", func(t *testing.T) { codeFor(t) }},
			{"OP-Response-Missing", func(t *testing.T) {
				u, _ := url.Parse(app.oauth.AuthCodeURL("s"))
				q := u.Query()
				q.Del("response_type")
				r := c.Do(http.MethodGet, u.Path+"?"+q.Encode(), nil, nil)
				if loc := r.Header.Get("Location"); r.Status != http.StatusBadRequest && !strings.Contains(loc, "error=") {
					t.Errorf("no response_type: %d to %q", r.Status, loc)
				}
			}},
			{"OP-Response-token-refused", func(t *testing.T) {
				u, _ := url.Parse(app.oauth.AuthCodeURL("s", oauth2.SetAuthURLParam("response_type", "id_token token"), gooidc.Nonce("n")))
				r := m.c.Do(http.MethodGet, u.RequestURI(), nil, nil)
				loc := r.Header.Get("Location")
				if strings.Contains(loc, "token=") || strings.Contains(loc, "code=") || (r.Status != http.StatusBadRequest && !strings.Contains(loc, "error=")) {
					t.Errorf("the implicit flow: %d to %q", r.Status, loc)
				}
			}},
			{"OP-IDToken-Signature-and-claims", func(t *testing.T) {
				tok, err := app.oauth.Exchange(t.Context(), codeFor(t, gooidc.Nonce("n1")))
				if err != nil {
					t.Fatal(err)
				}
				idt, err := app.verifier.Verify(t.Context(), tok.Extra("id_token").(string)) // signature, iss, aud, exp
				if err != nil {
					t.Fatal(err)
				}
				var cl map[string]any
				idt.Claims(&cl)
				for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce"} {
					if cl[k] == nil {
						t.Errorf("the ID token lacks %s: %v", k, cl)
					}
				}
			}},
			{"OP-nonce-code (no nonce: none in the token)", func(t *testing.T) {
				tok, err := app.oauth.Exchange(t.Context(), codeFor(t))
				if err != nil {
					t.Fatal(err)
				}
				idt, err := app.verifier.Verify(t.Context(), tok.Extra("id_token").(string))
				if err != nil || idt.Nonce != "" {
					t.Errorf("nonce %q (%v)", idt.Nonce, err)
				}
			}},
			{"OP-ClientAuth-Basic-Static", func(t *testing.T) {
				r := tokenPost(url.Values{"grant_type": {"authorization_code"}, "code": {codeFor(t)}, "redirect_uri": {appRedirect}}, "Authorization", basic)
				wantStatus(t, r, http.StatusOK)
			}},
			{"OP-ClientAuth-SecretPost-Static", func(t *testing.T) {
				r := tokenPost(url.Values{"grant_type": {"authorization_code"}, "code": {codeFor(t)}, "redirect_uri": {appRedirect},
					"client_id": {app.client.ID}, "client_secret": {app.oauth.ClientSecret}})
				wantStatus(t, r, http.StatusOK)
			}},
			{"OP-ClientAuth-wrong-secret", func(t *testing.T) {
				r := tokenPost(url.Values{"grant_type": {"authorization_code"}, "code": {codeFor(t)}, "redirect_uri": {appRedirect},
					"client_id": {app.client.ID}, "client_secret": {"wrong"}})
				if r.Status != http.StatusUnauthorized && r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "invalid_client") {
					t.Errorf("a wrong secret: %d %s", r.Status, r.Body)
				}
			}},
			{"OP-redirect_uri-Missing-at-token", func(t *testing.T) {
				r := tokenPost(url.Values{"grant_type": {"authorization_code"}, "code": {codeFor(t)}}, "Authorization", basic)
				if r.Status == http.StatusOK {
					t.Errorf("a code exchanged without its redirect_uri: %s", r.Body)
				}
			}},
			{"OP-UserInfo-Header and -Body", func(t *testing.T) {
				tok, err := app.oauth.Exchange(t.Context(), codeFor(t))
				if err != nil {
					t.Fatal(err)
				}
				r := c.Do(http.MethodGet, "/oidc/userinfo", nil, http.Header{"Authorization": {"Bearer " + tok.AccessToken}})
				wantStatus(t, r, http.StatusOK)
				var info map[string]any
				r.JSON(t, &info)
				if info["sub"] != m.id || info["email"] != "ada@example.com" {
					t.Errorf("userinfo %v", info)
				}
				r = c.Do(http.MethodPost, "/oidc/userinfo", []byte(url.Values{"access_token": {tok.AccessToken}}.Encode()),
					http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
				wantStatus(t, r, http.StatusOK)
				r = c.Do(http.MethodGet, "/oidc/userinfo", nil, http.Header{"Authorization": {"Bearer " + tok.AccessToken + "x"}})
				if r.Status == http.StatusOK {
					t.Errorf("a forged access token: %s", r.Body)
				}
			}},
			{"OP-Req-NotUnderstood", func(t *testing.T) { codeFor(t, oauth2.SetAuthURLParam("extra", "foobar")) }},
		} {
			t.Run(tc.name, tc.check)
		}
	})
}
