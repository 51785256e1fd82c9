package emailchange_test

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/emailchange"
	"github.com/keyshift/keyshift/internal/mail"
	"github.com/keyshift/keyshift/internal/notice"
	"github.com/keyshift/keyshift/internal/password"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/throttle"
)

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

// fixture is the email-change service over a real store and outbox; mail
// is read back from the outbox rows the transactions wrote.
type fixture struct {
	t        *testing.T
	db       *store.DB
	clock    *clock
	accounts *account.Service
	svc      *emailchange.Service
	outbox   *mail.Outbox
}

const origin = "https://id.example.com"

var client = account.Client{IP: "192.0.2.7", UserAgent: "test"}

func newFixture(t *testing.T, database string) *fixture {
	t.Helper()
	db, err := store.Open(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{now: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}
	accounts := &account.Service{
		Store:   db,
		Hasher:  password.NewHasher(password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, password.NewGate(2, 5*time.Second)),
		Limiter: &throttle.Limiter{Store: db, Now: c.Now}, IdleTimeout: 7 * 24 * time.Hour, AbsoluteTimeout: 30 * 24 * time.Hour,
		Now: c.Now,
	}
	outbox := mail.NewOutbox(db, c.Now)
	notices := notice.New(notice.Config{Origin: origin, Site: "Example"}, outbox, db, c.Now)
	svc := emailchange.New(emailchange.Config{Origin: origin, Site: "Example"}, db, accounts, outbox, notices)
	return &fixture{t: t, db: db, clock: c, accounts: accounts, svc: svc, outbox: outbox}
}

// member signs email up and returns the account and its session.
func (f *fixture) member(email string) *account.SigninResult {
	f.t.Helper()
	res, err := f.accounts.Signup(context.Background(), email, "correct horse battery staple", account.Client{IP: "198.51.100." + email[:1]})
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// user reloads the account.
func (f *fixture) user(id string) *account.User {
	f.t.Helper()
	u, err := f.db.FindUser(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

// mails returns the outbox rows of kind to to, oldest first.
func (f *fixture) mails(kind, to string) []mail.Mail {
	f.t.Helper()
	all, err := f.outbox.Find(context.Background(), mail.Filter{Limit: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []mail.Mail
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Kind == kind && strings.EqualFold(all[i].To, to) {
			out = append(out, all[i])
		}
	}
	return out
}

var tokenRE = regexp.MustCompile(`/email/(change|revert)\?token=([A-Za-z0-9_-]+)`)

// token returns the token of the last mail of kind to to, which must hold
// a link to path.
func (f *fixture) token(kind, to, path string) string {
	f.t.Helper()
	ms := f.mails(kind, to)
	if len(ms) == 0 {
		f.t.Fatalf("no %s mail to %s", kind, to)
	}
	m := tokenRE.FindStringSubmatch(ms[len(ms)-1].Text)
	if m == nil || "/email/"+m[1] != path {
		f.t.Fatalf("no %s link in the %s mail:\n%s", path, kind, ms[len(ms)-1].Text)
	}
	return m[2]
}

func (f *fixture) begin(u *account.User, email string) {
	f.t.Helper()
	if err := f.svc.Begin(context.Background(), u, email, client); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) sessions(userID string) int {
	f.t.Helper()
	list, err := f.db.ListSessions(context.Background(), userID)
	if err != nil {
		f.t.Fatal(err)
	}
	return len(list)
}

func (f *fixture) events(userID, typ string) int {
	f.t.Helper()
	evs, err := f.db.FindEvents(context.Background(), store.EventFilter{UserID: userID, Type: typ})
	if err != nil {
		f.t.Fatal(err)
	}
	return len(evs)
}

func wantCode(t *testing.T, what string, err error, code account.Code) {
	t.Helper()
	if !account.IsCode(err, code) {
		t.Fatalf("%s: %v, want %s", what, err, code)
	}
}

func TestChangeConfirmThenRevert(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		ctx := context.Background()
		ada := f.member("ada@example.com")
		if _, err := f.accounts.SigninPassword(ctx, "ada@example.com", "correct horse battery staple", client); err != nil {
			t.Fatal(err) // a second browser of Ada's
		}

		f.begin(&ada.User, " Nova@Example.org ")
		if n := len(f.mails("email_change", "ada@example.com")); n != 0 {
			t.Errorf("%d confirmation mails went to the old address", n)
		}
		token := f.token("email_change", "Nova@example.org", "/email/change")
		if u := f.user(ada.User.ID); u.Email != "ada@example.com" {
			t.Fatalf("the address changed before the link was used: %s", u.Email)
		}

		u, err := f.svc.Confirm(ctx, token, client)
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "Nova@example.org" || u.EmailKey != "nova@example.org" || !u.EmailVerified {
			t.Errorf("confirm returned %+v", u)
		}
		stored := f.user(ada.User.ID)
		if stored.Email != "Nova@example.org" || !stored.EmailVerified {
			t.Errorf("stored %+v", stored)
		}
		if _, err := f.db.FindUserByEmailKey(ctx, "ada@example.com"); !account.IsCode(err, account.ENotFound) {
			t.Errorf("the old address still finds an account: %v", err)
		}
		if f.events(ada.User.ID, emailchange.EventChanged) != 1 {
			t.Error("no email_changed event")
		}
		if n := f.sessions(ada.User.ID); n != 2 {
			t.Errorf("%d sessions after the change, want both kept", n)
		}

		notices := f.mails(notice.KindEmailChanged, "ada@example.com")
		if len(notices) != 1 {
			t.Fatalf("%d email-changed notices to the old address, want 1", len(notices))
		}
		if !strings.Contains(notices[0].Text, "N…@example.org") || strings.Contains(notices[0].Text, "Nova@") {
			t.Errorf("the notice must name the new address masked:\n%s", notices[0].Text)
		}
		revert := f.token(notice.KindEmailChanged, "ada@example.com", "/email/revert")

		// A second change is pending when the revert link is used: it dies.
		f.begin(stored, "third@example.net")
		pending := f.token("email_change", "third@example.net", "/email/change")

		f.clock.Advance(emailchange.RevertTTL - time.Minute)
		back, err := f.svc.Revert(ctx, revert, client)
		if err != nil {
			t.Fatal(err)
		}
		if back.Email != "ada@example.com" || !back.EmailVerified {
			t.Errorf("revert returned %+v", back)
		}
		if u := f.user(ada.User.ID); u.Email != "ada@example.com" || u.EmailKey != "ada@example.com" {
			t.Errorf("after revert the account has %s", u.Email)
		}
		if n := f.sessions(ada.User.ID); n != 0 {
			t.Errorf("%d sessions after revert, want none", n)
		}
		if f.events(ada.User.ID, emailchange.EventReverted) != 1 {
			t.Error("no revert event")
		}
		_, err = f.svc.Confirm(ctx, pending, client)
		wantCode(t, "a change pending at revert", err, account.EInvalidCode)
		_, err = f.svc.Revert(ctx, revert, client)
		wantCode(t, "a replayed revert link", err, account.EInvalidCode)
	})
}

func TestLinksAreSingleUseAndExpire(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		run   func(f *fixture, ada *account.SigninResult) error
		email string // the account's address afterwards
	}{
		{"refuses a replayed confirmation link", func(f *fixture, ada *account.SigninResult) error {
			f.begin(&ada.User, "new@example.org")
			tok := f.token("email_change", "new@example.org", "/email/change")
			if _, err := f.svc.Confirm(ctx, tok, client); err != nil {
				return err
			}
			_, err := f.svc.Confirm(ctx, tok, client)
			return err
		}, "new@example.org"},
		{"refuses a confirmation link after an hour", func(f *fixture, ada *account.SigninResult) error {
			f.begin(&ada.User, "new@example.org")
			tok := f.token("email_change", "new@example.org", "/email/change")
			f.clock.Advance(emailchange.DefaultTTL)
			_, err := f.svc.Confirm(ctx, tok, client)
			return err
		}, "ada@example.com"},
		{"refuses a revert link after 7 days", func(f *fixture, ada *account.SigninResult) error {
			f.begin(&ada.User, "new@example.org")
			if _, err := f.svc.Confirm(ctx, f.token("email_change", "new@example.org", "/email/change"), client); err != nil {
				return err
			}
			tok := f.token(notice.KindEmailChanged, "ada@example.com", "/email/revert")
			f.clock.Advance(emailchange.RevertTTL)
			_, err := f.svc.Revert(ctx, tok, client)
			return err
		}, "new@example.org"},
		{"refuses a confirmation link used as a revert link", func(f *fixture, ada *account.SigninResult) error {
			f.begin(&ada.User, "new@example.org")
			_, err := f.svc.Revert(ctx, f.token("email_change", "new@example.org", "/email/change"), client)
			return err
		}, "ada@example.com"},
		{"refuses the older of two confirmation links once the newer was used", func(f *fixture, ada *account.SigninResult) error {
			f.begin(&ada.User, "first@example.org")
			first := f.token("email_change", "first@example.org", "/email/change")
			f.begin(&ada.User, "second@example.org")
			if _, err := f.svc.Confirm(ctx, f.token("email_change", "second@example.org", "/email/change"), client); err != nil {
				return err
			}
			_, err := f.svc.Confirm(ctx, first, client)
			return err
		}, "second@example.org"},
		{"refuses garbage", func(f *fixture, ada *account.SigninResult) error {
			_, err := f.svc.Confirm(ctx, "not a token!", client)
			return err
		}, "ada@example.com"},
		{"refuses an unknown token", func(f *fixture, ada *account.SigninResult) error {
			_, err := f.svc.Revert(ctx, strings.Repeat("A", 43), client)
			return err
		}, "ada@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, database string) {
				t.Parallel()
				f := newFixture(t, database)
				ada := f.member("ada@example.com")
				wantCode(t, tc.name, tc.run(f, ada), account.EInvalidCode)
				if u := f.user(ada.User.ID); u.Email != tc.email {
					t.Errorf("the account has %s, want %s", u.Email, tc.email)
				}
			})
		})
	}
}

