package change_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/change"
	"github.com/keyshift/keyshift/internal/email/notice"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/member"
	"github.com/keyshift/keyshift/internal/password"
	"github.com/keyshift/keyshift/internal/passwordauth"
	"github.com/keyshift/keyshift/internal/recovery"
	"github.com/keyshift/keyshift/internal/session"
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
	t          *testing.T
	db         *store.DB
	clock      *clock
	random     account.Random
	sessionSvc *session.Service
	members    *member.Service
	passwords  *passwordauth.Service
	svc        *change.Service
	outbox     *outbox.Outbox
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
	limiter := &throttle.Limiter{Store: db, Now: c.Now}
	audit := account.Audit{Store: db, Now: c.Now}
	sessions := session.New(session.Config{IdleTimeout: 7 * 24 * time.Hour, AbsoluteTimeout: 30 * 24 * time.Hour}, db,
		session.Deps{Audit: audit, Now: c.Now})
	members := member.New(db, db, member.Deps{Sessions: sessions, Audit: audit, Now: c.Now})
	passwords := passwordauth.New(passwordauth.Config{}, db, db, passwordauth.Deps{
		Hasher:   password.NewHasher(password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, password.NewGate(2, 5*time.Second)),
		Sessions: sessions, Members: members, Limiter: limiter, Audit: audit, Now: c.Now,
	})
	box := outbox.NewOutbox(db, c.Now)
	notices := notice.New(notice.Config{Origin: origin, Site: "Example"}, box, db, c.Now)
	svc := change.New(change.Config{Origin: origin, Site: "Example"}, db, db, change.Deps{Sessions: sessions, Members: members,
		Limiter: limiter, Audit: audit, Now: c.Now, Mailer: box, Notices: notices})
	return &fixture{t: t, db: db, clock: c, sessionSvc: sessions, members: members, passwords: passwords, svc: svc, outbox: box}
}

// member signs email up, proves the address (only a proven address may
// move) and returns the account with its session.
func (f *fixture) member(email string) *account.SessionWithUser {
	f.t.Helper()
	res, err := f.passwords.Signup(context.Background(), email, "correct horse battery staple", account.Client{IP: "198.51.100." + email[:1]})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.db.VerifyUserEmail(context.Background(), res.User.ID, f.clock.Now()); err != nil {
		f.t.Fatal(err)
	}
	return f.as(&account.SessionWithUser{Session: res.Session, User: res.User})
}

// as returns sw with its account as stored now.
func (f *fixture) as(sw *account.SessionWithUser) *account.SessionWithUser {
	f.t.Helper()
	return &account.SessionWithUser{Session: sw.Session, User: *f.user(sw.User.ID)}
}

