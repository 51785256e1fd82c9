package support_test

import (
	"context"
	"crypto/rand"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/change"
	"github.com/keyshift/keyshift/internal/email/notice"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/member"
	"github.com/keyshift/keyshift/internal/session"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/support"
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

const origin = "https://id.example.com"

var browser = account.Client{IP: "192.0.2.7", UserAgent: "test"}

// fixture is support recovery over a real store and outbox, with the email
// change service beside it (a recovery must outlive its revert links);
// mail is read back from the outbox rows the transactions wrote.
type fixture struct {
	t        *testing.T
	db       *store.DB
	clock    *clock
	sessions *session.Service
	changes  *change.Service
	svc      *support.Service
	outbox   *outbox.Outbox
}

func newFixture(t *testing.T, database string) *fixture {
	t.Helper()
	db, err := store.Open(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{now: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}
	audit := account.Audit{Store: db, Now: c.Now}
	sessions := session.New(session.Config{IdleTimeout: 7 * 24 * time.Hour, AbsoluteTimeout: 30 * 24 * time.Hour}, db,
		session.Deps{Audit: audit, Now: c.Now})
	members := member.New(db, db, member.Deps{Sessions: sessions, Audit: audit, Now: c.Now})
	box := outbox.NewOutbox(db, c.Now)
	notices := notice.New(notice.Config{Origin: origin, Site: "Example"}, box, db, c.Now)
	changes := change.New(change.Config{Origin: origin, Site: "Example"}, db, db, change.Deps{Sessions: sessions, Members: members,
		Limiter: &throttle.Limiter{Store: db, Now: c.Now}, Audit: audit, Now: c.Now, Mailer: box, Notices: notices})
	svc := support.New(support.Config{Origin: origin, Site: "Example"}, db, db, support.Deps{Members: members, Sessions: sessions,
		Notices: notices, Mailer: box, Audit: audit, Now: c.Now})
	return &fixture{t: t, db: db, clock: c, sessions: sessions, changes: changes, svc: svc, outbox: box}
}

// member stores an account at email — verified or not — with a password,
// a passkey, two recovery codes and a session, and returns it with the
// session.
func (f *fixture) member(email string, verified bool) (*account.User, *account.SigninResult) {
	f.t.Helper()
	ctx := context.Background()
	now := f.clock.Now()
	_, key, err := account.NormalizeEmail(email)
	if err != nil {
		f.t.Fatal(err)
	}
	id := rand.Text()
	u := &account.User{ID: "u-" + id, Email: email, EmailKey: key, EmailVerified: verified, WebAuthnID: []byte(id),
		CreatedAt: now, UpdatedAt: now, Origin: account.OriginSignup}
	if err := f.db.CreateUser(ctx, u); err != nil {
		f.t.Fatal(err)
	}
	for _, c := range []*account.Credential{
		{ID: "p-" + id, UserID: u.ID, Type: account.CredentialPassword, PasswordHash: "$argon2id$old", PasswordFormat: "argon2id", CreatedAt: now, UpdatedAt: now},
		{ID: "k-" + id, UserID: u.ID, Type: account.CredentialWebAuthn, CredentialID: []byte("cred-" + id), PublicKey: []byte("key"),
			Name: "Old phone", CreatedAt: now, UpdatedAt: now},
	} {
		if err := f.db.CreateCredential(ctx, c); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := f.db.ReplaceRecoveryCodes(ctx, u.ID, []account.RecoveryCodeHash{{Hash: []byte("c1-" + id)}, {Hash: []byte("c2-" + id)}}, now); err != nil {
		f.t.Fatal(err)
	}
	res, err := f.sessions.StartFirst(ctx, u, account.MethodPassword, browser)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.user(u.ID), res
}

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

var tokenRE = regexp.MustCompile(`(/[a-z]+/[a-z]+)\?token=([A-Za-z0-9_-]+)`)

// token returns the token of path's link in the last mail of kind to to.
func (f *fixture) token(kind, to, path string) string {
	f.t.Helper()
	ms := f.mails(kind, to)
	if len(ms) == 0 {
		f.t.Fatalf("no %s mail to %s", kind, to)
	}
	for _, m := range tokenRE.FindAllStringSubmatch(ms[len(ms)-1].Text, -1) {
		if m[1] == path {
			return m[2]
		}
	}
	f.t.Fatalf("no %s link in the %s mail:\n%s", path, kind, ms[len(ms)-1].Text)
	return ""
}

func (f *fixture) begin(user, newEmail string) *support.Begun {
	f.t.Helper()
	b, err := f.svc.Begin(context.Background(), support.Request{User: user, NewEmail: newEmail, Evidence: "passport seen on a video call", By: "cli:sam"})
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) mailDue() int {
	f.t.Helper()
	n, err := f.svc.MailDue(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) events(userID, typ string) int {
	f.t.Helper()
	evs, err := f.db.FindEvents(context.Background(), store.EventFilter{UserID: userID, Type: typ})
	if err != nil {
		f.t.Fatal(err)
	}
	return len(evs)
}

func (f *fixture) recovery(id string) *support.Recovery {
	f.t.Helper()
	r, err := f.db.FindSupportRecovery(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func wantCode(t *testing.T, what string, err error, code account.Code) {
	t.Helper()
	if !account.IsCode(err, code) {
		t.Fatalf("%s: %v, want %s", what, err, code)
	}
}

// TestARecoveryWaitsThenMovesTheAccountAndRemovesEveryCredential: the whole
// way, with an injectable clock. Begin tells the current address and the
// address an earlier email change left (its revert link still live), and
// every session sees it pending; nothing is mailed to the new address
// before the wait ends, and the link once after it; its use removes every
// credential, ends every session, moves the account, tells the addresses
// it leaves and signs the member in; the earlier revert link can no longer
// undo it, and the completion link works once.
func TestARecoveryWaitsThenMovesTheAccountAndRemovesEveryCredential(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		ctx := context.Background()
		ada, res := f.member("ada@example.com", true)
		// Earlier, the account moved from ada@example.com to ada@work.example
		// (a thief, maybe): the old address holds a revert link.
		sw := &account.SessionWithUser{Session: res.Session, User: *ada}
		sw.Session.SteppedUpAt, sw.Session.SteppedUpMethod = f.clock.Now(), account.MethodPasskeyUsername
		if err := f.changes.Begin(ctx, sw, "ada@work.example", browser); err != nil {
			t.Fatal(err)
		}
		if _, err := f.changes.Confirm(ctx, f.token("email_change", "ada@work.example", "/email/change"), browser); err != nil {
			t.Fatal(err)
		}
		revert := f.token(notice.KindEmailChanged, "ada@example.com", "/email/revert")
		if _, err := f.sessions.StartFirst(ctx, f.user(ada.ID), account.MethodPassword, browser); err != nil {
			t.Fatal(err) // a second browser
		}

		b := f.begin("ADA@work.example", "ada.new@example.org")
		if b.Notified != 2 || b.Sessions != 2 || b.Recovery.State != support.StatePending || b.Recovery.CurrentEmail != "ada@work.example" {
			t.Fatalf("Begin = %+v: want 2 addresses told, 2 sessions, pending", b)
		}
		if !b.Recovery.ReadyAt.Equal(f.clock.Now().Add(support.DefaultWait)) {
			t.Errorf("ready at %v, want 72 h after %v", b.Recovery.ReadyAt, f.clock.Now())
		}
		for _, to := range []string{"ada@work.example", "ada@example.com"} {
			ms := f.mails(notice.KindSupportRecoveryRequested, to)
			if len(ms) != 1 {
				t.Fatalf("%d notices to %s, want 1", len(ms), to)
			}
			if !strings.Contains(ms[0].Text, "/support/cancel?token=") || !strings.Contains(ms[0].Text, "a…@example.org") {
				t.Fatalf("the notice to %s:\n%s", to, ms[0].Text)
			}
		}
		if p, err := f.svc.Pending(ctx, ada.ID); err != nil || p == nil || p.ID != b.Recovery.ID {
			t.Fatalf("Pending = %+v, %v", p, err)
		}
		if f.events(ada.ID, support.EventRequested) != 1 {
			t.Error("no event for the request")
		}

		f.clock.Advance(support.DefaultWait - time.Minute)
		if n := f.mailDue(); n != 0 || len(f.mails("support_recovery", "ada.new@example.org")) != 0 {
			t.Fatalf("a link went out %d times before the wait ended", n)
		}
		f.clock.Advance(time.Minute)
		if n := f.mailDue(); n != 1 {
			t.Fatalf("MailDue after the wait = %d, want 1", n)
		}
		if n := f.mailDue(); n != 0 || len(f.mails("support_recovery", "ada.new@example.org")) != 1 {
			t.Fatalf("the link went out again (%d)", n)
		}
		token := f.token("support_recovery", "ada.new@example.org", "/support/recover")

		done, err := f.svc.Complete(ctx, token, browser)
		if err != nil {
			t.Fatal(err)
		}
		if done.Removed.Password != account.PasswordRemoved || len(done.Removed.Passkeys) != 1 || done.Removed.RecoveryCodes != 2 || done.Removed.Sessions != 2 {
			t.Errorf("removed %+v: want the password, the passkey, 2 codes, 2 sessions", done.Removed)
		}
		u := f.user(ada.ID)
		if u.Email != "ada.new@example.org" || !u.EmailVerified || u.HasPassword || u.PasskeyCount != 0 {
			t.Errorf("after: %+v", u)
		}
		if n, _ := f.db.CountRecoveryCodes(ctx, ada.ID); n != 0 {
			t.Errorf("%d recovery codes left", n)
		}
		list, err := f.db.ListSessions(ctx, ada.ID)
		if err != nil || len(list) != 1 || list[0].ID != done.Signin.Session.ID || list[0].AuthMethod != account.MethodSupportRecovery {
			t.Errorf("sessions after: %+v, %v; want the recovery's own", list, err)
		}
		if done.Recovery.State != support.StateCompleted || done.Recovery.EndedBy != support.ByMember {
			t.Errorf("recovery after: %+v", done.Recovery)
		}
		for _, to := range []string{"ada@work.example", "ada@example.com"} {
			if len(f.mails(notice.KindSupportRecoveryCompleted, to)) != 1 {
				t.Errorf("%s was not told of the completion", to)
			}
		}
		if f.events(ada.ID, support.EventCompleted) != 1 || f.events(ada.ID, account.EventSignin) == 0 {
			t.Error("no events for the completion")
		}
		_, err = f.changes.Revert(ctx, revert, browser)
		wantCode(t, "the revert link of before", err, account.EInvalidCode)
		if u := f.user(ada.ID); u.Email != "ada.new@example.org" {
			t.Errorf("the old revert link moved the account back to %s", u.Email)
		}
		_, err = f.svc.Complete(ctx, token, browser)
		wantCode(t, "the completion link again", err, account.EInvalidCode)
		if p, err := f.svc.Pending(ctx, ada.ID); err != nil || p != nil {
			t.Errorf("still pending: %+v, %v", p, err)
		}
	})
}

// TestEachWayToCancel: the notice's link (no session), a session's banner,
// and the operator each end a pending recovery — before or after its link
// was mailed —, which then mails nothing and cannot complete; a cancel
// link works once.
func TestEachWayToCancel(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		ctx := context.Background()
		for _, tc := range []struct {
			name        string
			afterMail   bool
			by          string
			cancel      func(u *account.User, res *account.SigninResult, b *support.Begun) (*support.Recovery, error)
			cancelTwice func(u *account.User, res *account.SigninResult, b *support.Begun) error
		}{
			{name: "link", by: support.ByLink, cancel: func(u *account.User, _ *account.SigninResult, _ *support.Begun) (*support.Recovery, error) {
				return f.svc.CancelByLink(ctx, f.token(notice.KindSupportRecoveryRequested, u.Email, "/support/cancel"), account.Client{})
			}, cancelTwice: func(u *account.User, _ *account.SigninResult, _ *support.Begun) error {
				_, err := f.svc.CancelByLink(ctx, f.token(notice.KindSupportRecoveryRequested, u.Email, "/support/cancel"), account.Client{})
				return err
			}},
			{name: "session after the link went out", afterMail: true, by: support.BySession,
				cancel: func(u *account.User, res *account.SigninResult, _ *support.Begun) (*support.Recovery, error) {
					return f.svc.CancelBySession(ctx, &account.SessionWithUser{Session: res.Session, User: *u}, browser)
				}, cancelTwice: func(u *account.User, res *account.SigninResult, _ *support.Begun) error {
					_, err := f.svc.CancelBySession(ctx, &account.SessionWithUser{Session: res.Session, User: *u}, browser)
					return err
				}},
			{name: "operator", by: "cli:kim", cancel: func(_ *account.User, _ *account.SigninResult, b *support.Begun) (*support.Recovery, error) {
				return f.svc.CancelByOperator(ctx, b.Recovery.ID, "cli:kim")
			}, cancelTwice: func(_ *account.User, _ *account.SigninResult, b *support.Begun) error {
				_, err := f.svc.CancelByOperator(ctx, b.Recovery.ID, "cli:kim")
				return err
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				local := strings.ReplaceAll(tc.name, " ", ".")
				u, res := f.member(local+"@example.com", true)
				b := f.begin(u.Email, local+"@new.example")
				f.clock.Advance(support.DefaultWait)
				if tc.afterMail && f.mailDue() == 0 {
					t.Fatal("no link went out")
				}
				r, err := tc.cancel(u, res, b)
				if err != nil {
					t.Fatal(err)
				}
				if r.State != support.StateCancelled || r.EndedBy != tc.by {
					t.Errorf("after the cancel: %+v", r)
				}
				if f.events(u.ID, support.EventCancelled) != 1 {
					t.Error("no event for the cancel")
				}
				if n := f.mailDue(); n != 0 {
					t.Errorf("%d links went out after the cancel", n)
				}
				if tc.afterMail {
					_, err := f.svc.Complete(ctx, f.token("support_recovery", local+"@new.example", "/support/recover"), browser)
					wantCode(t, "the completion link after the cancel", err, account.EInvalidCode)
				}
				if err := tc.cancelTwice(u, res, b); err == nil {
					t.Error("a second cancel worked")
				}
				if got := f.user(u.ID); got.Email != u.Email || got.PasskeyCount != 1 || !got.HasPassword {
					t.Errorf("the account changed: %+v", got)
				}
			})
		}
	})
}

// TestTheCompletionLinkWorksOnceUnderConcurrency: of many requests racing
// with one completion link, one completes and the rest are invalid_code.
func TestTheCompletionLinkWorksOnceUnderConcurrency(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		u, _ := f.member("race@example.com", true)
		f.begin(u.Email, "race@new.example")
		f.clock.Advance(support.DefaultWait)
		f.mailDue()
		token := f.token("support_recovery", "race@new.example", "/support/recover")
		const n = 8
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				_, err := f.svc.Complete(context.Background(), token, browser)
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
			case !account.IsCode(err, account.EInvalidCode):
				t.Errorf("a loser: %v, want invalid_code", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d completions, want 1", ok)
		}
		list, _ := f.db.ListSessions(context.Background(), u.ID)
		if len(list) != 1 {
			t.Errorf("%d sessions after, want the winner's", len(list))
		}
	})
}