func TestConcurrentConfirmHasOneWinner(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		ada := f.member("ada@example.com")
		f.begin(&ada.User, "new@example.org")
		tok := f.token("email_change", "new@example.org", "/email/change")
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			wg.Go(func() { _, errs[i] = f.svc.Confirm(context.Background(), tok, client) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !account.IsCode(err, account.EInvalidCode):
				t.Errorf("a loser got %v, want invalid_code", err)
			}
		}
		if won != 1 {
			t.Errorf("%d confirmations won, want exactly 1", won)
		}
		if n := len(f.mails(notice.KindEmailChanged, "ada@example.com")); n != 1 {
			t.Errorf("%d notices, want 1", n)
		}
		if n := f.events(ada.User.ID, emailchange.EventChanged); n != 1 {
			t.Errorf("%d change events, want 1", n)
		}
	})
}

func TestTakenAddress(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, database)
		ada := f.member("ada@example.com")
		bob := f.member("bob@example.com")

		// Asking for Bob's address answers exactly as for a free one, and
		// mails the same confirmation: nothing tells that Bob exists.
		if err := f.svc.Begin(ctx, &ada.User, "Bob@example.com", client); err != nil {
			t.Fatalf("begin towards a taken address: %v", err)
		}
		taken := f.token("email_change", "Bob@example.com", "/email/change")
		_, err := f.svc.Confirm(ctx, taken, client)
		wantCode(t, "confirm towards a taken address", err, account.EEmailTaken)

		// Taken between the request and the link: refused, nothing changes.
		f.begin(&ada.User, "cleo@example.com")
		tok := f.token("email_change", "cleo@example.com", "/email/change")
		f.member("cleo@example.com")
		_, err = f.svc.Confirm(ctx, tok, client)
		wantCode(t, "confirm after the address was taken", err, account.EEmailTaken)
		if u := f.user(ada.User.ID); u.Email != "ada@example.com" {
			t.Errorf("Ada's address became %s", u.Email)
		}
		if u := f.user(bob.User.ID); u.Email != "bob@example.com" {
			t.Errorf("Bob's address became %s", u.Email)
		}
		if n := len(f.mails(notice.KindEmailChanged, "ada@example.com")); n != 0 {
			t.Errorf("%d notices for a refused change", n)
		}
		if n := f.events(ada.User.ID, emailchange.EventChanged); n != 0 {
			t.Errorf("%d change events for a refused change", n)
		}

		// The old address taken before the revert: refused, nothing changes.
		f.begin(&ada.User, "ada2@example.com")
		if _, err := f.svc.Confirm(ctx, f.token("email_change", "ada2@example.com", "/email/change"), client); err != nil {
			t.Fatal(err)
		}
		revert := f.token(notice.KindEmailChanged, "ada@example.com", "/email/revert")
		f.member("ada@example.com")
		_, err = f.svc.Revert(ctx, revert, client)
		wantCode(t, "revert to a taken address", err, account.EEmailTaken)
		if u := f.user(ada.User.ID); u.Email != "ada2@example.com" || f.sessions(ada.User.ID) == 0 {
			t.Errorf("a refused revert changed the account: %s, %d sessions", u.Email, f.sessions(ada.User.ID))
		}
	})
}

