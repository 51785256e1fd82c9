package store_test

import (
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/signin"
	"github.com/keyshift/keyshift/internal/testdb"
)

func TestFindNewestEmailFlow(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := t.Context()
		key := "lin." + randomID() + "@example.com"
		add := func(created time.Time, ttl time.Duration) *signin.Flow {
			t.Helper()
			f := &signin.Flow{ID: randomID(), Email: key, EmailKey: key, TokenHash: randomBytes(32), CodeHash: randomBytes(32),
				CreatedAt: created, ExpiresAt: created.Add(ttl)}
			if err := db.CreateEmailFlow(ctx, f); err != nil {
				t.Fatal(err)
			}
			return f
		}
		old := add(t0, 15*time.Minute)
		newer := add(t0.Add(5*time.Minute), 2*time.Minute)
		other := "other." + randomID() + "@example.com"
		if err := db.CreateEmailFlow(ctx, &signin.Flow{ID: randomID(), Email: other, EmailKey: other, TokenHash: randomBytes(32),
			CodeHash: randomBytes(32), CreatedAt: t0.Add(6 * time.Minute), ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			now  time.Time
			want string
		}{
			{"returns the newest live flow of the address", t0.Add(6 * time.Minute), newer.ID},
			{"skips a newer flow that expired", t0.Add(7 * time.Minute), old.ID},
			{"returns no flow once all expired", t0.Add(15 * time.Minute), ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f, err := db.FindNewestEmailFlow(ctx, key, tt.now)
				if tt.want == "" {
					wantCode(t, err, account.ENotFound)
					return
				}
				if err != nil || f.ID != tt.want {
					t.Errorf("FindNewestEmailFlow = %+v, %v; want %s", f, err, tt.want)
				}
			})
		}
	})
}

func TestTakingAnEmailFlowsLinkIgnoresCodeTries(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := t.Context()
		f := &signin.Flow{ID: randomID(), Email: "a@example.com", EmailKey: "a@example.com", TokenHash: randomBytes(32),
			CodeHash: randomBytes(32), CreatedAt: t0, ExpiresAt: t0.Add(15 * time.Minute)}
		if err := db.CreateEmailFlow(ctx, f); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if _, err := db.TryEmailCode(ctx, f.ID, t0, 5); err != nil {
				t.Fatal(err)
			}
		}
		_, err := db.TryEmailCode(ctx, f.ID, t0, 5)
		wantCode(t, err, account.ENotFound)
		got, err := db.EmailFlowLinks().TakeLink(ctx, f.TokenHash, t0)
		if err != nil || got.ID != f.ID || got.Attempts != 5 {
			t.Fatalf("TakeLink after the code died = %+v, %v; want the flow", got, err)
		}
		_, err = db.EmailFlowLinks().TakeLink(ctx, f.TokenHash, t0)
		wantCode(t, err, account.ENotFound)
	})
}
