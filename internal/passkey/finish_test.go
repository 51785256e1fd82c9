package passkey_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/keyshift/keyshift/internal/account"
	members "github.com/keyshift/keyshift/internal/member"
	"github.com/keyshift/keyshift/internal/passkey"
	"github.com/keyshift/keyshift/internal/session"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/throttle"
)

const origin = "http://localhost:8080"

// clock is a settable clock for ceremony expiry.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// rig is a passkey service on a real store, without HTTP.
type rig struct {
	t        *testing.T
	db       *store.DB
	random   account.Random
	sessions *session.Service
	svc      *passkey.Service
	clock    *clock
	rp       virtualwebauthn.RelyingParty
}

func newRig(t *testing.T, database string) *rig {
	t.Helper()
	return newRigWith(t, database, func(*passkey.Config) {})
}

// newRigWith is newRig with the passkey configuration changed by edit.
func newRigWith(t *testing.T, database string, edit func(*passkey.Config)) *rig {
	t.Helper()
	db, err := store.Open(t.Context(), database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{now: time.Now().UTC().Truncate(time.Millisecond)}
	audit := account.Audit{Store: db, Now: clk.Now}
	sessions := session.New(session.Config{IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour}, db, session.Deps{Audit: audit, Now: clk.Now})
	locks := members.New(db, db, members.Deps{Sessions: sessions, Audit: audit, Now: clk.Now})
	cfg := passkey.Config{RPID: "localhost", RPName: "keyshift", Origin: origin, AllowRoaming: true,
		Algorithms: []string{"ES256"}, ChallengeTTL: 5 * time.Minute, DecoyKey: []byte("decoy key of the test, 32 bytes!"),
		CeremonyKey: []byte("ceremony key of the test, 32 b!!")}
	edit(&cfg)
	svc, err := passkey.New(cfg, db, db, passkey.Deps{Sessions: sessions, Members: locks,
		Limiter: &throttle.Limiter{Store: db, Now: clk.Now}, Audit: audit, Now: clk.Now, Disowns: db})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, db: db, sessions: sessions, svc: svc, clock: clk,
		rp: virtualwebauthn.RelyingParty{ID: "localhost", Name: "keyshift", Origin: origin}}
}

// member is an account with one passkey on its own authenticator.
type member struct {
	user *account.User
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

// newMember makes an account and registers a passkey for it.
func (r *rig) newMember(email string) *member {
	r.t.Helper()
	ctx := context.Background()
	now := r.clock.Now()
	u := r.newUser(r.t, email)
	m := &member{user: u, auth: virtualwebauthn.NewAuthenticator(), cred: virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)}
	// A member just signed in, without a session of record: no token to rotate.
	c, err := r.svc.BeginRegistration(ctx, &account.SessionWithUser{User: *u, Session: account.Session{AuthenticatedAt: now}})
	if err != nil {
		r.t.Fatal(err)
	}
	opts, err := virtualwebauthn.ParseAttestationOptions(string(mustJSON(r.t, c.Options)))
	if err != nil {
		r.t.Fatal(err)
	}
	m.auth.Options.UserHandle = []byte(opts.UserID)
	resp := virtualwebauthn.CreateAttestationResponse(r.rp, m.auth, m.cred, *opts)
	if _, err := r.svc.FinishRegistration(ctx, u, "", c.FlowID, []byte(resp), "", account.Client{}); err != nil {
		r.t.Fatalf("registering %s: %v", email, err)
	}
	m.auth.AddCredential(m.cred)
	return m
}

