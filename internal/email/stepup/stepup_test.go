package stepup_test

import (
	"context"
	"crypto/rand"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/email/stepup"
	"github.com/keyshift/keyshift/internal/session"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/throttle"
)

var browser = account.Client{IP: "192.0.2.7", UserAgent: "test"}

// mailbox keeps the mails a Service queued, as the outbox would send them.
type mailbox struct {
	mu   sync.Mutex
	sent []outbox.Message
}

func (m *mailbox) Enqueue(_ context.Context, msg outbox.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, msg)
	return nil
}

// lastCode is the code of the newest mail.
func (m *mailbox) lastCode(t *testing.T) string {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sent) == 0 {
		t.Fatal("no mail")
	}
	c := regexp.MustCompile(`(?m)^(\d{6})$`).FindStringSubmatch(m.sent[len(m.sent)-1].Text)
	if c == nil {
		t.Fatalf("no code in %q", m.sent[len(m.sent)-1].Text)
	}
	return c[1]
}

type fixture struct {
	db       *store.DB
	now      time.Time
	sessions *session.Service
	box      *mailbox
	svc      *stepup.Service
}

func newFixture(t *testing.T, database string) *fixture {
	t.Helper()
	db, err := store.Open(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: db, now: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC), box: &mailbox{}}
	clock := func() time.Time { return f.now }
	audit := account.Audit{Store: db, Now: clock}
	f.sessions = session.New(session.Config{IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour}, db, session.Deps{Audit: audit, Now: clock})
	f.svc = stepup.New(stepup.Config{Site: "Example", CodeKey: []byte("the step-up tests' code key")}, db, stepup.Deps{
		Sessions: f.sessions, Limiter: &throttle.Limiter{Store: db, Now: clock}, Audit: audit, Now: clock, Mailer: f.box})
	return f
}

// member stores an account with a proven address and nothing else, and
// signs it in (an email sign-in, as such accounts do).
func (f *fixture) member(t *testing.T) *account.SessionWithUser {
	t.Helper()
	ctx := context.Background()
	id := strings.ToLower(rand.Text())
	u := &account.User{ID: "u-" + id, Email: id + "@example.com", EmailKey: id + "@example.com", EmailVerified: true,
		WebAuthnID: []byte(id), CreatedAt: f.now, UpdatedAt: f.now, Origin: account.OriginEmail}
	if err := f.db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	res, err := f.sessions.StartFirst(ctx, u, account.MethodEmailLink, browser)
	if err != nil {
		t.Fatal(err)
	}
	return &account.SessionWithUser{User: res.User, Session: res.Session}
}

// TestAMailedCodeStepsItsSessionUpOnce: the code steps up the session that
// asked, with method email_code and a new token; it is refused after use,
// to another session, after its minutes and after five tries.
func TestAMailedCodeStepsItsSessionUpOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		ctx := context.Background()
		ada := f.member(t)
		other := &account.SessionWithUser{User: ada.User}
		res, err := f.sessions.StartFirst(ctx, &ada.User, account.MethodEmailCode, browser)
		if err != nil {
			t.Fatal(err)
		}
		other.Session = res.Session

		if err := f.svc.Begin(ctx, ada, browser); err != nil {
			t.Fatal(err)
		}
		code := f.box.lastCode(t)
		if _, _, err := f.svc.Finish(ctx, other, code, browser); !account.IsCode(err, account.EInvalidCode) {
			t.Errorf("the code in another session: %v", err)
		}
		f.now = f.now.Add(time.Minute)
		token, at, err := f.svc.Finish(ctx, ada, code, browser)
		if err != nil || token == "" || !at.Equal(f.now) {
			t.Fatalf("Finish = %q, %v, %v", token, at, err)
		}
		sw, err := f.sessions.Authenticate(ctx, token)
		if err != nil || sw.Session.SteppedUpMethod != account.MethodEmailCode || !sw.Session.SteppedUpAt.Equal(f.now) {
			t.Fatalf("the session after the step-up: %+v, %v", sw, err)
		}
		if _, _, err := f.svc.Finish(ctx, ada, code, browser); !account.IsCode(err, account.EInvalidCode) {
			t.Errorf("the code again: %v", err)
		}

		if err := f.svc.Begin(ctx, ada, browser); err != nil {
			t.Fatal(err)
		}
		code = f.box.lastCode(t)
		f.now = f.now.Add(stepup.DefaultTTL)
		if _, _, err := f.svc.Finish(ctx, ada, code, browser); !account.IsCode(err, account.EInvalidCode) {
			t.Errorf("an expired code: %v", err)
		}
	})
}

// TestOnlyMembersWithNothingButTheirMailboxGetACode: a member with a
// passkey, a password or an unproven address is refused before anything is
// written or mailed; past the member's allowance Begin is throttled, also
// before anything is written or mailed.
func TestOnlyMembersWithNothingButTheirMailboxGetACode(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		ctx := context.Background()
		for _, tc := range []struct {
			name   string
			change func(u *account.User)
			code   account.Code
			reason string
		}{
			{"a passkey member", func(u *account.User) { u.PasskeyCount = 1 }, account.EReauthRequired, "passkey"},
			{"a password member", func(u *account.User) { u.HasPassword = true }, account.EInvalidRequest, "password"},
			{"an unproven address", func(u *account.User) { u.EmailVerified = false }, account.EInvalidRequest, "unverified"},
		} {
			sw := f.member(t)
			tc.change(&sw.User)
			err := f.svc.Begin(ctx, sw, browser)
			if e, ok := err.(*account.Error); !ok || e.Code != tc.code || e.Reason != tc.reason {
				t.Errorf("%s: Begin = %v, want %s/%s", tc.name, err, tc.code, tc.reason)
			}
			if _, _, err := f.svc.Finish(ctx, sw, "123456", browser); !account.IsCode(err, tc.code) {
				t.Errorf("%s: Finish = %v, want %s", tc.name, err, tc.code)
			}
		}
		if n := len(f.box.sent); n != 0 {
			t.Fatalf("%d mails to members who step up otherwise", n)
		}

		ada := f.member(t)
		for i := range stepup.PolicyMailMember.Free {
			if err := f.svc.Begin(ctx, ada, browser); err != nil {
				t.Fatalf("mail %d: %v", i+1, err)
			}
		}
		if err := f.svc.Begin(ctx, ada, browser); !account.IsCode(err, account.EThrottled) {
			t.Errorf("past the allowance: %v, want too_many_attempts", err)
		}
		if n := len(f.box.sent); n != stepup.PolicyMailMember.Free {
			t.Errorf("%d mails, want %d", n, stepup.PolicyMailMember.Free)
		}
	})
}
