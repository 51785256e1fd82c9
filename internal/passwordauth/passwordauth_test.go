package passwordauth_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/notice"
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

type fixture struct {
	svc      *passwordauth.Service
	sessions *session.Service
	members  *member.Service
	db       *store.DB
	clock    *clock
	cfg      passwordauth.Config
	deps     passwordauth.Deps
	notices  *notice.Notifier // nil: none are sent
}

func newFixture(t *testing.T, database string, p password.Params) *fixture {
	t.Helper()
	db, err := store.Open(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	f := &fixture{db: db, clock: c, deps: passwordauth.Deps{
		Hasher:  password.NewHasher(p, password.NewGate(2, 5*time.Second)),
		Limiter: &throttle.Limiter{Store: db, Now: c.Now},
		Audit:   account.Audit{Store: db, Now: c.Now},
		Now:     c.Now,
	}}
	f.build()
	return f
}

// build makes the services in the order they depend on each other from
// the fixture's parts. A service, like keyshift's, is built whole and never
// changed after: a test that changes a part builds them again (rebuild).
func (f *fixture) build() {
	var sn session.Notifier
	var pn passwordauth.Notifier
	if f.notices != nil {
		sn, pn = f.notices, f.notices
	}
	f.sessions = session.New(session.Config{IdleTimeout: 7 * 24 * time.Hour, AbsoluteTimeout: 30 * 24 * time.Hour}, f.db,
		session.Deps{Audit: f.deps.Audit, Random: f.deps.Random, Now: f.clock.Now, Notices: sn})
	f.members = member.New(f.db, f.db, member.Deps{Sessions: f.sessions, Audit: f.deps.Audit, Random: f.deps.Random, Now: f.clock.Now})
	f.deps.Sessions, f.deps.Members, f.deps.Notices = f.sessions, f.members, pn
	f.svc = passwordauth.New(f.cfg, f.db, f.db, f.deps)
}

// rebuild builds the services again after set changed their config or parts.
func (f *fixture) rebuild(set func(*passwordauth.Config, *passwordauth.Deps)) {
	set(&f.cfg, &f.deps)
	f.build()
}

var alice = account.Client{IP: "192.0.2.1", UserAgent: "test"}

const pw = "correct horse battery staple"

func TestSignupThenSignin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database, cheap)
		ctx := context.Background()
		up, err := f.svc.Signup(ctx, " Ada@Example.com ", pw, alice)
		if err != nil {
			t.Fatal(err)
		}
		if up.User.Email != "Ada@example.com" || !up.User.HasPassword || up.Session.AuthMethod != account.MethodSignup {
			t.Errorf("signup result %+v", up)
		}
		in, err := f.svc.SigninPassword(ctx, "ADA@example.com", pw, alice)
		if err != nil {
			t.Fatal(err)
		}
		if in.User.ID != up.User.ID || in.Token == up.Token || in.Session.ID == up.Session.ID {
			t.Errorf("sign-in must start a new session for the same user: %+v", in)
		}
		sw, err := f.sessions.Authenticate(ctx, in.Token)
		if err != nil || sw.User.ID != up.User.ID || sw.Session.AuthMethod != account.MethodPassword {
			t.Fatalf("Authenticate = %+v, %v", sw, err)
		}
		evs, err := f.db.FindEvents(ctx, store.EventFilter{UserID: up.User.ID})
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range evs {
			types = append(types, e.Type+"/"+e.Outcome)
		}
		if len(types) != 2 || types[0] != "signup/success" || types[1] != "signin/success" {
			t.Errorf("events = %v", types)
		}
	})
}

