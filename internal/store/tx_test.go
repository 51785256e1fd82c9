package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

var errBoom = errors.New("boom")

// txTimeout bounds every transaction test: a nested InTx that opened a second
// transaction on SQLite's one writer connection would otherwise hang.
const txTimeout = 20 * time.Second

// rows is one row of every kind a ceremony writes.
type rows struct {
	u      *account.User
	pw, pk *account.Credential
	s      *account.Session
	e      *account.Event
}

func newRows() rows {
	u := newUser()
	return rows{u: u, pw: newPassword(u), pk: newPasskey(u), s: newSession(u, t0),
		e: &account.Event{At: t0, Type: account.EventSignup, UserID: u.ID, Data: map[string]any{"k": "v"}}}
}

// write stores r with ctx, which may carry a transaction.
func (r rows) write(ctx context.Context, db *store.DB) error {
	// In this order: the session needs its user (a call's result taken
	// before the Join would run it first).
	err := errors.Join(db.CreateUser(ctx, r.u), db.CreateCredential(ctx, r.pw), db.CreateCredential(ctx, r.pk))
	_, serr := db.CreateSession(ctx, r.s)
	return errors.Join(err, serr, db.AppendEvent(ctx, r.e))
}

// exist reports, outside any transaction, which of r's rows are stored.
func (r rows) exist(t *testing.T, db *store.DB) map[string]bool {
	t.Helper()
	ctx := t.Context()
	found := func(err error) bool {
		if err != nil && !account.IsCode(err, account.ENotFound) {
			t.Fatalf("looking for a row: %v", err)
		}
		return err == nil
	}
	_, errU := db.FindUser(ctx, r.u.ID)
	_, errPW := db.FindPasswordCredential(ctx, r.u.ID)
	_, errS := db.FindSessionByToken(ctx, r.s.TokenHash)
	evs, err := db.FindEvents(ctx, store.EventFilter{UserID: r.u.ID})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]bool{
		"user":     found(errU),
		"password": found(errPW),
		"passkey":  count(t, db, "SELECT COUNT(*) FROM credentials WHERE id = ?", r.pk.ID) == 1,
		"session":  found(errS),
		"event":    len(evs) == 1,
	}
}

// wantRows fails t unless every row of r exists (want) or none does.
func wantRows(t *testing.T, db *store.DB, r rows, want bool) {
	t.Helper()
	for what, ok := range r.exist(t, db) {
		if ok != want {
			t.Errorf("%s stored = %v, want %v", what, ok, want)
		}
	}
}