// passkeyFresh is sw, reloaded, as though it had just stepped up with a
// passkey: for a member with passkeys the actions these tests run want one
// (SessionWithUser.RequireFresh), and what they test comes after.
func (f *fixture) passkeyFresh(sw *account.SessionWithUser) *account.SessionWithUser {
	out := f.as(sw)
	out.Session.SteppedUpAt, out.Session.SteppedUpMethod = f.clock.Now(), account.MethodPasskeyUsername
	return out
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
func (f *fixture) mails(kind, to string) []outbox.Mail {
	f.t.Helper()
	all, err := f.outbox.Find(context.Background(), outbox.Filter{Limit: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []outbox.Mail
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Kind == kind && strings.EqualFold(all[i].To, to) {
			out = append(out, all[i])
		}
	}
	return out
}

var tokenRE = regexp.MustCompile(`/email/(change|revert)\?token=([A-Za-z0-9_-]+)`)

// token returns the token of the last mail of kind to to that holds a
// link to path.
func (f *fixture) token(kind, to, path string) string {
	f.t.Helper()
	ms := f.mails(kind, to)
	if len(ms) == 0 {
		f.t.Fatalf("no %s mail to %s", kind, to)
	}
	for i := len(ms) - 1; i >= 0; i-- {
		if m := tokenRE.FindStringSubmatch(ms[i].Text); m != nil && "/email/"+m[1] == path {
			return m[2]
		}
	}
	f.t.Fatalf("no %s link in the %s mails:\n%s", path, kind, ms[len(ms)-1].Text)
	return ""
}

func (f *fixture) begin(sw *account.SessionWithUser, email string) {
	f.t.Helper()
	if err := f.svc.Begin(context.Background(), f.as(sw), email, client); err != nil {
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
		if _, err := f.passwords.SigninPassword(ctx, "ada@example.com", "correct horse battery staple", client); err != nil {
			t.Fatal(err) // a second browser of Ada's
		}
		if n := len(f.mails(notice.KindEmailChangeRequested, "ada@example.com")); n != 0 {
			t.Fatalf("%d change notices before any change was asked for", n)
		}

		f.begin(ada, " Nova@Example.org ")
		if n := len(f.mails("email_change", "ada@example.com")); n != 0 {
			t.Errorf("%d confirmation mails went to the old address", n)
		}
		if n := len(f.mails(notice.KindEmailChangeRequested, "ada@example.com")); n != 1 {
			t.Errorf("%d notices of the request to the current address, want 1 at once", n)
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
		if f.events(ada.User.ID, change.EventChanged) != 1 {
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
		f.begin(ada, "third@example.net")
		pending := f.token("email_change", "third@example.net", "/email/change")

		f.clock.Advance(change.RevertTTL - time.Minute)
		rv, err := f.svc.Revert(ctx, revert, client)
		if err != nil {
			t.Fatal(err)
		}
		if back := rv.User; back.Email != "ada@example.com" || !back.EmailVerified {
			t.Errorf("revert returned %+v", back)
		}
		if rv.Removed.Sessions != 2 {
			t.Errorf("the revert says it ended %d sessions, want 2", rv.Removed.Sessions)
		}
		if u := f.user(ada.User.ID); u.Email != "ada@example.com" || u.EmailKey != "ada@example.com" {
			t.Errorf("after revert the account has %s", u.Email)
		}
		if n := f.sessions(ada.User.ID); n != 0 {
			t.Errorf("%d sessions after revert, want none", n)
		}
		if f.events(ada.User.ID, change.EventReverted) != 1 {
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
		run   func(f *fixture, ada *account.SessionWithUser) error
		email string // the account's address afterwards
	}{
		{"refuses a replayed confirmation link", func(f *fixture, ada *account.SessionWithUser) error {
			f.begin(ada, "new@example.org")
			tok := f.token("email_change", "new@example.org", "/email/change")
			if _, err := f.svc.Confirm(ctx, tok, client); err != nil {
				return err
			}
			_, err := f.svc.Confirm(ctx, tok, client)
			return err
		}, "new@example.org"},
		{"refuses a confirmation link after an hour", func(f *fixture, ada *account.SessionWithUser) error {
			f.begin(ada, "new@example.org")
			tok := f.token("email_change", "new@example.org", "/email/change")
			f.clock.Advance(change.DefaultTTL)
			_, err := f.svc.Confirm(ctx, tok, client)
			return err
		}, "ada@example.com"},
		{"refuses a revert link after 7 days", func(f *fixture, ada *account.SessionWithUser) error {
			f.begin(ada, "new@example.org")
			if _, err := f.svc.Confirm(ctx, f.token("email_change", "new@example.org", "/email/change"), client); err != nil {
				return err
			}
			tok := f.token(notice.KindEmailChanged, "ada@example.com", "/email/revert")
			f.clock.Advance(change.RevertTTL)
			_, err := f.svc.Revert(ctx, tok, client)
			return err
		}, "new@example.org"},
		{"refuses a confirmation link used as a revert link", func(f *fixture, ada *account.SessionWithUser) error {
			f.begin(ada, "new@example.org")
			_, err := f.svc.Revert(ctx, f.token("email_change", "new@example.org", "/email/change"), client)
			return err
		}, "ada@example.com"},
		{"refuses the older of two confirmation links once the newer was used", func(f *fixture, ada *account.SessionWithUser) error {
			f.begin(ada, "first@example.org")
			first := f.token("email_change", "first@example.org", "/email/change")
			f.begin(ada, "second@example.org")
			if _, err := f.svc.Confirm(ctx, f.token("email_change", "second@example.org", "/email/change"), client); err != nil {
				return err
			}
			_, err := f.svc.Confirm(ctx, first, client)
			return err
		}, "second@example.org"},
		{"refuses garbage", func(f *fixture, ada *account.SessionWithUser) error {
			_, err := f.svc.Confirm(ctx, "not a token!", client)
			return err
		}, "ada@example.com"},
		{"refuses an unknown token", func(f *fixture, ada *account.SessionWithUser) error {
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
		f.begin(ada, "new@example.org")
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
		if n := f.events(ada.User.ID, change.EventChanged); n != 1 {
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
		if err := f.svc.Begin(ctx, ada, "Bob@example.com", client); err != nil {
			t.Fatalf("begin towards a taken address: %v", err)
		}
		taken := f.token("email_change", "Bob@example.com", "/email/change")
		_, err := f.svc.Confirm(ctx, taken, client)
		wantCode(t, "confirm towards a taken address", err, account.EEmailTaken)

		// Taken between the request and the link: refused, nothing changes.
		f.begin(ada, "cleo@example.com")
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
		if n := f.events(ada.User.ID, change.EventChanged); n != 0 {
			t.Errorf("%d change events for a refused change", n)
		}

	})
}

// TestTheOldAddressIsReservedUntilTheRevertLinkDies: after a change, the
// address the account left answers every way of taking it as a taken
// address does — a password sign-up, another member's change — until its
// revert link is used or expires; the account itself may come back.
func TestTheOldAddressIsReservedUntilTheRevertLinkDies(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, database)
		ada := f.member("ada@example.com")
		bob := f.member("bob@example.com")
		f.begin(ada, "thief@evil.example")
		if _, err := f.svc.Confirm(ctx, f.token("email_change", "thief@evil.example", "/email/change"), client); err != nil {
			t.Fatal(err)
		}

		_, err := f.passwords.Signup(ctx, "Ada@Example.com", "a squatter's long password", account.Client{IP: "203.0.113.9"})
		wantCode(t, "a sign-up for the old address", err, account.EEmailTaken)
		if e := err.(*account.Error); e.Field != "email" || e.Reason != "" {
			t.Errorf("the refusal %+v differs from a taken address's", e)
		}
		f.begin(bob, "ada@example.com")
		_, err = f.svc.Confirm(ctx, f.token("email_change", "ada@example.com", "/email/change"), client)
		wantCode(t, "another member's change to the old address", err, account.EEmailTaken)
		if u := f.user(bob.User.ID); u.Email != "bob@example.com" {
			t.Errorf("Bob moved to %s", u.Email)
		}
		if holder, err := f.db.FindEmailHolder(ctx, "ada@example.com", f.clock.Now()); err != nil || holder.ID != ada.User.ID {
			t.Errorf("the old address's holder is %v, %v; want Ada's account", holder, err)
		}

		// Once the revert link has expired, the address is free again.
		f.clock.Advance(change.RevertTTL)
		if _, err := f.passwords.Signup(ctx, "ada@example.com", "a newcomer's long password", account.Client{IP: "203.0.113.10"}); err != nil {
			t.Errorf("a sign-up after the revert window: %v", err)
		}
	})
}

// TestARevertCleansUpEvenWhenTheOldAddressIsTaken: when the reserved old
// address was given away all the same (an operator's import racing the
// change, say), the revert still ends every session and voids every link,
// then answers old_in_use; the account keeps its address.
func TestARevertCleansUpEvenWhenTheOldAddressIsTaken(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, database)
		ada := f.member("ada@example.com")
		f.begin(ada, "ada2@example.com")
		if _, err := f.svc.Confirm(ctx, f.token("email_change", "ada2@example.com", "/email/change"), client); err != nil {
			t.Fatal(err)
		}
		revert := f.token(notice.KindEmailChanged, "ada@example.com", "/email/revert")
		f.begin(ada, "ada3@example.com")
		pending := f.token("email_change", "ada3@example.com", "/email/change")
		// The bulk insert of an import checks no reservation itself (its
		// lookups do): the one way left to take the address.
		other := &account.User{ID: "imported-1", Email: "ada@example.com", EmailKey: "ada@example.com", WebAuthnID: []byte("imported-1"),
			CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now(), Origin: account.OriginImport}
		if n, err := f.db.InsertUsers(ctx, "run-1", []*account.User{other}, false); err != nil || n != 1 {
			t.Fatalf("InsertUsers: %d, %v", n, err)
		}

		rv, err := f.svc.Revert(ctx, revert, client)
		wantCode(t, "revert to a taken address", err, account.EEmailTaken)
		if e := err.(*account.Error); e.Reason != "old_in_use" {
			t.Errorf("reason %q, want old_in_use", e.Reason)
		}
		if rv == nil || rv.Removed.Sessions != 1 {
			t.Fatalf("the refused revert reports %+v, want one session ended", rv)
		}
		if u := f.user(ada.User.ID); u.Email != "ada2@example.com" {
			t.Errorf("the account moved to %s", u.Email)
		}
		if n := f.sessions(ada.User.ID); n != 0 {
			t.Errorf("%d sessions after the refused revert, want none", n)
		}
		_, err = f.svc.Confirm(ctx, pending, client)
		wantCode(t, "a change pending at the refused revert", err, account.EInvalidCode)
		_, err = f.svc.Revert(ctx, revert, client)
		wantCode(t, "the used revert link", err, account.EInvalidCode)
		if n := len(f.mails(notice.KindEmailChangeReverted, "ada@example.com")); n != 1 {
			t.Errorf("%d revert notices to the old address, want 1", n)
		}
		if evs, err := f.db.FindEvents(ctx, store.EventFilter{UserID: ada.User.ID, Type: change.EventReverted}); err != nil ||
			len(evs) != 1 || evs[0].Outcome != account.OutcomeFailure {
			t.Errorf("revert events %+v, %v; want one failure", evs, err)
		}
	})
}

// TestARevertUndoesWhatWasAddedSinceTheChangeBegan: passkeys and recovery
// codes added, and a password set or changed, since the session that asked
// for the change signed in are gone after the revert; the password comes
// back to the one from before; what the owner had before stays.
func TestARevertUndoesWhatWasAddedSinceTheChangeBegan(t *testing.T) {
	ctx := context.Background()
	const ownersPassword, thiefsPassword = "correct horse battery staple", "the thief's own passphrase"
	for _, tc := range []struct {
		name string
		// act runs with the thief's fresh session, between sign-in and
		// the change (before) or after the change was confirmed (after).
		before, after func(f *fixture, thief *account.SessionWithUser)
		password      string // what the revert says of the password
		signsIn       string // the password that works after the revert, "" for none
	}{
		{"restores a password changed after the change", nil, func(f *fixture, thief *account.SessionWithUser) {
			f.changePassword(thief, ownersPassword, thiefsPassword)
		}, account.PasswordRestored, ownersPassword},
		{"removes a password changed between sign-in and the change", func(f *fixture, thief *account.SessionWithUser) {
			f.changePassword(thief, ownersPassword, thiefsPassword)
		}, nil, account.PasswordRemoved, ""},
		{"restores a password removed after the change", nil, func(f *fixture, thief *account.SessionWithUser) {
			if err := f.db.DeletePasswordCredential(ctx, thief.User.ID); err != nil {
				f.t.Fatal(err)
			}
		}, account.PasswordRestored, ownersPassword},
		{"leaves an untouched password", nil, nil, "", ownersPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, database string) {
				t.Parallel()
				f := newFixture(t, database)
				ada := f.member("ada@example.com")
				old := f.addPasskey(ada, "Ada's phone")
				f.addRecoveryCodes(ada)
				f.clock.Advance(time.Hour)
				thief, err := f.passwords.SigninPassword(ctx, "ada@example.com", ownersPassword, client)
				if err != nil {
					t.Fatal(err)
				}
				tsw := f.as(&account.SessionWithUser{Session: thief.Session, User: thief.User})
				f.clock.Advance(time.Minute)
				f.addPasskey(tsw, "thief's key")
				// The thief confirms with the key they added (restricted
				// mode holds such a key on probation; here the revert is
				// what is tested).
				tsw = f.passkeyFresh(tsw)
				f.addRecoveryCodes(tsw)
				if tc.before != nil {
					tc.before(f, tsw)
				}
				f.begin(tsw, "thief@evil.example")
				if _, err := f.svc.Confirm(ctx, f.token("email_change", "thief@evil.example", "/email/change"), client); err != nil {
					t.Fatal(err)
				}
				f.clock.Advance(time.Minute)
				late := f.addPasskey(tsw, "thief's second key")
				if tc.after != nil {
					tc.after(f, tsw)
				}

				rv, err := f.svc.Revert(ctx, f.token(notice.KindEmailChanged, "ada@example.com", "/email/revert"), client)
				if err != nil {
					t.Fatal(err)
				}
				if got := rv.Removed; got.Password != tc.password || !slices.Equal(slices.Sorted(slices.Values(got.Passkeys)), []string{"thief's key", "thief's second key"}) ||
					got.RecoveryCodes != recovery.CodeCount || got.Sessions < 1 {
					t.Errorf("the revert removed %+v", got)
				}
				if n := f.sessions(ada.User.ID); n != 0 {
					t.Errorf("%d sessions after the revert", n)
				}
				pks, err := f.db.ListPasskeys(ctx, ada.User.ID)
				if err != nil || len(pks) != 1 || pks[0].ID != old.ID {
					t.Errorf("passkeys after the revert: %+v, %v; want only Ada's phone", pks, err)
				}
				if _, _, err := f.db.FindPasskeyWithUser(ctx, late.CredentialID); !account.IsCode(err, account.ENotFound) {
					t.Errorf("the thief's passkey still signs in: %v", err)
				}
				if n, err := f.db.CountRecoveryCodes(ctx, ada.User.ID); err != nil || n != 0 {
					t.Errorf("%d recovery codes after the revert (%v): the thief's set must go, and had replaced Ada's", n, err)
				}
				for _, pw := range []string{ownersPassword, thiefsPassword} {
					_, err := f.passwords.SigninPassword(ctx, "ada@example.com", pw, account.Client{IP: "198.51.100.77"})
					if works := err == nil; works != (pw == tc.signsIn) {
						t.Errorf("after the revert %q signs in: %v (%v)", pw, works, err)
					}
				}
				u := f.user(ada.User.ID)
				if u.DeviceEpoch == 0 {
					t.Error("the revert left the device epoch: the thief's device cookie stays trusted")
				}
				m := f.mails(notice.KindEmailChangeReverted, "ada@example.com")
				if len(m) != 1 || !strings.Contains(m[0].Text, `"thief's key"`) || !strings.Contains(m[0].Text, "10 recovery codes") {
					t.Errorf("the revert notice does not say what was removed: %+v", m)
				}
			})
		})
	}
}

