package admintoken_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/admintoken"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup(t *testing.T, database, configToken string) (*admintoken.Tokens, *clock) {
	t.Helper()
	db, err := store.Open(t.Context(), database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	return admintoken.New(db, configToken, c.now), c
}

func TestAdminTokens(t *testing.T) {
	t.Parallel()
	const configured = "a-configured-admin-token-of-enough-length"
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		tokens, c := setup(t, database, configured)
		ctx := context.Background()
		plain, tok, err := tokens.Create(ctx, "deploy-bot", []admintoken.Scope{admintoken.ScopeRollout}, "cli:ops")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(plain, admintoken.Prefix) || len(plain) < len(admintoken.Prefix)+43 {
			t.Fatalf("token %q", plain)
		}
		p, err := tokens.Authenticate(ctx, "Bearer "+plain)
		if err != nil || p.Name != "deploy-bot" {
			t.Fatalf("Authenticate(good) = %+v, %v", p, err)
		}
		if err := p.Allows(admintoken.ScopeRollout); err != nil {
			t.Errorf("a rollout token may not use the rollout: %v", err)
		}
		if err := p.Allows(admintoken.ScopeMetrics); !account.IsCode(err, account.EInsufficientScope) {
			t.Errorf("a rollout token reading metrics: %v, want insufficient_scope", err)
		}
		if p, err := tokens.Authenticate(ctx, "bearer  "+configured+" "); err != nil || p.Name != admintoken.ConfigName || p.Allows(admintoken.ScopeClients) != nil {
			t.Errorf("the configured token: %+v, %v", p, err)
		}
		for name, header := range map[string]string{
			"no header":              "",
			"another scheme":         "Basic " + plain,
			"no token":               "Bearer ",
			"a wrong token":          "Bearer " + admintoken.Prefix + strings.Repeat("A", 43),
			"a token cut short":      "Bearer " + plain[:len(plain)-1],
			"the configured one cut": "Bearer " + configured[:20],
			"a huge header":          "Bearer " + strings.Repeat("x", 10000),
		} {
			if _, err := tokens.Authenticate(ctx, header); !account.IsCode(err, account.EUnauthenticated) {
				t.Errorf("%s: %v, want unauthenticated", name, err)
			}
		}

		list, err := tokens.List(ctx)
		if err != nil || len(list) != 1 || list[0].ID != tok.ID || list[0].CreatedBy != "cli:ops" || !list[0].LastUsedAt.Equal(c.t) {
			t.Fatalf("List = %+v, %v", list, err)
		}
		c.t = c.t.Add(30 * time.Second)
		tokens.Authenticate(ctx, "Bearer "+plain)
		if list, _ := tokens.List(ctx); !list[0].LastUsedAt.Equal(c.t.Add(-30 * time.Second)) {
			t.Errorf("last use written twice within a minute: %v", list[0].LastUsedAt)
		}

		if err := tokens.Revoke(ctx, "deploy-bot"); err != nil {
			t.Fatal(err)
		}
		if _, err := tokens.Authenticate(ctx, "Bearer "+plain); !account.IsCode(err, account.EUnauthenticated) {
			t.Errorf("a revoked token: %v, want unauthenticated", err)
		}
		if err := tokens.Revoke(ctx, "deploy-bot"); !account.IsCode(err, account.ENotFound) {
			t.Errorf("revoking twice: %v, want not_found", err)
		}
		if _, _, err := tokens.Create(ctx, "deploy-bot", nil, "cli:ops"); !account.IsCode(err, account.ENameTaken) {
			t.Errorf("reusing a revoked token's name: %v, want name_taken", err)
		}
		if list, _ := tokens.List(ctx); len(list) != 1 || list[0].RevokedAt.IsZero() {
			t.Errorf("the revoked token is not listed as revoked: %+v", list)
		}
	})
}

func TestAdminTokenNamesAndScopes(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		tokens, _ := setup(t, database, "")
		for _, bad := range []string{"", "config", "has space", "-dash-first", strings.Repeat("n", 65), "ünïcode"} {
			if _, _, err := tokens.Create(t.Context(), bad, nil, "cli"); !account.IsCode(err, account.EInvalidRequest) {
				t.Errorf("name %q: %v, want invalid_request", bad, err)
			}
		}
		_, tok, err := tokens.Create(t.Context(), "ops.1", nil, "cli")
		if err != nil || len(tok.Scopes) != 1 || tok.Scopes[0] != admintoken.ScopeAll {
			t.Fatalf("a token without scopes: %+v, %v", tok, err)
		}
		if _, err := tokens.Authenticate(t.Context(), "Bearer anything-at-all-that-is-long-enough"); !account.IsCode(err, account.EUnauthenticated) {
			t.Errorf("no configured token: %v", err)
		}
	})
	got, err := admintoken.ParseScopes([]string{"rollout, metrics", "Rollout"})
	if err != nil || len(got) != 2 || got[0] != admintoken.ScopeRollout || got[1] != admintoken.ScopeMetrics {
		t.Errorf("ParseScopes = %v, %v", got, err)
	}
	if _, err := admintoken.ParseScopes([]string{"root"}); !account.IsCode(err, account.EInvalidRequest) {
		t.Errorf("unknown scope: %v", err)
	}
}
