package passkey_test

import (
	"context"
	"errors"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/passkey"
	"github.com/keyshift/keyshift/internal/testdb"
)

// Two origins of one relying party (config origins): a.localhost is the
// primary and the RP ID, b.localhost a related origin.
const (
	originA = "http://a.localhost:8080"
	originB = "http://b.localhost:8080"
)

func newTwoOriginRig(t *testing.T, database string) *rig {
	r := newRigWith(t, database, func(c *passkey.Config) {
		c.RPID, c.Origin, c.Origins = "a.localhost", originA, []string{originB}
	})
	r.rp = virtualwebauthn.RelyingParty{ID: "a.localhost", Name: "keyshift", Origin: originA}
	return r
}

// at returns r's authenticator speaking for origin: the RP ID stays, the
// origin in clientDataJSON changes, as a browser on that origin makes it.
func (r *rig) at(origin string) *rig {
	c := *r
	c.rp.Origin = origin
	return &c
}

func (r *rig) beginAt(origin, email string) *passkey.Request {
	r.t.Helper()
	req, err := r.svc.BeginLogin(context.Background(), email, passkey.FromOrigin(origin))
	if err != nil {
		r.t.Fatal(err)
	}
	return req
}

func TestAPasskeySignsInOnEveryConfiguredOrigin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		r := newTwoOriginRig(t, database)
		ada := r.newMember("ada@example.com") // registered on A
		for _, o := range []string{originB, originA} {
			for _, email := range []string{"", "ada@example.com"} {
				req := r.beginAt(o, email)
				if err := r.finish(req, r.at(o).answer(ada, req)); err != nil {
					t.Errorf("a sign-in begun and answered on %s (email %q): %v", o, email, err)
				}
			}
		}
	})
}

func TestACeremonyStaysOnTheOriginThatBeganIt(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		r := newTwoOriginRig(t, database)
		ada := r.newMember("ada@example.com")
		tests := []struct {
			name, began, answered, reason string
		}{
			{"begun on the primary origin, answered on the other", originA, originB, "wrong_origin"},
			{"begun on the other origin, answered on the primary", originB, originA, "wrong_origin"},
			// go-webauthn refuses an origin keyshift does not serve at all.
			{"begun on an origin, answered on one not configured", originB, "http://c.localhost:8080", "verification_failed"},
		}
		for _, tt := range tests {
			t.Run("refuses a sign-in "+tt.name, func(t *testing.T) {
				req := r.beginAt(tt.began, "")
				err := r.finish(req, r.at(tt.answered).answer(ada, req))
				if e, ok := errors.AsType[*account.Error](err); !ok || e.Code != account.EPasskeyRejected || e.Reason != tt.reason {
					t.Fatalf("got %v, want passkey_rejected/%s", err, tt.reason)
				}
				// The refusal used the ceremony up: answering it rightly now
				// is too late.
				if err := r.finish(req, r.at(tt.began).answer(ada, req)); !account.IsCode(err, account.EPasskeyRejected) {
					t.Errorf("the ceremony finished after a refusal: %v", err)
				}
			})
		}
		t.Run("refuses a registration begun on one origin and answered on the other", func(t *testing.T) {
			ctx := context.Background()
			u := r.newUser(t, "bob@example.com")
			sw := &account.SessionWithUser{User: *u, Session: account.Session{AuthenticatedAt: r.clock.Now()}}
			c, err := r.svc.BeginRegistration(ctx, sw, passkey.FromOrigin(originB))
			if err != nil {
				t.Fatal(err)
			}
			opts, err := virtualwebauthn.ParseAttestationOptions(string(mustJSON(t, c.Options)))
			if err != nil {
				t.Fatal(err)
			}
			auth, cred := virtualwebauthn.NewAuthenticator(), virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
			auth.Options.UserHandle = []byte(opts.UserID)
			resp := virtualwebauthn.CreateAttestationResponse(r.at(originA).rp, auth, cred, *opts)
			_, err = r.svc.FinishRegistration(ctx, u, "", c.FlowID, []byte(resp), "", account.Client{})
			if e, ok := errors.AsType[*account.Error](err); !ok || e.Code != account.EInvalidCredential || e.Reason != "wrong_origin" {
				t.Fatalf("got %v, want invalid_credential/wrong_origin", err)
			}
			if ps, err := r.db.ListPasskeys(ctx, u.ID); err != nil || len(ps) != 0 {
				t.Errorf("passkeys after the refusal: %d, %v; want none", len(ps), err)
			}
		})
		t.Run("registers a passkey on the other origin", func(t *testing.T) {
			ctx := context.Background()
			u := r.newUser(t, "cy@example.com")
			sw := &account.SessionWithUser{User: *u, Session: account.Session{AuthenticatedAt: r.clock.Now()}}
			c, err := r.svc.BeginRegistration(ctx, sw, passkey.FromOrigin(originB))
			if err != nil {
				t.Fatal(err)
			}
			opts, err := virtualwebauthn.ParseAttestationOptions(string(mustJSON(t, c.Options)))
			if err != nil {
				t.Fatal(err)
			}
			auth, cred := virtualwebauthn.NewAuthenticator(), virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
			auth.Options.UserHandle = []byte(opts.UserID)
			resp := virtualwebauthn.CreateAttestationResponse(r.at(originB).rp, auth, cred, *opts)
			if _, err := r.svc.FinishRegistration(ctx, u, "", c.FlowID, []byte(resp), "", account.Client{}); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("refuses to begin on an origin not configured", func(t *testing.T) {
			if _, err := r.svc.BeginLogin(context.Background(), "", passkey.FromOrigin("http://c.localhost:8080")); err == nil {
				t.Fatal("a ceremony began on an origin not configured")
			}
		})
	})
}
