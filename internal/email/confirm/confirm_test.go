package confirm_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/confirm"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/member"
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

// fixedRand is a random source a test can fix: its bytes come from r, or
// from crypto/rand while r is nil.
type fixedRand struct {
	mu sync.Mutex
	r  io.Reader
}

func (f *fixedRand) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.r == nil {
		return rand.Read(p)
	}
	return f.r.Read(p)
}

// set makes the next bytes come from r (nil: crypto/rand again).
func (f *fixedRand) set(r io.Reader) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.r = r
}

type rig struct {
	db       *store.DB
	clock    *clock
	rand     *fixedRand
	random   account.Random
	sessions *session.Service
	verify   *confirm.Service
	outbox   *outbox.Outbox
}

func newRig(t *testing.T, database string) *rig {
	t.Helper()
	db, err := store.Open(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	fixed := &fixedRand{}
	random := account.Random{Rand: fixed}
	audit := account.Audit{Store: db, Now: c.Now}
	sessions := session.New(session.Config{}, db, session.Deps{Audit: audit, Random: random, Now: c.Now})
	members := member.New(db, db, member.Deps{Sessions: sessions, Audit: audit, Random: random, Now: c.Now})
	box := outbox.NewOutbox(db, c.Now)
	v := confirm.New(confirm.Config{Origin: "https://login.example.com", Site: "Example"}, db, confirm.Deps{
		Members: members, Limiter: &throttle.Limiter{Store: db, Now: c.Now}, Audit: audit, Random: random, Now: c.Now, Mailer: box})
	return &rig{db: db, clock: c, rand: fixed, random: random, sessions: sessions, verify: v, outbox: box}
}

func (r *rig) member(t *testing.T, email string) *account.User {
	t.Helper()
	email, key, err := account.NormalizeEmail(email)
	if err != nil {
		t.Fatal(err)
	}
	u := &account.User{ID: r.random.NewID(), Email: email, EmailKey: key, WebAuthnID: []byte(r.random.NewToken()), CreatedAt: r.clock.Now(), UpdatedAt: r.clock.Now(), Origin: account.OriginSignup}
	if err := r.db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// send queues a confirmation mail for u in a transaction of its own.
func (r *rig) send(t *testing.T, u *account.User) {
	t.Helper()
	if err := r.db.InTx(context.Background(), func(ctx context.Context) error { return r.verify.Send(ctx, u, signupBrowser) }); err != nil {
		t.Fatal(err)
	}
}

var linkRE = regexp.MustCompile(`https://login\.example\.com/email/confirm\?token=([A-Za-z0-9_-]+)`)

// tokens returns the tokens of the confirmation mails to to, oldest first.
func (r *rig) tokens(t *testing.T, to string) []string {
	t.Helper()
	ms, err := r.outbox.Find(context.Background(), outbox.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(ms) - 1; i >= 0; i-- {
		if m := ms[i]; m.Kind == "verify_email" && m.To == to {
			lm := linkRE.FindStringSubmatch(m.Text)
			if lm == nil || !strings.Contains(m.HTML, `href="`+lm[0]+`"`) {
				t.Fatalf("no link in both parts of the mail:\n%s\n%s", m.Text, m.HTML)
			}
			out = append(out, lm[1])
		}
	}
	return out
}

func (r *rig) verified(t *testing.T, id string) bool {
	t.Helper()
	u, err := r.db.FindUser(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u.EmailVerified
}

var (
	client = account.Client{IP: "192.0.2.9", UserAgent: "test"}
	// signupBrowser made the accounts of these tests.
	signupBrowser = account.Client{IP: "198.51.100.4", UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"}
)

func TestConfirmationMailAndLink(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		r := newRig(t, database)
		u := r.member(t, "Ada@Example.com")
		r.send(t, u)

		ms, _ := r.outbox.Find(context.Background(), outbox.Filter{})
		if len(ms) != 1 || ms[0].To != "Ada@example.com" || ms[0].Subject != "Confirm your email address for Example" ||
			!strings.Contains(ms[0].Text, "The links work for 7 days; using one uses up both.") {
			t.Fatalf("outbox %+v", ms)
		}
		// The mail says plainly that an account was made, when and from
		// which browser (named, never the raw User-Agent), and offers
		// "This wasn't me" with the same token.
		for part, body := range map[string]string{"text": ms[0].Text, "html": ms[0].HTML} {
			for _, want := range []string{"was created with this email address on Sunday, 1 March 2026, 12:00 UTC, from Firefox on Linux",
				"/email/disown?token="} {
				if !strings.Contains(body, want) {
					t.Errorf("the %s part lacks %q:\n%s", part, want, body)
				}
			}
			if strings.Contains(body, "Gecko") {
				t.Errorf("the %s part shows the raw User-Agent", part)
			}
		}
		token := r.tokens(t, "Ada@example.com")[0]
		if !strings.Contains(ms[0].Text, "/email/disown?token="+token) {
			t.Errorf("the disown link does not carry the confirmation's token:\n%s", ms[0].Text)
		}
		if raw, err := base64.RawURLEncoding.DecodeString(token); err != nil || len(raw) != 32 {
			t.Errorf("token %q is not 256 bits of base64url", token)
		}
		if r.verified(t, u.ID) {
			t.Fatal("verified before the link was used")
		}
		got, err := r.verify.Confirm(context.Background(), token, client)
		if err != nil || got.ID != u.ID || !got.EmailVerified || !r.verified(t, u.ID) {
			t.Fatalf("confirm: %+v, %v", got, err)
		}
		evs, err := r.db.FindEvents(context.Background(), store.EventFilter{UserID: u.ID, Type: confirm.EventVerified})
		if err != nil || len(evs) != 1 || evs[0].IP != "192.0.2.9" {
			t.Errorf("events %+v, %v; want one %s from the client", evs, err, confirm.EventVerified)
		}
		if _, err := r.verify.Confirm(context.Background(), token, client); !account.IsCode(err, account.EInvalidCode) {
			t.Errorf("replayed link: %v, want invalid_code", err)
		}
	})
}

func TestConfirmRefusals(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		r := newRig(t, database)
		tests := []struct {
			name  string
			token func(t *testing.T) (token, userID string)
		}{
			{"an expired link", func(t *testing.T) (string, string) {
				u := r.member(t, "expired@example.com")
				r.send(t, u)
				// The link dies at its expiry; later cases send their own.
				r.clock.Advance(confirm.DefaultTTL)
				return r.tokens(t, u.Email)[0], u.ID
			}},
			{"a link to an address the member no longer has", func(t *testing.T) (string, string) {
				u := r.member(t, "new@example.com")
				before := *u
				before.Email, before.EmailKey = "old@example.com", "old@example.com"
				r.send(t, &before)
				return r.tokens(t, "old@example.com")[0], u.ID
			}},
			{"a token never issued", func(t *testing.T) (string, string) {
				return r.random.NewToken(), r.member(t, "never@example.com").ID
			}},
			{"a token that is not base64url", func(t *testing.T) (string, string) {
				return "a b/c=", r.member(t, "junk@example.com").ID
			}},
			{"an empty token", func(t *testing.T) (string, string) { return "", r.member(t, "empty@example.com").ID }},
		}
		for _, tt := range tests {
			token, id := tt.token(t)
			if _, err := r.verify.Confirm(context.Background(), token, client); !account.IsCode(err, account.EInvalidCode) {
				t.Errorf("%s: %v, want invalid_code", tt.name, err)
			}
			if r.verified(t, id) {
				t.Errorf("%s: the address became verified", tt.name)
			}
		}
	})
}

func TestConfirmationIsWrittenOnlyWhenTheSignupCommits(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		r := newRig(t, database)
		u := r.member(t, "ada@example.com")
		// Known randomness: the token Send makes is these 32 bytes.
		seed := bytes.Repeat([]byte{0x5a}, 32)
		r.rand.set(bytes.NewReader(seed))
		failed := errors.New("the sign-up failed later")
		err := r.db.InTx(context.Background(), func(ctx context.Context) error {
			if err := r.verify.Send(ctx, u, signupBrowser); err != nil {
				return err
			}
			return failed
		})
		r.rand.set(nil)
		if !errors.Is(err, failed) {
			t.Fatalf("tx: %v", err)
		}
		if n := len(r.tokens(t, "ada@example.com")); n != 0 {
			t.Errorf("a rolled-back sign-up queued %d mails", n)
		}
		if _, err := r.verify.Confirm(context.Background(), base64.RawURLEncoding.EncodeToString(seed), client); !account.IsCode(err, account.EInvalidCode) {
			t.Errorf("the rolled-back link works: %v", err)
		}
	})
}

