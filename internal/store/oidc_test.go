package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/oidcprovider"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestDeleteExpiredOIDC: the janitor forgets requests past their end and
// grants none of whose tokens still works, and nothing else.
func TestDeleteExpiredOIDC(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		u := createUser(t, db)
		grant := func(access, refresh time.Time) string {
			g := &oidcprovider.Grant{ID: randomID(), ClientID: "c", UserID: u.ID, AuthTime: now, AuthMethod: account.MethodPassword,
				AccessExpiresAt: access, CreatedAt: now}
			if !refresh.IsZero() {
				g.RefreshHash, g.RefreshExpiresAt = randomBytes(32), refresh
			}
			if err := db.CreateOIDCGrant(ctx, g); err != nil {
				t.Fatal(err)
			}
			return g.ID
		}
		gone := []string{grant(now.Add(-time.Minute), time.Time{}), grant(now.Add(-time.Minute), now.Add(-time.Second))}
		kept := []string{grant(now.Add(time.Minute), time.Time{}), grant(now.Add(-time.Minute), now.Add(time.Hour))}
		for i, exp := range []time.Time{now.Add(-time.Second), now.Add(time.Minute)} {
			a := &oidcprovider.AuthRequest{ID: randomID(), ClientID: "c", RedirectURI: "https://a.example/cb", Scopes: []string{"openid"},
				ResponseType: "code", CreatedAt: now.Add(-time.Hour), ExpiresAt: exp}
			if err := db.CreateOIDCAuthRequest(ctx, a); err != nil {
				t.Fatal(i, err)
			}
		}
		n, err := db.DeleteExpiredOIDC(ctx, now)
		if err != nil || n != 3 {
			t.Errorf("deleted %d rows (%v), want 3: two grants and a request", n, err)
		}
		for _, id := range gone {
			if _, err := db.OIDCGrant(ctx, id); !account.IsCode(err, account.ENotFound) {
				t.Errorf("grant %s kept (%v)", id, err)
			}
		}
		for _, id := range kept {
			if _, err := db.OIDCGrant(ctx, id); err != nil {
				t.Errorf("grant %s: %v", id, err)
			}
		}
	})
}