// changePassword changes sw's member's password, as the account page does.
func (f *fixture) changePassword(sw *account.SessionWithUser, current, next string) {
	f.t.Helper()
	if _, err := f.passwords.ChangePassword(context.Background(), f.as(sw), current, next, client); err != nil {
		f.t.Fatal(err)
	}
}

// addPasskey stores a passkey named name for sw's member, made now.
func (f *fixture) addPasskey(sw *account.SessionWithUser, name string) *account.Credential {
	f.t.Helper()
	now := f.clock.Now()
	id := account.HashToken(name + sw.User.ID)
	c := &account.Credential{ID: f.random.NewID(), UserID: sw.User.ID, Type: account.CredentialWebAuthn, CredentialID: id,
		PublicKey: id, Name: name, CreatedAt: now, UpdatedAt: now}
	if err := f.db.CreateCredential(context.Background(), c); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// addRecoveryCodes replaces sw's member's recovery codes with a new set,
// made now.
func (f *fixture) addRecoveryCodes(sw *account.SessionWithUser) {
	f.t.Helper()
	hs := make([]account.RecoveryCodeHash, recovery.CodeCount)
	for i := range hs {
		hs[i] = account.RecoveryCodeHash{Hash: account.HashToken(f.random.NewToken()), PepperID: "test"}
	}
	if err := f.db.ReplaceRecoveryCodes(context.Background(), sw.User.ID, hs, f.clock.Now()); err != nil {
		f.t.Fatal(err)
	}
}

// TestAChangeNeedsTheSessionThatAskedAndTheMembersCleanUpsVoidIt: a
// confirmation link works only while the session that asked lives, and
// every clean-up a member makes after a theft voids it (T14).
func TestAChangeNeedsTheSessionThatAskedAndTheMembersCleanUpsVoidIt(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		cleanUp func(f *fixture, owner, thief *account.SessionWithUser)
	}{
		{"the asking session signed out", func(f *fixture, owner, thief *account.SessionWithUser) {
			if err := f.sessionSvc.Signout(ctx, &thief.Session, client); err != nil {
				f.t.Fatal(err)
			}
		}},
		{"the asking session revoked from another browser", func(f *fixture, owner, thief *account.SessionWithUser) {
			if err := f.sessionSvc.Revoke(ctx, owner.User.ID, thief.Session.ID, client); err != nil {
				f.t.Fatal(err)
			}
		}},
		{"sign out everywhere", func(f *fixture, owner, thief *account.SessionWithUser) {
			if _, err := f.members.RevokeAllSessions(ctx, owner.User.ID, client); err != nil {
				f.t.Fatal(err)
			}
		}},
		{"a password change, even one keeping the thief's session", func(f *fixture, owner, thief *account.SessionWithUser) {
			f.changePassword(thief, "correct horse battery staple", "a brand new passphrase")
		}},
		{"a password removal", func(f *fixture, owner, thief *account.SessionWithUser) {
			f.addPasskey(owner, "Ada's phone")
			if _, err := f.passwords.RemovePassword(ctx, f.passkeyFresh(thief), client); err != nil {
				f.t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, database string) {
				t.Parallel()
				f := newFixture(t, database)
				owner := f.member("ada@example.com")
				thief, err := f.passwords.SigninPassword(ctx, "ada@example.com", "correct horse battery staple", client)
				if err != nil {
					t.Fatal(err)
				}
				tsw := &account.SessionWithUser{Session: thief.Session, User: thief.User}
				f.begin(tsw, "thief@evil.example")
				tc.cleanUp(f, owner, tsw)
				_, err = f.svc.Confirm(ctx, f.token("email_change", "thief@evil.example", "/email/change"), client)
				wantCode(t, "the confirmation after the clean-up", err, account.EInvalidCode)
				if u := f.user(owner.User.ID); u.Email != "ada@example.com" {
					t.Errorf("the account moved to %s", u.Email)
				}
			})
		})
	}
}