// TestAnUnusedLinkExpiresAndTheRecoveryEnds: the completion link works for
// LinkTTL; then it is dead and the janitor cancels the recovery ("expired").
func TestAnUnusedLinkExpiresAndTheRecoveryEnds(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		u, _ := f.member("late@example.com", true)
		b := f.begin(u.Email, "late@new.example")
		f.clock.Advance(support.DefaultWait)
		f.mailDue()
		token := f.token("support_recovery", "late@new.example", "/support/recover")
		f.clock.Advance(support.DefaultLinkTTL)
		_, err := f.svc.Complete(context.Background(), token, browser)
		wantCode(t, "an expired link", err, account.EInvalidCode)
		f.mailDue()
		if r := f.recovery(b.Recovery.ID); r.State != support.StateCancelled || r.EndedBy != support.ByExpiry {
			t.Errorf("after the link expired: %+v", r)
		}
		// And support may begin again.
		f.begin(u.Email, "late@new.example")
	})
}

// TestACompletionRefusedForATakenAddressChangesNothing: when another
// account took the new address during the wait, the completion is
// email_taken and the account, its credentials and the link stay.
func TestACompletionRefusedForATakenAddressChangesNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		u, _ := f.member("kept@example.com", true)
		f.begin(u.Email, "wanted@example.com")
		f.member("wanted@example.com", true) // signed up during the wait
		f.clock.Advance(support.DefaultWait)
		f.mailDue()
		token := f.token("support_recovery", "wanted@example.com", "/support/recover")
		_, err := f.svc.Complete(context.Background(), token, browser)
		wantCode(t, "a taken address", err, account.EEmailTaken)
		if got := f.user(u.ID); got.Email != "kept@example.com" || got.PasskeyCount != 1 || !got.HasPassword {
			t.Errorf("the account changed: %+v", got)
		}
		if p, _ := f.svc.Pending(context.Background(), u.ID); p == nil {
			t.Error("the recovery ended")
		}
	})
}