func TestResend(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		r := newRig(t, database)
		ctx := context.Background()
		u := r.member(t, "ada@example.com")
		r.send(t, u) // the sign-up's mail; resends are counted apart
		for i := range confirm.PolicyResend.Free {
			if _, err := r.verify.Resend(ctx, u.ID, client); err != nil {
				t.Fatalf("resend %d: %v", i+1, err)
			}
		}
		_, err := r.verify.Resend(ctx, u.ID, client)
		if e, ok := errors.AsType[*account.Error](err); !ok || e.Code != account.EThrottled || e.RetryAfter != int(confirm.PolicyResend.Base/time.Second) {
			t.Fatalf("resend past the limit: %v, want too_many_attempts with Retry-After %v", err, confirm.PolicyResend.Base)
		}
		r.clock.Advance(confirm.PolicyResend.Base)
		if _, err := r.verify.Resend(ctx, u.ID, client); err != nil {
			t.Fatalf("resend after the wait: %v", err)
		}
		tokens := r.tokens(t, "ada@example.com")
		if len(tokens) != confirm.PolicyResend.Free+2 {
			t.Fatalf("%d confirmation mails, want the sign-up's and %d resends", len(tokens), confirm.PolicyResend.Free+1)
		}
		evs, _ := r.db.FindEvents(ctx, store.EventFilter{UserID: u.ID, Type: confirm.EventResent})
		if len(evs) != confirm.PolicyResend.Free+1 {
			t.Errorf("%d resend events, want %d", len(evs), confirm.PolicyResend.Free+1)
		}
		last, err := r.outbox.Find(ctx, outbox.Filter{Limit: 1})
		if err != nil || len(last) != 1 || !strings.Contains(last[0].Text, "Someone signed in to it asked for this mail again") ||
			strings.Contains(last[0].Text, "Firefox") {
			t.Errorf("a resent mail must say who asked for it, and not guess the sign-up's browser: %+v, %v", last, err)
		}
		// Every link sent works until one is used; the address is then
		// verified, and the other links are void: nothing is left to confirm.
		if _, err := r.verify.Confirm(ctx, tokens[0], client); err != nil {
			t.Fatalf("the sign-up's link after resends: %v", err)
		}
		if _, err := r.verify.Disown(ctx, tokens[1], client); !account.IsCode(err, account.EInvalidCode) {
			t.Errorf("another link after one was used: %v, want invalid_code", err)
		}
		if _, err := r.verify.Resend(ctx, u.ID, client); !account.IsCode(err, account.EEmailVerified) {
			t.Errorf("resend once verified: %v, want email_already_verified", err)
		}
		if _, err := r.verify.Resend(ctx, "no-such-user", client); !account.IsCode(err, account.ENotFound) {
			t.Errorf("resend for a missing user: %v, want not_found", err)
		}
	})
}