// newUser makes an account for email, with a verified address.
func (r *rig) newUser(t *testing.T, email string) *account.User {
	t.Helper()
	now := r.clock.Now()
	_, key, err := account.NormalizeEmail(email)
	if err != nil {
		t.Fatal(err)
	}
	u := &account.User{ID: r.random.NewID(), Email: email, EmailKey: key, EmailVerified: true, WebAuthnID: []byte(r.random.NewToken()),
		CreatedAt: now, UpdatedAt: now, Origin: account.OriginSignup}
	if err := r.db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// begin starts a sign-in: discoverable when email is "", else username-first.
func (r *rig) begin(email string) *passkey.Request {
	r.t.Helper()
	req, err := r.svc.BeginLogin(context.Background(), email)
	if err != nil {
		r.t.Fatal(err)
	}
	return req
}

// answer is m's assertion for req.
func (r *rig) answer(m *member, req *passkey.Request) []byte {
	r.t.Helper()
	opts, err := virtualwebauthn.ParseAssertionOptions(string(mustJSON(r.t, req.Options)))
	if err != nil {
		r.t.Fatal(err)
	}
	return []byte(virtualwebauthn.CreateAssertionResponse(r.rp, m.auth, m.cred, *opts))
}

func (r *rig) finish(req *passkey.Request, credential []byte) error {
	_, err := r.svc.FinishLogin(context.Background(), req.FlowID, credential, "modal", account.Client{IP: "192.0.2.1"})
	return err
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFinishLoginRefusals: every refused sign-in is passkey_rejected, and
// its reason — which the HTTP answer never shows, as it would tell real
// passkeys from decoys — is on the domain error for the log and the audit.
func TestFinishLoginRefusals(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		try    func(r *rig, ada, bob *member) error
	}{
		{"refuses a passkey keyshift does not know", "unknown_credential", func(r *rig, ada, bob *member) error {
			stranger := &member{auth: virtualwebauthn.NewAuthenticator(), cred: virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)}
			stranger.auth.Options.UserHandle = []byte("nobody's handle")
			stranger.auth.AddCredential(stranger.cred)
			req := r.begin("")
			return r.finish(req, r.answer(stranger, req))
		}},
		{"refuses another member's passkey in a username-first sign-in", "wrong_user", func(r *rig, ada, bob *member) error {
			req := r.begin(bob.user.Email)
			// bob's options allow only bob's passkey; ada answers anyway.
			var opts map[string]any
			json.Unmarshal(mustJSON(r.t, req.Options), &opts)
			delete(opts, "allowCredentials")
			free := *req
			parsed, err := virtualwebauthn.ParseAssertionOptions(string(mustJSON(r.t, opts)))
			if err != nil {
				r.t.Fatal(err)
			}
			return r.finish(&free, []byte(virtualwebauthn.CreateAssertionResponse(r.rp, ada.auth, ada.cred, *parsed)))
		}},
		{"refuses an answer to another ceremony's challenge", "verification_failed", func(r *rig, ada, bob *member) error {
			first, second := r.begin(""), r.begin("")
			return r.finish(second, r.answer(ada, first))
		}},
		{"refuses a sign count that went backwards", "sign_count_regression", func(r *rig, ada, bob *member) error {
			ada.cred.Counter = 10
			req := r.begin("")
			if err := r.finish(req, r.answer(ada, req)); err != nil {
				r.t.Fatalf("setup sign-in: %v", err)
			}
			ada.cred.Counter = 9
			req = r.begin("")
			return r.finish(req, r.answer(ada, req))
		}},
		{"refuses a ceremony finished already", "unknown_flow", func(r *rig, ada, bob *member) error {
			req := r.begin("")
			a := r.answer(ada, req)
			if err := r.finish(req, a); err != nil {
				r.t.Fatalf("setup sign-in: %v", err)
			}
			return r.finish(req, a)
		}},
		{"refuses a flow id it never sealed", "unknown_flow", func(r *rig, ada, bob *member) error {
			req := r.begin("")
			a := r.answer(ada, req)
			forged := *req
			forged.FlowID = "AAAA" + req.FlowID[4:]
			return r.finish(&forged, a)
		}},
		{"refuses an expired ceremony", "expired", func(r *rig, ada, bob *member) error {
			req := r.begin("")
			a := r.answer(ada, req)
			r.clock.advance(5*time.Minute + time.Second)
			return r.finish(req, a)
		}},
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := newRig(t, testdbLike(t, database))
				ada, bob := r.newMember("ada@example.com"), r.newMember("bob@example.com")
				err := tt.try(r, ada, bob)
				e, ok := errors.AsType[*account.Error](err)
				if !ok || e.Code != account.EPasskeyRejected || e.Reason != tt.reason {
					t.Fatalf("got %v, want passkey_rejected/%s", err, tt.reason)
				}
			})
		}
	})
}

// testdbLike returns a fresh database on database's backend: each case
// wants its own accounts.
func testdbLike(t *testing.T, database string) string {
	t.Helper()
	for _, b := range testdb.Backends() {
		if len(database) >= len(b.Name) && database[:len(b.Name)] == b.Name {
			return b.Database(t)
		}
	}
	return testdb.Backends()[1].Database(t)
}