// TestBeginRefusals: what support may not ask for, each with its code, and
// nothing stored.
func TestBeginRefusals(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		u, _ := f.member("bea@example.com", true)
		f.member("other@example.com", true)
		ctx := context.Background()
		for _, tc := range []struct {
			name string
			req  support.Request
			code account.Code
		}{
			{"unknown account", support.Request{User: "nobody@example.com", NewEmail: "x@example.org", Evidence: "id"}, account.ENotFound},
			{"no evidence", support.Request{User: u.Email, NewEmail: "x@example.org", Evidence: "  "}, account.EInvalidRequest},
			{"evidence too long", support.Request{User: u.Email, NewEmail: "x@example.org", Evidence: strings.Repeat("x", support.MaxEvidence+1)}, account.EInvalidRequest},
			{"the same address", support.Request{User: u.Email, NewEmail: "BEA@example.com", Evidence: "id"}, account.EInvalidEmail},
			{"another account's address", support.Request{User: u.Email, NewEmail: "other@example.com", Evidence: "id"}, account.EEmailTaken},
			{"a malformed address", support.Request{User: u.Email, NewEmail: "not an address", Evidence: "id"}, account.EInvalidEmail},
		} {
			_, err := f.svc.Begin(ctx, tc.req)
			if !account.IsCode(err, tc.code) {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			}
		}
		if rs, _ := f.svc.List(ctx, support.Filter{}); len(rs) != 0 {
			t.Fatalf("refusals stored %d recoveries", len(rs))
		}
		f.begin(u.Email, "bea@new.example")
		_, err := f.svc.Begin(ctx, support.Request{User: u.Email, NewEmail: "bea@newer.example", Evidence: "id"})
		wantCode(t, "a second recovery while one is pending", err, account.EInvalidRequest)
	})
}