func TestSigninRefusals(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database, cheap)
		ctx := context.Background()
		if _, err := f.svc.Signup(ctx, "ada@example.com", pw, alice); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, email, password string
			code                  account.Code
		}{
			{"a wrong password", "ada@example.com", "wrong horse battery staple", account.EInvalidCredentials},
			{"an unknown email", "bob@example.com", pw, account.EInvalidCredentials},
			{"an empty password", "ada@example.com", "", account.EInvalidCredentials},
			{"a password longer than any accepted one", "ada@example.com", string(make([]byte, 1000)), account.EInvalidCredentials},
			{"a malformed email", "not-an-email", pw, account.EInvalidEmail},
		}
		for _, tt := range tests {
			_, err := f.svc.SigninPassword(ctx, tt.email, tt.password, account.Client{IP: "198.51.100.7"})
			if !account.IsCode(err, tt.code) {
				t.Errorf("%s: err = %v, want %s", tt.name, err, tt.code)
			}
		}
	})
}

func TestSigninUpgradesAnOutdatedHash(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		old := newFixture(t, database, cheap)
		up, err := old.svc.Signup(ctx, "ada@example.com", pw, alice)
		if err != nil {
			t.Fatal(err)
		}
		before, _ := old.db.FindPasswordCredential(ctx, up.User.ID)

		stronger := cheap
		stronger.Iterations = 2
		f := newFixture(t, database, stronger)
		if _, err := f.svc.SigninPassword(ctx, "ada@example.com", pw, alice); err != nil {
			t.Fatal(err)
		}
		after, _ := f.db.FindPasswordCredential(ctx, up.User.ID)
		if after.PasswordHash == before.PasswordHash {
			t.Fatal("hash was not upgraded")
		}
		if ok, rehash, err := f.deps.Hasher.Verify(ctx, pw, after.PasswordHash, "argon2id"); !ok || rehash || err != nil {
			t.Errorf("upgraded hash: ok=%v rehash=%v err=%v", ok, rehash, err)
		}
		evs, _ := f.db.FindEvents(ctx, store.EventFilter{Type: account.EventRehash})
		if len(evs) != 1 {
			t.Errorf("want one rehash event, got %d", len(evs))
		}
	})
}

func TestPasswordThrottling(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, database, cheap)
		up, err := f.svc.Signup(ctx, "ada@example.com", pw, alice)
		if err != nil {
			t.Fatal(err)
		}
		member := account.Client{IP: "192.0.2.1", Device: &account.Device{UserID: up.User.ID, ID: "dev1"}}
		otherDevice := account.Client{IP: "192.0.2.9", Device: &account.Device{UserID: "someone-else", ID: "dev2"}}
		for i := range passwordauth.PolicyAccount.Free {
			// Each guess from a new address: only the account key stops them.
			c := account.Client{IP: "203.0.113." + string(rune('1'+i))}
			if _, err := f.svc.SigninPassword(ctx, "ada@example.com", "wrong guess number one", c); !account.IsCode(err, account.EInvalidCredentials) {
				t.Fatalf("guess %d: %v", i, err)
			}
		}
		_, err = f.svc.SigninPassword(ctx, "ada@example.com", pw, account.Client{IP: "203.0.113.200"})
		e, ok := err.(*account.Error)
		if !ok || e.Code != account.EThrottled || e.RetryAfter < 1 {
			t.Fatalf("after too many failures: %v", err)
		}
		if _, err := f.svc.SigninPassword(ctx, "ada@example.com", pw, otherDevice); !account.IsCode(err, account.EThrottled) {
			t.Errorf("another account's device must not be exempt: %v", err)
		}
		if _, err := f.svc.SigninPassword(ctx, "ada@example.com", pw, member); err != nil {
			t.Errorf("the member's own device must not be locked out by strangers: %v", err)
		}
		f.clock.Advance(time.Duration(e.RetryAfter) * time.Second)
		if _, err := f.svc.SigninPassword(ctx, "ada@example.com", pw, account.Client{IP: "203.0.113.201"}); err != nil {
			t.Errorf("after the wait the right password works: %v", err)
		}
		// A success forgives the account key: the next wrong guess is free.
		if _, err := f.svc.SigninPassword(ctx, "ada@example.com", "wrong guess number two", alice); !account.IsCode(err, account.EInvalidCredentials) {
			t.Errorf("after a success: %v", err)
		}
	})
}

