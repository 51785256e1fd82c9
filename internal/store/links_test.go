package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/change"
	"github.com/keyshift/keyshift/internal/email/confirm"
	"github.com/keyshift/keyshift/internal/email/link"
	"github.com/keyshift/keyshift/internal/email/signin"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// linkKind is one table of single-use links, as the store serves it: how
// to make a fresh link that lives until t0 + ttl, and its link.Store.
type linkKind[T any] struct {
	name  string
	make  func(t *testing.T, db *store.DB, ttl time.Duration) (hash []byte)
	links func(db *store.DB) link.Store[T]
}

// TestEveryLinkIsSingleUse: every kind of mailed link goes through one
// find-and-take path, and on both backends each is found while it lives,
// left in place by a read, taken by exactly one of ten racing
// transactions, and gone after.
func TestEveryLinkIsSingleUse(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		checkLinks(t, db, linkKind[signin.Flow]{
			name: "an email sign-in",
			make: func(t *testing.T, db *store.DB, ttl time.Duration) []byte {
				key := "link." + randomID() + "@example.com"
				f := &signin.Flow{ID: randomID(), Email: key, EmailKey: key, TokenHash: randomBytes(32), CodeHash: randomBytes(32),
					CreatedAt: t0, ExpiresAt: t0.Add(ttl)}
				if err := db.CreateEmailFlow(t.Context(), f); err != nil {
					t.Fatal(err)
				}
				return f.TokenHash
			},
			links: (*store.DB).EmailFlowLinks,
		})
		checkLinks(t, db, linkKind[confirm.Verification]{
			name: "a sign-up's confirmation",
			make: func(t *testing.T, db *store.DB, ttl time.Duration) []byte {
				u := createUser(t, db)
				v := &confirm.Verification{TokenHash: randomBytes(32), UserID: u.ID, EmailKey: u.EmailKey, CreatedAt: t0, ExpiresAt: t0.Add(ttl)}
				if err := db.CreateEmailVerification(t.Context(), v); err != nil {
					t.Fatal(err)
				}
				return v.TokenHash
			},
			links: (*store.DB).EmailVerificationLinks,
		})
		for _, kind := range []change.Kind{change.KindConfirm, change.KindRevert} {
			checkLinks(t, db, linkKind[change.Change]{
				name: "an email change's " + string(kind) + " link",
				make: func(t *testing.T, db *store.DB, ttl time.Duration) []byte {
					u := createUser(t, db)
					c := &change.Change{TokenHash: randomBytes(32), Kind: kind, UserID: u.ID, Email: "New." + u.Email,
						EmailKey: "new." + u.EmailKey, OldKey: u.EmailKey, UndoSince: t0, CreatedAt: t0, ExpiresAt: t0.Add(ttl)}
					if err := db.CreateEmailChange(t.Context(), c); err != nil {
						t.Fatal(err)
					}
					return c.TokenHash
				},
				links: func(db *store.DB) link.Store[change.Change] { return db.EmailChangeLinks(kind) },
			})
		}
	})
}

// checkLinks runs the single-use checks on one kind of link.
func checkLinks[T any](t *testing.T, db *store.DB, k linkKind[T]) {
	t.Run(k.name, func(t *testing.T) {
		ctx := t.Context()
		links := k.links(db)

		t.Run("is found while it lives and left in place by a read", func(t *testing.T) {
			hash := k.make(t, db, time.Hour)
			for i := range 2 {
				if _, err := links.FindLink(ctx, hash, t0.Add(time.Hour-time.Millisecond)); err != nil {
					t.Fatalf("read %d: %v", i+1, err)
				}
			}
			_, err := links.FindLink(ctx, hash, t0.Add(time.Hour))
			wantCode(t, err, account.ENotFound)
			_, err = links.TakeLink(ctx, hash, t0.Add(time.Hour))
			wantCode(t, err, account.ENotFound)
			_, err = links.FindLink(ctx, randomBytes(32), t0)
			wantCode(t, err, account.ENotFound)
		})

		t.Run("is taken by exactly one of ten racing transactions", func(t *testing.T) {
			hash := k.make(t, db, time.Hour)
			var won, gone atomic.Int32
			var wg sync.WaitGroup
			for range 10 {
				wg.Go(func() {
					err := db.InTx(ctx, func(ctx context.Context) error {
						_, err := links.TakeLink(ctx, hash, t0)
						return err
					})
					switch {
					case err == nil:
						won.Add(1)
					case account.IsCode(err, account.ENotFound):
						gone.Add(1)
					default:
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if won.Load() != 1 || gone.Load() != 9 {
				t.Errorf("%d takes won and %d found nothing, want 1 and 9", won.Load(), gone.Load())
			}
			_, err := links.FindLink(ctx, hash, t0)
			wantCode(t, err, account.ENotFound)
		})
	})
}

// TestAnEmailChangeLinkIsFoundOnlyAsItsKind: a confirmation link's token
// is no revert link, nor the other way round.
func TestAnEmailChangeLinkIsFoundOnlyAsItsKind(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := t.Context()
		rv := moved(t, db, createUser(t, db), "old."+randomID()+"@example.org", nil)
		_, err := db.EmailChangeLinks(change.KindConfirm).FindLink(ctx, rv.TokenHash, t0)
		wantCode(t, err, account.ENotFound)
		_, err = db.EmailChangeLinks(change.KindConfirm).TakeLink(ctx, rv.TokenHash, t0)
		wantCode(t, err, account.ENotFound)
		if _, err := db.EmailChangeLinks(change.KindRevert).TakeLink(ctx, rv.TokenHash, t0); err != nil {
			t.Errorf("the revert link as a revert link: %v", err)
		}
	})
}

// TestAnEmailFlowIsTakenOnceByItsCodeOrItsLink: the code's take (by id)
// and the link's (by token) go through the same single use: of both racing,
// one gets the flow.
func TestAnEmailFlowIsTakenOnceByItsCodeOrItsLink(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := t.Context()
		key := "both." + randomID() + "@example.com"
		f := &signin.Flow{ID: randomID(), Email: key, EmailKey: key, TokenHash: randomBytes(32), CodeHash: randomBytes(32),
			CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := db.CreateEmailFlow(ctx, f); err != nil {
			t.Fatal(err)
		}
		var won atomic.Int32
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				err := db.InTx(ctx, func(ctx context.Context) error {
					var err error
					if i%2 == 0 {
						_, err = db.TakeEmailFlow(ctx, f.ID, t0)
					} else {
						_, err = db.EmailFlowLinks().TakeLink(ctx, f.TokenHash, t0)
					}
					return err
				})
				if err == nil {
					won.Add(1)
				} else if !account.IsCode(err, account.ENotFound) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Errorf("%d takes won, want 1", won.Load())
		}
		_, err := db.TakeEmailFlow(ctx, f.ID, t0.Add(-time.Hour))
		wantCode(t, err, account.ENotFound)
	})
}