// TestThisWasntMe: "This wasn't me" from a sign-up's confirmation mail
// takes from the account everything its maker set up — password, passkeys,
// recovery codes, sessions, device cookies, other links — and verifies the
// address: only the mailbox's holder has the link. Any browser may use it.
func TestThisWasntMe(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		r := newRig(t, database)
		ctx := context.Background()
		u := r.member(t, "victim@example.com")
		r.send(t, u)
		r.send(t, u) // a second link, which dies with the first's use
		now := r.clock.Now()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(r.db.CreateCredential(ctx, &account.Credential{ID: r.random.NewID(), UserID: u.ID, Type: account.CredentialPassword,
			PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA", PasswordFormat: "argon2id", CreatedAt: now, UpdatedAt: now}))
		must(r.db.CreateCredential(ctx, &account.Credential{ID: r.random.NewID(), UserID: u.ID, Type: account.CredentialWebAuthn,
			CredentialID: []byte("squatter's key"), PublicKey: []byte("pk"), Name: "squatter's key", CreatedAt: now, UpdatedAt: now}))
		must(r.db.ReplaceRecoveryCodes(ctx, u.ID, []account.RecoveryCodeHash{{Hash: []byte("h1")}, {Hash: []byte("h2")}}, now))
		for range 2 {
			if _, err := r.sessions.StartFirst(ctx, u, account.MethodSignup, signupBrowser); err != nil {
				t.Fatal(err)
			}
		}
		tokens := r.tokens(t, "victim@example.com")

		got, err := r.verify.Disown(ctx, tokens[0], client)
		if err != nil {
			t.Fatal(err)
		}
		if got.User.HasPassword || got.User.PasskeyCount != 0 || !got.User.EmailVerified || got.User.DeviceEpoch != 1 {
			t.Errorf("after disowning: %+v", got.User)
		}
		want := account.Removed{Password: account.PasswordRemoved, Passkeys: []string{"squatter's key"}, RecoveryCodes: 2, Sessions: 2}
		if g := got.Removed; g.Password != want.Password || len(g.Passkeys) != 1 || g.Passkeys[0] != want.Passkeys[0] ||
			g.RecoveryCodes != want.RecoveryCodes || g.Sessions != want.Sessions {
			t.Errorf("removed %+v, want %+v", g, want)
		}
		if list, err := r.db.ListSessions(ctx, u.ID); err != nil || len(list) != 0 {
			t.Errorf("sessions after disowning: %d, %v", len(list), err)
		}
		if n, err := r.db.CountRecoveryCodes(ctx, u.ID); err != nil || n != 0 {
			t.Errorf("recovery codes after disowning: %d, %v", n, err)
		}
		evs, err := r.db.FindEvents(ctx, store.EventFilter{UserID: u.ID, Type: confirm.EventDisowned})
		if err != nil || len(evs) != 1 || evs[0].IP != client.IP {
			t.Errorf("events %+v, %v", evs, err)
		}
		for i, tok := range tokens {
			if _, err := r.verify.Confirm(ctx, tok, client); !account.IsCode(err, account.EInvalidCode) {
				t.Errorf("link %d after disowning: %v, want invalid_code", i, err)
			}
			if _, err := r.verify.Disown(ctx, tok, client); !account.IsCode(err, account.EInvalidCode) {
				t.Errorf("link %d disowned again: %v, want invalid_code", i, err)
			}
		}
		if _, err := r.verify.Disown(ctx, "not a token", client); !account.IsCode(err, account.EInvalidCode) {
			t.Errorf("garbage: %v", err)
		}
	})
}