// TestTheCancelLinkVoidsTheChangeAndSignsEveryoneOut: the current address
// is told of a requested change at once; its cancel link voids every
// pending change and ends every session, and works once.
func TestTheCancelLinkVoidsTheChangeAndSignsEveryoneOut(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, database)
		ada := f.member("ada@example.com")
		f.begin(ada, "thief@evil.example")
		f.begin(ada, "other@evil.example")
		ms := f.mails(notice.KindEmailChangeRequested, "ada@example.com")
		if len(ms) != 2 || !strings.Contains(ms[0].Text, "t…@evil.example") || strings.Contains(ms[0].Text, "thief@") {
			t.Fatalf("notices of the requests: %+v", ms)
		}
		cancel := cancelRE.FindStringSubmatch(ms[0].Text)
		if cancel == nil {
			t.Fatalf("no cancel link in:\n%s", ms[0].Text)
		}
		u, err := f.svc.Cancel(ctx, cancel[1], client)
		if err != nil || u.Email != "ada@example.com" {
			t.Fatalf("cancel: %+v, %v", u, err)
		}
		for _, to := range []string{"thief@evil.example", "other@evil.example"} {
			_, err := f.svc.Confirm(ctx, f.token("email_change", to, "/email/change"), client)
			wantCode(t, "a cancelled change to "+to, err, account.EInvalidCode)
		}
		if n := f.sessions(ada.User.ID); n != 0 {
			t.Errorf("%d sessions after the cancel, want none", n)
		}
		if f.events(ada.User.ID, change.EventCancelled) != 1 {
			t.Error("no cancel event")
		}
		_, err = f.svc.Cancel(ctx, cancel[1], client)
		wantCode(t, "a replayed cancel link", err, account.EInvalidCode)
		_, err = f.svc.Cancel(ctx, "garbage!", client)
		wantCode(t, "a garbage cancel link", err, account.EInvalidCode)
	})
}