func TestInTx(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)

		// First, before anything else runs on this fresh database: SQLite
		// runs transactions on its one writer connection, so anything a
		// statement needs from the pool while a transaction holds that
		// connection (preparing it, say) would wait forever.
		t.Run("statements first run inside a transaction do not wait for the pool", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), txTimeout)
			defer cancel()
			r := newRows()
			err := db.InTx(ctx, func(ctx context.Context) error {
				if _, err := db.CountUsers(ctx); err != nil {
					return err
				}
				if err := r.write(ctx, db); err != nil {
					return err
				}
				_, err := db.FindUser(ctx, r.u.ID)
				return err
			})
			if err != nil {
				t.Fatalf("InTx: %v", err)
			}
			wantRows(t, db, r, true)
		})

		tests := []struct {
			name       string
			fn         func(ctx context.Context, r rows) error
			wantErr    error // nil when InTx should succeed; a coded *account.Error matches by code
			wantStored bool
		}{
			{"commits every write when fn succeeds",
				func(ctx context.Context, r rows) error { return r.write(ctx, db) }, nil, true},
			{"rolls back every write when fn fails",
				func(ctx context.Context, r rows) error {
					if err := r.write(ctx, db); err != nil {
						return err
					}
					return errBoom
				}, errBoom, false},
			{"rolls back earlier writes when a store call fails",
				func(ctx context.Context, r rows) error {
					if err := r.write(ctx, db); err != nil {
						return err
					}
					taken := newUser()
					taken.EmailKey = r.u.EmailKey
					return db.CreateUser(ctx, taken)
				}, account.Errorf(account.EEmailTaken, ""), false},
			{"a nested InTx commits with the outer one",
				func(ctx context.Context, r rows) error {
					return db.InTx(ctx, func(ctx context.Context) error { return r.write(ctx, db) })
				}, nil, true},
			{"a nested InTx's writes roll back when the outer fn fails afterwards",
				func(ctx context.Context, r rows) error {
					if err := db.InTx(ctx, func(ctx context.Context) error { return r.write(ctx, db) }); err != nil {
						return err
					}
					return errBoom
				}, errBoom, false},
			{"a nested InTx's error rolls back the outer writes",
				func(ctx context.Context, r rows) error {
					if err := db.CreateUser(ctx, r.u); err != nil {
						return err
					}
					return db.InTx(ctx, func(ctx context.Context) error {
						if err := db.CreateCredential(ctx, r.pw); err != nil {
							return err
						}
						return errBoom
					})
				}, errBoom, false},
			{"a nested InTx sees the outer writes and the outer sees the nested",
				func(ctx context.Context, r rows) error {
					if err := db.CreateUser(ctx, r.u); err != nil {
						return err
					}
					err := db.InTx(ctx, func(ctx context.Context) error {
						if _, err := db.FindUser(ctx, r.u.ID); err != nil {
							return err
						}
						_, serr := db.CreateSession(ctx, r.s)
						return errors.Join(db.CreateCredential(ctx, r.pw), db.CreateCredential(ctx, r.pk), serr)
					})
					if err != nil {
						return err
					}
					u, err := db.FindUser(ctx, r.u.ID)
					if err != nil {
						return err
					}
					if !u.HasPassword || u.PasskeyCount != 1 {
						return errors.New("the outer transaction does not see the nested writes")
					}
					return db.AppendEvent(ctx, r.e)
				}, nil, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(t.Context(), txTimeout)
				defer cancel()
				r := newRows()
				err := db.InTx(ctx, func(ctx context.Context) error { return tt.fn(ctx, r) })
				var coded *account.Error
				switch want := tt.wantErr; {
				case want == nil && err != nil:
					t.Fatalf("InTx: %v", err)
				case want == nil:
				case errors.As(want, &coded):
					wantCode(t, err, coded.Code)
				case !errors.Is(err, want):
					t.Fatalf("InTx = %v, want %v", err, want)
				}
				wantRows(t, db, r, tt.wantStored)
			})
		}

		t.Run("writes are invisible outside the transaction until it commits", func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), txTimeout)
			defer cancel()
			r := newRows()
			err := db.InTx(ctx, func(txCtx context.Context) error {
				if err := r.write(txCtx, db); err != nil {
					return err
				}
				if _, err := db.FindUser(txCtx, r.u.ID); err != nil {
					t.Errorf("inside: %v", err)
				}
				// Reads with a ctx without the transaction use the read pool.
				_, err := db.FindUser(ctx, r.u.ID)
				if !account.IsCode(err, account.ENotFound) {
					t.Errorf("outside, before commit: err = %v, want not found", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			wantRows(t, db, r, true)
		})

		t.Run("a panic rolls back and panics on with the same value", func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), txTimeout)
			defer cancel()
			r := newRows()
			func() {
				defer func() {
					if p := recover(); p != errBoom {
						t.Errorf("recovered %v, want the panic value %v", p, errBoom)
					}
				}()
				db.InTx(ctx, func(ctx context.Context) error {
					if err := r.write(ctx, db); err != nil {
						t.Errorf("write: %v", err)
					}
					panic(errBoom)
				})
				t.Error("InTx returned after a panic")
			}()
			wantRows(t, db, r, false)
			// The connection went back to the pool: writing still works.
			next := newRows()
			if err := db.InTx(ctx, func(ctx context.Context) error { return next.write(ctx, db) }); err != nil {
				t.Fatalf("a transaction after the panic: %v", err)
			}
			wantRows(t, db, next, true)
		})

		t.Run("a cancelled context starts no transaction", func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			called := false
			err := db.InTx(ctx, func(ctx context.Context) error {
				called = true
				return nil
			})
			if !errors.Is(err, context.Canceled) || called {
				t.Errorf("InTx = %v, fn called = %v; want context.Canceled and fn not called", err, called)
			}
		})
	})
}
