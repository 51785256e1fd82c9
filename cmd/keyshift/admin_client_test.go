package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/oidcprovider"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestAdminClientLifecycle: a client made from the command line is stored
// with its secret hashed, listed, refused with a clear message for a bad
// redirect URI, and revoked; keys rotate, the old one still published.
func TestAdminClientLifecycle(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		env := map[string]string{"KEYSHIFT_DATABASE": database}
		db, err := store.Open(ctx, database)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()

		if r := runCmd(t, ctx, env, "admin", "client", "create", "--name", "wiki", "--redirect-uri", "http://wiki.example.com/cb"); r.code == 0 || !strings.Contains(r.stderr, "must use https") {
			t.Errorf("an http redirect URI: code %d, stderr %q", r.code, r.stderr)
		}
		r := runCmd(t, ctx, env, "admin", "client", "create", "--name", "wiki", "--redirect-uri", "https://wiki.example.com/cb", "--json")
		if r.code != 0 {
			t.Fatalf("create: code %d, stderr %q", r.code, r.stderr)
		}
		var made struct {
			ClientID     string `json:"clientId"`
			ClientSecret string `json:"clientSecret"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &made); err != nil || made.ClientID == "" || made.ClientSecret == "" {
			t.Fatalf("create printed %q (%v)", r.stdout, err)
		}
		c, err := db.OIDCClient(ctx, made.ClientID)
		if err != nil || string(c.SecretHash) != string(account.HashToken(made.ClientSecret)) || strings.Contains(string(c.SecretHash), made.ClientSecret) {
			t.Errorf("stored client %+v (%v): want the secret's hash only", c, err)
		}
		if r := runCmd(t, ctx, env, "admin", "client", "create", "--name", "spa", "--redirect-uri", "https://spa.example.com/cb", "--public"); r.code != 0 || strings.Contains(r.stdout, "client_secret") {
			t.Errorf("a public client: code %d, stdout %q", r.code, r.stdout)
		}
		if r := runCmd(t, ctx, env, "admin", "client", "list"); r.code != 0 || !strings.Contains(r.stdout, made.ClientID) || !strings.Contains(r.stdout, "public") || !strings.Contains(r.stdout, "confidential") {
			t.Errorf("list: code %d, stdout %q", r.code, r.stdout)
		}
		if r := runCmd(t, ctx, env, "admin", "client", "revoke", "--id", made.ClientID); r.code != 0 {
			t.Errorf("revoke: code %d, stderr %q", r.code, r.stderr)
		}
		if r := runCmd(t, ctx, env, "admin", "client", "revoke", "--id", made.ClientID); r.code == 0 || !strings.Contains(r.stderr, "no live client") {
			t.Errorf("revoking twice: code %d, stderr %q", r.code, r.stderr)
		}

		r = runCmd(t, ctx, env, "admin", "client", "secret")
		secret, hash, _ := strings.Cut(strings.TrimPrefix(r.stdout, "client_secret: "), "\nsecret_hash:")
		if h, err := oidcprovider.ParseSecretHash(strings.TrimSpace(hash)); r.code != 0 || err != nil || string(h) != string(account.HashToken(secret)) {
			t.Errorf("admin client secret printed %q (%v)", r.stdout, err)
		}
		path := filepath.Join(t.TempDir(), "clients.yaml")
		os.WriteFile(path, []byte("clients:\n  - {id: grafana, public: true, redirect_uris: [https://grafana.example.com/cb]}\n"), 0o600)
		withFile := map[string]string{"KEYSHIFT_DATABASE": database, "KEYSHIFT_OIDC_CLIENTS_FILE": path}
		if r := runCmd(t, ctx, withFile, "admin", "client", "list"); r.code != 0 || !strings.Contains(r.stdout, "grafana") || !strings.Contains(r.stdout, "config") {
			t.Errorf("list with a clients file: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}

		for range 2 {
			if r := runCmd(t, ctx, env, "admin", "keys", "rotate"); r.code != 0 || !strings.Contains(r.stdout, "ES256") {
				t.Fatalf("keys rotate: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
		}
		keys, err := db.OIDCKeys(ctx, time.Now())
		if err != nil || len(keys) != 2 || !keys[0].RetiredAt.IsZero() || keys[1].RetiredAt.IsZero() || keys[1].PublishedUntil.Before(time.Now()) {
			t.Errorf("after two rotations: %d keys (%v), want the new one signing and the old one published", len(keys), err)
		}
	})
}