// TestAnUnprovenAddressIsNotMailed: an account whose address was never
// proven gets no notice there (it may be a stranger's, docs/security.md
// T16); Begin says so, for the operator to weigh.
func TestAnUnprovenAddressIsNotMailed(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		u, _ := f.member("unproven@example.com", false)
		if b := f.begin(u.Email, "proven@example.org"); b.Notified != 0 || b.Sessions != 1 {
			t.Errorf("Begin = %+v: want no address told, 1 session", b)
		}
		if ms := f.mails(notice.KindSupportRecoveryRequested, u.Email); len(ms) != 0 {
			t.Errorf("%d notices to an unproven address", len(ms))
		}
	})
}

// TestARecoveryBegunElsewhereShowsWithinTheRecheck: sessions ask Pending
// on every request, so a node remembers for pendingRecheck (5 s) that no
// recovery is pending anywhere; one begun by the command or another node
// shows in its sessions once that passes — and one begun through this
// node at once.
func TestARecoveryBegunElsewhereShowsWithinTheRecheck(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		other := newFixture(t, database) // the command, or another node
		ctx := context.Background()
		u, _ := f.member("cy@example.com", true)
		if p, err := f.svc.Pending(ctx, u.ID); err != nil || p != nil {
			t.Fatalf("Pending before = %+v, %v", p, err)
		}
		if _, err := other.svc.Begin(ctx, support.Request{User: u.Email, NewEmail: "cy@new.example", Evidence: "id", By: "cli:x"}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(5 * time.Second)
		if p, err := f.svc.Pending(ctx, u.ID); err != nil || p == nil {
			t.Fatalf("Pending after the recheck = %+v, %v", p, err)
		}
		v, _ := f.member("vi@example.com", true)
		f.begin(v.Email, "vi@new.example")
		if p, err := f.svc.Pending(ctx, v.ID); err != nil || p == nil {
			t.Fatalf("Pending of one begun here = %+v, %v", p, err)
		}
	})
}

// TestASessionCancelsARecoveryBegunElsewhereAtOnce: the cancel asks the
// store, not the node's 5-second answer, so a recovery the command began a
// moment ago is cancellable from a session at once.
func TestASessionCancelsARecoveryBegunElsewhereAtOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database)
		other := newFixture(t, database)
		ctx := context.Background()
		u, res := f.member("di@example.com", true)
		if p, err := f.svc.Pending(ctx, u.ID); err != nil || p != nil {
			t.Fatalf("Pending before = %+v, %v", p, err) // the node now remembers "none"
		}
		if _, err := other.svc.Begin(ctx, support.Request{User: u.Email, NewEmail: "di@new.example", Evidence: "id", By: "cli:x"}); err != nil {
			t.Fatal(err)
		}
		r, err := f.svc.CancelBySession(ctx, &account.SessionWithUser{Session: res.Session, User: *u}, browser)
		if err != nil || r.State != support.StateCancelled || r.EndedBy != support.BySession {
			t.Fatalf("CancelBySession = %+v, %v", r, err)
		}
	})
}