func TestRevertSurvivesASecondChange(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, database)
		ada := f.member("ada@example.com")
		// An intruder moves the account twice; the owner's link still works,
		// and the intruder's own revert link dies with it.
		f.begin(&ada.User, "b@evil.example")
		if _, err := f.svc.Confirm(ctx, f.token("email_change", "b@evil.example", "/email/change"), client); err != nil {
			t.Fatal(err)
		}
		f.begin(f.user(ada.User.ID), "c@evil.example")
		if _, err := f.svc.Confirm(ctx, f.token("email_change", "c@evil.example", "/email/change"), client); err != nil {
			t.Fatal(err)
		}
		intruders := f.token(notice.KindEmailChanged, "b@evil.example", "/email/revert")
		if _, err := f.svc.Revert(ctx, f.token(notice.KindEmailChanged, "ada@example.com", "/email/revert"), client); err != nil {
			t.Fatal(err)
		}
		if u := f.user(ada.User.ID); u.Email != "ada@example.com" {
			t.Fatalf("revert left %s", u.Email)
		}
		_, err := f.svc.Revert(ctx, intruders, client)
		wantCode(t, "the intruder's revert link", err, account.EInvalidCode)
	})
}

func TestBeginRefusals(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, database)
		ada := f.member("ada@example.com")
		for _, tc := range []struct {
			name, email string
			code        account.Code
			reason      string
		}{
			{"refuses the account's own address, in any case", "ADA@example.com", account.EInvalidEmail, "unchanged"},
			{"refuses a malformed address", "not-an-address", account.EInvalidEmail, "malformed"},
			{"refuses an empty address", " ", account.EInvalidEmail, "empty"},
		} {
			err := f.svc.Begin(ctx, &ada.User, tc.email, client)
			e, ok := err.(*account.Error)
			if !ok || e.Code != tc.code || e.Reason != tc.reason {
				t.Errorf("%s: %v, want %s/%s", tc.name, err, tc.code, tc.reason)
			}
		}
		// Every request counts against the account: the sixth waits.
		for i := range emailchange.PolicyBegin.Free {
			f.begin(&ada.User, "new"+string(rune('a'+i))+"@example.org")
		}
		err := f.svc.Begin(ctx, &ada.User, "one-more@example.org", client)
		wantCode(t, "the sixth request", err, account.EThrottled)
		if e := err.(*account.Error); e.RetryAfter <= 0 {
			t.Errorf("throttled without Retry-After: %+v", e)
		}
		if n := len(f.mails("email_change", "one-more@example.org")); n != 0 {
			t.Errorf("a throttled request sent %d mails", n)
		}
	})
}
