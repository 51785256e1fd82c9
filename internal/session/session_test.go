package session_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/member"
	"github.com/keyshift/keyshift/internal/password"
	"github.com/keyshift/keyshift/internal/passwordauth"
	"github.com/keyshift/keyshift/internal/session"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/throttle"
)

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// cheap are small argon2id parameters: tests check behaviour, not cost.
var cheap = password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// fixture is sessions on a real store, with the password sign-ins that
// start them and the sign-out everywhere that ends them all.
type fixture struct {
	sessions  *session.Service
	members   *member.Service
	passwords *passwordauth.Service
	db        *store.DB
	clock     *clock
}

func newFixture(t *testing.T, database string, p password.Params) *fixture {
	t.Helper()
	db, err := store.Open(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	audit := account.Audit{Store: db, Now: c.Now}
	sessions := session.New(session.Config{IdleTimeout: 7 * 24 * time.Hour, AbsoluteTimeout: 30 * 24 * time.Hour}, db,
		session.Deps{Audit: audit, Now: c.Now})
	members := member.New(db, db, member.Deps{Sessions: sessions, Audit: audit, Now: c.Now})
	passwords := passwordauth.New(passwordauth.Config{}, db, db, passwordauth.Deps{
		Hasher: password.NewHasher(p, password.NewGate(2, 5*time.Second)), Sessions: sessions, Members: members,
		Limiter: &throttle.Limiter{Store: db, Now: c.Now}, Audit: audit, Now: c.Now,
	})
	return &fixture{sessions: sessions, members: members, passwords: passwords, db: db, clock: c}
}

var alice = account.Client{IP: "192.0.2.1", UserAgent: "test"}

const pw = "correct horse battery staple"

func TestSessionsExpire(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, database, cheap)
		up, err := f.passwords.Signup(ctx, "ada@example.com", pw, alice)
		if err != nil {
			t.Fatal(err)
		}
		// Used every six days, the session lives until its absolute end.
		for range 4 {
			f.clock.Advance(6 * 24 * time.Hour)
			if _, err := f.sessions.Authenticate(ctx, up.Token); err != nil {
				t.Fatalf("after %v: %v", f.clock.Now(), err)
			}
		}
		f.clock.Advance(6*24*time.Hour + time.Second) // day 30 and a second
		if _, err := f.sessions.Authenticate(ctx, up.Token); !account.IsCode(err, account.EUnauthenticated) {
			t.Fatalf("past the absolute timeout: %v", err)
		}

		idle, err := f.passwords.SigninPassword(ctx, "ada@example.com", pw, alice)
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(7*24*time.Hour + time.Second)
		if _, err := f.sessions.Authenticate(ctx, idle.Token); !account.IsCode(err, account.EUnauthenticated) {
			t.Fatalf("past the idle timeout: %v", err)
		}
		if list, _ := f.db.ListSessions(ctx, up.User.ID); len(list) != 0 {
			t.Errorf("expired sessions are deleted on sight; %d left", len(list))
		}
	})
}

func TestPurgeExpiredSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, database, cheap)
		if _, err := f.passwords.Signup(ctx, "ada@example.com", pw, alice); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(8 * 24 * time.Hour)
		live, err := f.passwords.SigninPassword(ctx, "ada@example.com", pw, alice)
		if err != nil {
			t.Fatal(err)
		}
		n, err := f.sessions.PurgeExpired(ctx)
		if err != nil || n != 1 {
			t.Fatalf("purged %d, %v; want 1", n, err)
		}
		if _, err := f.sessions.Authenticate(ctx, live.Token); err != nil {
			t.Errorf("the live session was purged: %v", err)
		}
	})
}

func TestRevokingSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, database, cheap)
		a, _ := f.passwords.Signup(ctx, "ada@example.com", pw, alice)
		b, _ := f.passwords.Signup(ctx, "bob@example.com", pw, alice)
		a2, err := f.passwords.SigninPassword(ctx, "ada@example.com", pw, alice)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.sessions.Revoke(ctx, a.User.ID, b.Session.ID, alice); !account.IsCode(err, account.ENotFound) {
			t.Errorf("revoking another member's session: %v", err)
		}
		if _, err := f.sessions.Authenticate(ctx, b.Token); err != nil {
			t.Errorf("another member's session died: %v", err)
		}
		if err := f.sessions.Revoke(ctx, a.User.ID, a.Session.ID, alice); err != nil {
			t.Fatal(err)
		}
		if _, err := f.sessions.Authenticate(ctx, a.Token); !account.IsCode(err, account.EUnauthenticated) {
			t.Errorf("revoked session still works: %v", err)
		}
		if n, err := f.members.RevokeAllSessions(ctx, a.User.ID, alice); err != nil || n != 1 {
			t.Errorf("RevokeAllSessions = %d, %v", n, err)
		}
		if _, err := f.sessions.Authenticate(ctx, a2.Token); !account.IsCode(err, account.EUnauthenticated) {
			t.Errorf("session survived sign-out everywhere: %v", err)
		}
	})
}

// TestWeakerSigninsOfPasskeyMembersLastAnHour: with WeakerCap (the
// restricted email_signin.passkey_accounts), a session that an email link
// or code, or a recovery code, opens for a member who holds a passkey ends
// an hour after it began however much it is used; a passkey or password
// sign-in of that member, and every sign-in of a member without a passkey,
// lasts the absolute timeout.
func TestWeakerSigninsOfPasskeyMembersLastAnHour(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, database, cheap)
		capped := session.New(session.Config{IdleTimeout: 7 * 24 * time.Hour, AbsoluteTimeout: 30 * 24 * time.Hour, WeakerCap: time.Hour}, f.db,
			session.Deps{Audit: account.Audit{Store: f.db, Now: f.clock.Now}, Random: account.Random{}, Now: f.clock.Now})
		up, err := f.passwords.Signup(ctx, "ada@example.com", pw, alice)
		if err != nil {
			t.Fatal(err)
		}
		withKey, without := up.User, up.User
		withKey.PasskeyCount = 1
		for _, tc := range []struct {
			name  string
			u     account.User
			m     account.AuthMethod
			lasts time.Duration
		}{
			{"an email link of a passkey member", withKey, account.MethodEmailLink, time.Hour},
			{"an email code of a passkey member", withKey, account.MethodEmailCode, time.Hour},
			{"a recovery code of a passkey member", withKey, account.MethodRecoveryCode, time.Hour},
			{"a passkey sign-in", withKey, account.MethodPasskeyModal, 30 * 24 * time.Hour},
			{"a password sign-in of a passkey member", withKey, account.MethodPassword, 30 * 24 * time.Hour},
			{"an email link of a member without a passkey", without, account.MethodEmailLink, 30 * 24 * time.Hour},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := capped.Lifetime(&tc.u, tc.m); got != tc.lasts {
					t.Errorf("Lifetime = %s, want %s", got, tc.lasts)
				}
			})
		}
		var res *account.SigninResult
		if err := f.db.InTx(ctx, func(ctx context.Context) error {
			res, err = capped.StartFirst(ctx, &withKey, account.MethodEmailLink, alice)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			f.clock.Advance(11 * time.Minute)
			if _, err := capped.Authenticate(ctx, res.Token); err != nil {
				t.Fatalf("after %v: %v", f.clock.Now(), err)
			}
		}
		f.clock.Advance(5*time.Minute + time.Second)
		if _, err := capped.Authenticate(ctx, res.Token); !account.IsCode(err, account.EUnauthenticated) {
			t.Fatalf("an hour and a second after the email sign-in: %v", err)
		}
	})
}
