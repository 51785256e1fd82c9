package member_test

import (
	"context"
	"crypto/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/member"
	"github.com/keyshift/keyshift/internal/session"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

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

var browser = account.Client{IP: "192.0.2.1", UserAgent: "test"}

// fixture is members and their sessions on a real store.
type fixture struct {
	db       *store.DB
	clock    *clock
	sessions *session.Service
	members  *member.Service
}

func newFixture(t *testing.T, database string) *fixture {
	t.Helper()
	db, err := store.Open(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{now: t0}
	audit := account.Audit{Store: db, Now: c.Now}
	sessions := session.New(session.Config{IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour}, db,
		session.Deps{Audit: audit, Now: c.Now})
	members := member.New(db, db, member.Deps{Sessions: sessions, Audit: audit, Now: c.Now})
	return &fixture{db: db, clock: c, sessions: sessions, members: members}
}

// user stores a new account with a session, and returns both.
func (f *fixture) user(t *testing.T) (*account.User, *account.SigninResult) {
	t.Helper()
	ctx := context.Background()
	id := rand.Text()
	u := &account.User{ID: "u-" + id, Email: id + "@example.com", EmailKey: strings.ToLower(id) + "@example.com",
		WebAuthnID: []byte(id), CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now(), Origin: account.OriginSignup}
	if err := f.db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	res, err := f.sessions.StartFirst(ctx, u, account.MethodPassword, browser)
	if err != nil {
		t.Fatal(err)
	}
	return u, res
}

// password gives u a password credential last set at at.
func (f *fixture) password(t *testing.T, u *account.User, hash string, at time.Time) {
	t.Helper()
	if err := f.db.CreateCredential(context.Background(), &account.Credential{ID: "c-" + rand.Text(), UserID: u.ID,
		Type: account.CredentialPassword, PasswordHash: hash, PasswordFormat: "argon2id", CreatedAt: at, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
}

// TestLockChecksTheSessionThatActs: the lock is taken for any account that
// exists; with a session, only while that session lives, so a session a
// clean-up ended while this waited acts no more.
func TestLockChecksTheSessionThatActs(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		u, res := f.user(t)
		_, other := f.user(t)
		lock := func(userID, sessionID string) error {
			return f.db.InTx(context.Background(), func(ctx context.Context) error {
				return f.members.Lock(ctx, userID, sessionID)
			})
		}
		for _, tc := range []struct {
			name      string
			userID    string
			sessionID string
			want      account.Code
		}{
			{"locks an account without asking for a session", u.ID, "", ""},
			{"locks an account for its live session", u.ID, res.Session.ID, ""},
			{"refuses another member's session", u.ID, other.Session.ID, account.EUnauthenticated},
			{"refuses a session id that cannot be one", u.ID, "a\x00b", account.EUnauthenticated},
			{"refuses an account that is gone", "u-nobody", "", account.ENotFound},
		} {
			err := lock(tc.userID, tc.sessionID)
			if tc.want == "" && err != nil || tc.want != "" && !account.IsCode(err, tc.want) {
				t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
			}
		}
		f.clock.Advance(time.Hour) // idle past the end
		if err := lock(u.ID, res.Session.ID); !account.IsCode(err, account.EUnauthenticated) {
			t.Errorf("an idle session: %v, want unauthenticated", err)
		}
	})
}

// TestResetCredentialsUndoesThePasswordSince: a password set or changed at
// or after Since goes — or gives way to the one from before, which also
// comes back when it was removed since —, and one from before Since stays.
func TestResetCredentialsUndoesThePasswordSince(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		ctx := context.Background()
		since := t0.Add(time.Minute)
		before := &account.Credential{PasswordHash: "$argon2id$before", PasswordFormat: "argon2id"}
		for _, tc := range []struct {
			name    string
			set     time.Time // when the current password was set; zero: none
			restore *account.Credential
			want    string // Removed.Password
			hash    string // the password after; "" for none
		}{
			{"removes a password set since", since, nil, account.PasswordRemoved, ""},
			{"puts back the one from before in place of one set since", since.Add(time.Second), before, account.PasswordRestored, before.PasswordHash},
			{"brings back the one from before when it was removed since", time.Time{}, before, account.PasswordRestored, before.PasswordHash},
			{"leaves a password from before Since", t0, before, "", "$argon2id$current"},
			{"leaves an account without a password as it is", time.Time{}, nil, "", ""},
		} {
			u, _ := f.user(t)
			if !tc.set.IsZero() {
				f.password(t, u, "$argon2id$current", tc.set)
			}
			var got account.Removed
			err := f.db.InTx(ctx, func(ctx context.Context) error {
				var err error
				got, err = f.members.ResetCredentials(ctx, u.ID, account.Reset{Since: since, Restore: tc.restore})
				return err
			})
			if err != nil || got.Password != tc.want {
				t.Errorf("%s: Removed.Password %q, %v; want %q", tc.name, got.Password, err, tc.want)
				continue
			}
			cur, err := f.db.FindPasswordCredential(ctx, u.ID)
			switch {
			case tc.hash == "" && !account.IsCode(err, account.ENotFound):
				t.Errorf("%s: a password is left: %+v, %v", tc.name, cur, err)
			case tc.hash != "" && (err != nil || cur.PasswordHash != tc.hash):
				t.Errorf("%s: the password is %+v, %v; want hash %q", tc.name, cur, err, tc.hash)
			}
		}
	})
}

// TestRevokeAllSessionsForgetsEveryBrowser: signing out everywhere ends
// every session of the member — and of nobody else — and moves the device
// epoch on, so no device cookie of before is trusted.
func TestRevokeAllSessionsForgetsEveryBrowser(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		ctx := context.Background()
		u, first := f.user(t)
		second, err := f.sessions.StartFirst(ctx, u, account.MethodPassword, browser)
		if err != nil {
			t.Fatal(err)
		}
		_, stranger := f.user(t)
		n, err := f.members.RevokeAllSessions(ctx, u.ID, browser)
		if err != nil || n != 2 {
			t.Fatalf("RevokeAllSessions = %d, %v; want 2", n, err)
		}
		for _, token := range []string{first.Token, second.Token} {
			if _, err := f.sessions.Authenticate(ctx, token); !account.IsCode(err, account.EUnauthenticated) {
				t.Errorf("a session survived: %v", err)
			}
		}
		if _, err := f.sessions.Authenticate(ctx, stranger.Token); err != nil {
			t.Errorf("another member's session ended: %v", err)
		}
		after, err := f.members.Find(ctx, u.ID)
		if err != nil || after.DeviceEpoch == u.DeviceEpoch {
			t.Errorf("device epoch %d → %+v, %v; want it moved on", u.DeviceEpoch, after, err)
		}
	})
}