func TestUnknownEmailsAreThrottledLikeKnownOnes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, database, cheap)
		for i := range passwordauth.PolicyAccount.Free - 1 {
			c := account.Client{IP: "203.0.113." + string(rune('1'+i))}
			f.svc.SigninPassword(ctx, "nobody@example.com", "wrong guess number one", c)
		}
		_, err := f.svc.SigninPassword(ctx, "nobody@example.com", "wrong guess number one", account.Client{IP: "203.0.113.100"})
		if !account.IsCode(err, account.EInvalidCredentials) {
			t.Fatalf("the last free failure: %v", err)
		}
		_, err = f.svc.SigninPassword(ctx, "nobody@example.com", "wrong guess number one", account.Client{IP: "203.0.113.101"})
		if !account.IsCode(err, account.EThrottled) {
			t.Errorf("unknown addresses must throttle exactly like known ones: %v", err)
		}
	})
}

func TestSignupRefusals(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, database, cheap)
		if _, err := f.svc.Signup(ctx, "ada@example.com", pw, alice); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, email, password string
			code                  account.Code
			reason                string
		}{
			{"the same address in other case", "ADA@EXAMPLE.COM", pw, account.EEmailTaken, ""},
			{"a short password", "bob@example.com", "short", account.EWeakPassword, password.ReasonTooShort},
			{"a common password", "bob@example.com", "password1", account.EWeakPassword, password.ReasonCommon},
			{"the email as password", "bob@example.com", "bob@example.com", account.EWeakPassword, password.ReasonContainsEmail},
			{"a malformed email", "bob", pw, account.EInvalidEmail, "malformed"},
		}
		for _, tt := range tests {
			_, err := f.svc.Signup(ctx, tt.email, tt.password, account.Client{IP: "198.51.100.1"})
			e, ok := err.(*account.Error)
			if !ok || e.Code != tt.code || e.Reason != tt.reason {
				t.Errorf("%s: %v, want %s/%s", tt.name, err, tt.code, tt.reason)
			}
		}
		if n, _ := f.db.CountUsers(ctx); n != 1 {
			t.Errorf("refused sign-ups wrote users: %d", n)
		}
	})
}

func TestSignupIsLimitedPerAddress(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, database, cheap)
		c := account.Client{IP: "198.51.100.50"}
		var err error
		// Free attempts go through; the next one waits.
		for i := range passwordauth.PolicySignupIP.Free + 1 {
			_, err = f.svc.Signup(ctx, "user"+string(rune('a'+i))+"@example.com", pw, c)
		}
		if !account.IsCode(err, account.EThrottled) {
			t.Errorf("sign-up %d from one address: %v", passwordauth.PolicySignupIP.Free+1, err)
		}
	})
}

func TestConcurrentSignupsMakeOneAccount(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, database, cheap)
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for i := range 10 {
			wg.Go(func() {
				_, err := f.svc.Signup(ctx, "race@example.com", pw, account.Client{IP: "198.51.100." + string(rune('1'+i))})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		ok := 0
		for err := range errs {
			switch {
			case err == nil:
				ok++
			case !account.IsCode(err, account.EEmailTaken):
				t.Errorf("unexpected error: %v", err)
			}
		}
		if n, _ := f.db.CountUsers(ctx); ok != 1 || n != 1 {
			t.Errorf("%d sign-ups succeeded, %d users; want 1 and 1", ok, n)
		}
	})
}

func TestClosedSignupCreatesNothingAndCountsNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, database, cheap)
		f.rebuild(func(c *passwordauth.Config, _ *passwordauth.Deps) { c.SignupClosed = true })
		c := account.Client{IP: "198.51.100.60"}
		for range passwordauth.PolicySignupIP.Free + 2 {
			if _, err := f.svc.Signup(ctx, "grace@example.com", pw, c); !account.IsCode(err, account.ESignupClosed) {
				t.Fatalf("sign-up while closed: %v, want signup_closed", err)
			}
		}
		if _, err := f.db.FindUserByEmailKey(ctx, "grace@example.com"); !account.IsCode(err, account.ENotFound) {
			t.Errorf("an account was created (%v)", err)
		}
		// Refusals did not count against the address: reopening, it signs up at once.
		f.rebuild(func(c *passwordauth.Config, _ *passwordauth.Deps) { c.SignupClosed = false })
		if _, err := f.svc.Signup(ctx, "grace@example.com", pw, c); err != nil {
			t.Errorf("sign-up after reopening: %v", err)
		}
	})
}