var cancelRE = regexp.MustCompile(`/email/cancel\?token=([A-Za-z0-9_-]+)`)

// TestAnUnverifiedAccountCannotMove: until its address is proven an account
// may be a stranger's sign-up, so it cannot change its address (T3).
func TestAnUnverifiedAccountCannotMove(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		res, err := f.passwords.Signup(context.Background(), "squat@example.com", "correct horse battery staple", client)
		if err != nil {
			t.Fatal(err)
		}
		err = f.svc.Begin(context.Background(), &account.SessionWithUser{Session: res.Session, User: res.User}, "mine@evil.example", client)
		wantCode(t, "a change of an unverified account", err, account.EEmailUnverified)
		if n := len(f.mails("email_change", "mine@evil.example")); n != 0 {
			t.Errorf("%d mails for a refused change", n)
		}
	})
}

// TestARevertAndAConfirmationRacing: the thief confirms a second change
// while the owner reverts the first. Whichever runs first, the other sees
// its result: the account ends at the owner's address with no link, no
// session and no revert link the thief could use.
func TestARevertAndAConfirmationRacing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, database)
		ada := f.member("ada@example.com")
		for round := range 8 {
			// A day on: the throttle of change requests forgot the last round.
			f.clock.Advance(25 * time.Hour)
			second := fmt.Sprintf("second%d@evil.example", round)
			first := fmt.Sprintf("first%d@evil.example", round)
			thief, err := f.passwords.SigninPassword(ctx, "ada@example.com", "correct horse battery staple", client)
			if err != nil {
				t.Fatal(err)
			}
			tsw := &account.SessionWithUser{Session: thief.Session, User: thief.User}
			f.begin(tsw, first)
			if _, err := f.svc.Confirm(ctx, f.token("email_change", first, "/email/change"), client); err != nil {
				t.Fatal(err)
			}
			revert := f.token(notice.KindEmailChanged, "ada@example.com", "/email/revert")
			f.begin(tsw, second)
			confirm := f.token("email_change", second, "/email/change")

			var wg sync.WaitGroup
			var revertErr, confirmErr error
			wg.Go(func() { _, revertErr = f.svc.Revert(ctx, revert, client) })
			wg.Go(func() { _, confirmErr = f.svc.Confirm(ctx, confirm, client) })
			wg.Wait()
			if revertErr != nil {
				t.Fatalf("round %d: the revert failed: %v", round, revertErr)
			}
			if confirmErr != nil && !account.IsCode(confirmErr, account.EInvalidCode) {
				t.Fatalf("round %d: the confirmation failed with %v, want success or invalid_code", round, confirmErr)
			}
			if u := f.user(ada.User.ID); u.Email != "ada@example.com" {
				t.Fatalf("round %d: the account ended at %s", round, u.Email)
			}
			if n := f.sessions(ada.User.ID); n != 0 {
				t.Fatalf("round %d: %d sessions survived", round, n)
			}
			if rs, err := f.db.FindEmailReservations(ctx, ada.User.ID, f.clock.Now()); err != nil || len(rs) != 0 {
				t.Fatalf("round %d: revert links survived: %+v, %v", round, rs, err)
			}
			for _, m := range f.mails(notice.KindEmailChanged, first) {
				tok := tokenRE.FindStringSubmatch(m.Text)
				if _, err := f.svc.Revert(ctx, tok[2], client); !account.IsCode(err, account.EInvalidCode) {
					t.Fatalf("round %d: the thief's revert link works: %v", round, err)
				}
			}
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
		f.begin(ada, "b@evil.example")
		if _, err := f.svc.Confirm(ctx, f.token("email_change", "b@evil.example", "/email/change"), client); err != nil {
			t.Fatal(err)
		}
		f.begin(ada, "c@evil.example")
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
			err := f.svc.Begin(ctx, ada, tc.email, client)
			e, ok := err.(*account.Error)
			if !ok || e.Code != tc.code || e.Reason != tc.reason {
				t.Errorf("%s: %v, want %s/%s", tc.name, err, tc.code, tc.reason)
			}
		}
		// Every request counts against the account: the sixth waits.
		for i := range change.PolicyBegin.Free {
			f.begin(ada, "new"+string(rune('a'+i))+"@example.org")
		}
		err := f.svc.Begin(ctx, ada, "one-more@example.org", client)
		wantCode(t, "the sixth request", err, account.EThrottled)
		if e := err.(*account.Error); e.RetryAfter <= 0 {
			t.Errorf("throttled without Retry-After: %+v", e)
		}
		if n := len(f.mails("email_change", "one-more@example.org")); n != 0 {
			t.Errorf("a throttled request sent %d mails", n)
		}
	})
}
