package recovery_test

import (
	"context"
	"crypto/rand"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/member"
	"github.com/keyshift/keyshift/internal/passwordauth"
	"github.com/keyshift/keyshift/internal/pepper"
	"github.com/keyshift/keyshift/internal/recovery"
	"github.com/keyshift/keyshift/internal/session"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/throttle"
)

var browser = account.Client{IP: "192.0.2.1", UserAgent: "test"}

// fixture is recovery codes on a real store, with the sessions they start.
type fixture struct {
	db       *store.DB
	now      time.Time
	sessions *session.Service
	svc      *recovery.Service
}

func newFixture(t *testing.T, database string) *fixture {
	t.Helper()
	db, err := store.Open(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: db, now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return f.now }
	audit := account.Audit{Store: db, Now: clock}
	f.sessions = session.New(session.Config{IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour}, db, session.Deps{Audit: audit, Now: clock})
	members := member.New(db, db, member.Deps{Sessions: f.sessions, Audit: audit, Now: clock})
	p, err := pepper.New([]byte("a pepper of the recovery tests, 32+ bytes"))
	if err != nil {
		t.Fatal(err)
	}
	f.svc = recovery.New(recovery.Config{Keys: recovery.KeysFrom(pepper.Set{Current: p})}, db, db, recovery.Deps{
		Sessions: f.sessions, Members: members, Limiter: &throttle.Limiter{Store: db, Now: clock}, Audit: audit, Now: clock})
	return f
}

// member stores an account (its address proven when verified) with a
// session just signed in.
func (f *fixture) member(t *testing.T, verified bool) *account.SessionWithUser {
	t.Helper()
	ctx := context.Background()
	id := rand.Text()
	u := &account.User{ID: "u-" + id, Email: id + "@example.com", EmailKey: strings.ToLower(id) + "@example.com", EmailVerified: verified,
		WebAuthnID: []byte(id), CreatedAt: f.now, UpdatedAt: f.now, Origin: account.OriginSignup}
	if err := f.db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	res, err := f.sessions.StartFirst(ctx, u, account.MethodPassword, browser)
	if err != nil {
		t.Fatal(err)
	}
	return &account.SessionWithUser{User: res.User, Session: res.Session}
}

// TestACodeSignsInOnce: each code of a set signs its member in once, in
// the shown form or typed loosely; a used, wrong or other member's code is
// invalid_credentials; a new set voids the old one.
func TestACodeSignsInOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		ctx := context.Background()
		ada, grace := f.member(t, true), f.member(t, true)
		codes, err := f.svc.Generate(ctx, ada, browser)
		if err != nil || len(codes) != recovery.CodeCount {
			t.Fatalf("Generate = %d codes, %v", len(codes), err)
		}
		others, err := f.svc.Generate(ctx, grace, browser)
		if err != nil {
			t.Fatal(err)
		}
		res, err := f.svc.Signin(ctx, ada.User.Email, codes[0], browser)
		if err != nil || res.User.ID != ada.User.ID || res.Session.AuthMethod != account.MethodRecoveryCode {
			t.Fatalf("Signin with a code = %+v, %v", res, err)
		}
		if left, err := f.svc.Left(ctx, ada.User.ID); err != nil || left != recovery.CodeCount-1 {
			t.Errorf("Left = %d, %v; want %d", left, err, recovery.CodeCount-1)
		}
		loose := " " + codes[1][:5] + " " + codes[1][6:] + " " // spaces for the dash, around too
		for _, tc := range []struct {
			name, email, code string
			ok                bool
		}{
			{"refuses a used code", ada.User.Email, codes[0], false},
			{"refuses another member's code", ada.User.Email, others[0], false},
			{"refuses a code that was never made", ada.User.Email, "00000-00000", false},
			{"refuses a code for an unknown address", "nobody@example.com", codes[2], false},
			{"accepts a code typed loosely", ada.User.Email, loose, true},
		} {
			_, err := f.svc.Signin(ctx, tc.email, tc.code, account.Client{IP: "198.51.100.9"})
			if tc.ok && err != nil || !tc.ok && !account.IsCode(err, account.EInvalidCredentials) {
				t.Errorf("%s: %v", tc.name, err)
			}
		}
		if _, err := f.svc.Generate(ctx, ada, browser); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Signin(ctx, ada.User.Email, codes[3], browser); !account.IsCode(err, account.EInvalidCredentials) {
			t.Errorf("a code of the set before: %v, want invalid_credentials", err)
		}
	})
}

// TestOneCodeRedeemedAtOnceSignsInOnce: of concurrent redemptions of one
// code — as many as the account's throttle lets through — exactly one
// signs in.
func TestOneCodeRedeemedAtOnceSignsInOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		ctx := context.Background()
		ada := f.member(t, true)
		codes, err := f.svc.Generate(ctx, ada, browser)
		if err != nil {
			t.Fatal(err)
		}
		n := passwordauth.PolicyAccount.Free
		var won, refused atomic.Int32
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				c := account.Client{IP: "198.51.100." + string(rune('1'+i))}
				switch _, err := f.svc.Signin(ctx, ada.User.Email, codes[0], c); {
				case err == nil:
					won.Add(1)
				case account.IsCode(err, account.EInvalidCredentials):
					refused.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 || int(refused.Load()) != n-1 {
			t.Errorf("%d sign-ins and %d refusals, want 1 and %d", won.Load(), refused.Load(), n-1)
		}
	})
}

// TestAnUnprovenAddressMakesNoCodes: codes would outlive the clean-up the
// first proof of the mailbox makes (docs/security.md, T3).
func TestAnUnprovenAddressMakesNoCodes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		sw := f.member(t, false)
		if _, err := f.svc.Generate(context.Background(), sw, browser); !account.IsCode(err, account.EEmailUnverified) {
			t.Errorf("Generate for an unproven address: %v, want email_unverified", err)
		}
		if left, err := f.svc.Left(context.Background(), sw.User.ID); err != nil || left != 0 {
			t.Errorf("Left = %d, %v; want 0", left, err)
		}
	})
}