// TestNoPasswordSignupByPolicy: signup.methods without "password" refuses
// every password sign-up before any work, and members who have a password
// still sign in with it.
func TestNoPasswordSignupByPolicy(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, database, cheap)
		c := account.Client{IP: "198.51.100.61"}
		if _, err := f.svc.Signup(ctx, "ada@example.com", pw, c); err != nil {
			t.Fatal(err)
		}
		f.rebuild(func(c *passwordauth.Config, _ *passwordauth.Deps) { c.NoPasswordSignup = true })
		if _, err := f.svc.Signup(ctx, "grace@example.com", pw, c); !account.IsCode(err, account.EPasswordSignupDisabled) {
			t.Fatalf("a password sign-up under a passkey-only policy: %v, want password_signup_disabled", err)
		}
		if _, err := f.db.FindUserByEmailKey(ctx, "grace@example.com"); !account.IsCode(err, account.ENotFound) {
			t.Errorf("an account was created (%v)", err)
		}
		if _, err := f.svc.SigninPassword(ctx, "ada@example.com", pw, c); err != nil {
			t.Errorf("a member's password sign-in under a passkey-only policy: %v", err)
		}
	})
}

// floorWatch is the real password.FailureFloor, watched: it records how
// many hashing slots are held when a failed sign-in starts to wait.
type floorWatch struct {
	*password.FailureFloor
	gate  *password.Gate
	mu    sync.Mutex
	inUse []int
}

func (w *floorWatch) Wait(ctx context.Context, format string, since time.Time) {
	w.mu.Lock()
	w.inUse = append(w.inUse, w.gate.InUse())
	w.mu.Unlock()
	w.FailureFloor.Wait(ctx, format, since)
}

// TestFailedSigninsWaitOutTheFloorWithoutAHashingSlot (T7): every failed
// password sign-in — unknown address, wrong password, account without a
// password — lasts at least the floor, and waits with its hashing slot
// given back, so padding costs no hashing capacity; a success does not wait.
func TestFailedSigninsWaitOutTheFloorWithoutAHashingSlot(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database, cheap)
		ctx := context.Background()
		if _, err := f.svc.Signup(ctx, "ada@example.com", pw, alice); err != nil {
			t.Fatal(err)
		}
		const floor = 150 * time.Millisecond
		gate := password.NewGate(1, 5*time.Second)
		ff := password.NewFailureFloor(floor)
		watch := &floorWatch{FailureFloor: ff, gate: gate}
		f.rebuild(func(_ *passwordauth.Config, d *passwordauth.Deps) {
			d.Hasher = password.NewHasher(cheap, gate, password.WithFailureFloor(ff))
			d.FailureFloor = watch
		})

		for i, email := range []string{"ada@example.com", "nobody@example.com"} {
			start := time.Now()
			_, err := f.svc.SigninPassword(ctx, email, "wrong horse battery staple", account.Client{IP: fmt.Sprintf("198.51.100.%d", i+1)})
			if took := time.Since(start); !account.IsCode(err, account.EInvalidCredentials) || took < floor {
				t.Errorf("%s: %v after %v, want invalid_credentials after at least %v", email, err, took, floor)
			}
		}
		if _, err := f.svc.SigninPassword(ctx, "ada@example.com", pw, alice); err != nil {
			t.Fatal(err)
		}
		watch.mu.Lock()
		defer watch.mu.Unlock()
		// Two waits (the success made none), each with no slot held.
		if len(watch.inUse) != 2 || watch.inUse[0] != 0 || watch.inUse[1] != 0 {
			t.Errorf("slots held as each wait began: %v, want [0 0] (two failures, no wait for the success)", watch.inUse)
		}
	})
}
