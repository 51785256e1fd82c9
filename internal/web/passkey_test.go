package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/passkey/passkeytest"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// softKey is a software authenticator (passkeytest) holding passkeys for
// one keyshift; its answers are decoded so a test can forge any part.
type softKey struct {
	*passkeytest.Key
	t testing.TB
}

// newSoftKey returns an authenticator like a synced passkey provider's:
// backup eligible and backed up.
func newSoftKey(t testing.TB, s *liveSite) *softKey {
	return &softKey{Key: passkeytest.New(t, s.URL), t: t}
}

// newSoftKeyWith returns an authenticator with opts (flags, transports).
func newSoftKeyWith(t testing.TB, s *liveSite, opts virtualwebauthn.AuthenticatorOptions) *softKey {
	return &softKey{Key: passkeytest.NewWith(t, s.URL, opts), t: t}
}

// assertionFor answers cer, a login/begin answer, with k's credential: a
// correct response, decoded.
func (k *softKey) assertionFor(cer ceremony) *passkeytest.Assertion {
	return k.Assertion(cer.PublicKey)
}

// attestationFor answers cer, a register/begin answer, with k's
// credential: a correct response, decoded. k's user handle becomes the
// member's.
func (k *softKey) attestationFor(cer ceremony) *passkeytest.Attestation {
	return k.Attestation(cer.PublicKey)
}

// ceremony is a begin answer.
type ceremony struct {
	FlowID    string          `json:"flowId"`
	PublicKey json.RawMessage `json:"publicKey"`
}

func begin(t testing.TB, c *servertest.Client, path string, body any) ceremony {
	t.Helper()
	r := c.JSON(http.MethodPost, path, body)
	if r.Status != http.StatusOK {
		t.Fatalf("%s: %d %s", path, r.Status, r.Body)
	}
	var cer ceremony
	r.JSON(t, &cer)
	return cer
}

// register adds k's credential to the member signed in on c.
func (k *softKey) register(c *servertest.Client) *servertest.Response {
	k.t.Helper()
	cer := begin(k.t, c, "/api/passkeys/register/begin", map[string]any{})
	a := k.attestationFor(cer)
	k.Auth.AddCredential(k.Cred)
	return finishRegister(c, cer.FlowID, a.JSON(), "")
}

// signin runs a passkey sign-in on c; body is the begin body ({} or email).
func (k *softKey) signin(c *servertest.Client, body any, mediation string) *servertest.Response {
	k.t.Helper()
	cer := begin(k.t, c, "/api/passkeys/login/begin", body)
	return finishLogin(c, cer.FlowID, k.assertionFor(cer).JSON(), mediation)
}

// finishLogin posts a sign-in's finish step; cred is any JSON value.
func finishLogin(c *servertest.Client, flowID string, cred any, mediation string) *servertest.Response {
	return c.JSON(http.MethodPost, "/api/passkeys/login/finish", map[string]any{
		"flowId": flowID, "credential": cred, "mediation": mediation})
}

// finishRegister posts a registration's finish step; an empty name is left out.
func finishRegister(c *servertest.Client, flowID string, cred any, name string) *servertest.Response {
	body := map[string]any{"flowId": flowID, "credential": cred}
	if name != "" {
		body["name"] = name
	}
	return c.JSON(http.MethodPost, "/api/passkeys/register/finish", body)
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// passkeyMember is a member with one registered soft passkey, signed in
// with a password on c.
type passkeyMember struct {
	email string
	id    string
	c     *servertest.Client
	key   *softKey
}

// newPasskeyMember signs email up on a client of t's and registers a soft
// passkey (synced, like a password manager's) for it.
func newPasskeyMember(t *testing.T, s *liveSite, email string) *passkeyMember {
	t.Helper()
	m := newMemberWithoutPasskey(t, s, email)
	m.key = newSoftKey(t, s)
	wantStatus(t, m.key.register(m.c), http.StatusCreated)
	return m
}

// newMemberWithoutPasskey signs email up on a client of t's. Each sign-up
// comes from an address of its own (X-Forwarded-For, believed on a
// startPasskeySite), so that per-address sign-up limits stay out of tests
// that make many members.
func newMemberWithoutPasskey(t *testing.T, s *liveSite, email string) *passkeyMember {
	t.Helper()
	c := s.Client(t)
	n := signupAddresses.Add(1)
	r := postJSON(c, "/api/signup", credentials(email, goodPassword), "X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255))
	wantStatus(t, r, http.StatusCreated)
	return &passkeyMember{email: email, id: currentSession(t, c).User.ID, c: c}
}

// signupAddresses numbers the client addresses of newMemberWithoutPasskey.
var signupAddresses atomic.Uint32

// startPasskeySite runs keyshift for passkey tests: like startSite, and it
// believes X-Forwarded-For from loopback (see newMemberWithoutPasskey).
func startPasskeySite(t *testing.T, database string, opts ...servertest.Option) *liveSite {
	t.Helper()
	return startSite(t, database, append([]servertest.Option{trustLoopbackProxy}, opts...)...)
}

// handle is the member's WebAuthn user handle, as their passkey returns it.
func (m *passkeyMember) handle() []byte { return m.key.Handle() }

// passkeyView is API.md's Passkey (+ synced, attachment).
type passkeyView struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Provider       string   `json:"provider"`
	CreatedAt      string   `json:"createdAt"`
	LastUsedAt     *string  `json:"lastUsedAt"`
	BackupEligible bool     `json:"backupEligible"`
	BackedUp       bool     `json:"backedUp"`
	Synced         bool     `json:"synced"`
	Transports     []string `json:"transports"`
	Attachment     string   `json:"attachment"`
	ProbationUntil *string  `json:"probationUntil"`
}

// listPasskeys is GET /api/passkeys on c.
func listPasskeys(t *testing.T, c *servertest.Client) []passkeyView {
	t.Helper()
	r := c.JSON(http.MethodGet, "/api/passkeys", nil)
	wantStatus(t, r, http.StatusOK)
	var list struct {
		Passkeys []passkeyView `json:"passkeys"`
	}
	r.JSON(t, &list)
	return list.Passkeys
}

// memberState is what a refused ceremony must leave as it was: the stored
// passkeys, with sign count, flags, names and times, and the sessions.
type memberState struct {
	Passkeys []account.Credential
	Sessions []string
}

// stateOf reads the members' stored passkeys and session ids.
func (s *liveSite) stateOf(t *testing.T, ms ...*passkeyMember) map[string]memberState {
	t.Helper()
	ctx := context.Background()
	out := map[string]memberState{}
	for _, m := range ms {
		pks, err := s.DB.ListPasskeys(ctx, m.id)
		if err != nil {
			t.Fatal(err)
		}
		sessions, err := s.DB.ListSessions(ctx, m.id)
		if err != nil {
			t.Fatal(err)
		}
		st := memberState{Passkeys: pks}
		for _, se := range sessions {
			st.Sessions = append(st.Sessions, se.ID)
		}
		out[m.email] = st
	}
	return out
}

// wantStateUnchanged fails t when any of the members' passkeys or sessions
// differ from before.
func (s *liveSite) wantStateUnchanged(t *testing.T, before map[string]memberState, ms ...*passkeyMember) {
	t.Helper()
	after := s.stateOf(t, ms...)
	for _, m := range ms {
		b, a := before[m.email], after[m.email]
		if !reflect.DeepEqual(b.Passkeys, a.Passkeys) {
			t.Errorf("%s: stored passkeys changed:\nbefore %+v\nafter  %+v", m.email, b.Passkeys, a.Passkeys)
		}
		if !reflect.DeepEqual(b.Sessions, a.Sessions) {
			t.Errorf("%s: sessions changed: %v → %v", m.email, b.Sessions, a.Sessions)
		}
	}
}

// wantRefused checks a refused finish: status and code exactly (never a
// 500), the reason when one is given, and returns the error.
func wantRefused(t *testing.T, r *servertest.Response, status int, code, reason string) apiError {
	t.Helper()
	e := wantAPIError(t, r, status, code)
	if code == "passkey_rejected" {
		// The reason of a refused sign-in is the log's and the audit's,
		// never the answer's: it would tell real passkeys from decoys. The
		// passkey package's own tests check each reason
		// (TestCeremonyRejections, TestFinishLoginRefusals).
		if bytes.Contains(r.Body, []byte(`"reason"`)) {
			t.Errorf("a refused passkey sign-in tells its reason: %s", r.Body)
		}
		return e
	}
	if reason != "" && e.Error.Reason != reason {
		t.Errorf("reason %q, want %q; body %s", e.Error.Reason, reason, r.Body)
	}
	return e
}

func TestPasskeyRegisterThenSignIn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		c := s.member("ada@example.com")
		k := newSoftKey(t, s)
		r := k.register(c)
		if r.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		var reg struct {
			Passkey map[string]any `json:"passkey"`
		}
		r.JSON(t, &reg)
		if reg.Passkey["synced"] != true || reg.Passkey["provider"] != "Unknown provider" || reg.Passkey["lastUsedAt"] != nil {
			t.Errorf("passkey %v", reg.Passkey)
		}

		for _, tt := range []struct {
			name      string
			body      any
			mediation string
			method    string
		}{
			{"discoverable, modal", map[string]any{}, "modal", "passkey_modal"},
			{"discoverable, conditional", map[string]any{}, "conditional", "passkey_conditional"},
			{"username-first", map[string]any{"email": "ADA@example.com"}, "modal", "passkey_username"},
		} {
			fresh := s.client()
			r := k.signin(fresh, tt.body, tt.mediation)
			if r.Status != http.StatusOK {
				t.Fatalf("%s: %d %s", tt.name, r.Status, r.Body)
			}
			var sess struct {
				User    struct{ PasskeyCount int }  `json:"user"`
				Session struct{ AuthMethod string } `json:"session"`
			}
			fresh.JSON(http.MethodGet, "/api/session", nil).JSON(t, &sess)
			if sess.Session.AuthMethod != tt.method || sess.User.PasskeyCount != 1 {
				t.Errorf("%s: session %+v", tt.name, sess)
			}
		}
	})
}

// TestForgeryToolkitRoundTrips checks the toolkit itself: a response
// decoded, re-encoded and re-signed without a change is still accepted, so
// when a forged one is refused it is for the change alone.
func TestForgeryToolkitRoundTrips(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		c := s.Client(t)
		c.Signup("ada@example.com", goodPassword)
		k := newSoftKey(t, s)
		cer := begin(t, c, "/api/passkeys/register/begin", map[string]any{})
		a := k.attestationFor(cer).Sign()
		k.Auth.AddCredential(k.Cred)
		wantStatus(t, finishRegister(c, cer.FlowID, a.JSON(), ""), http.StatusCreated)

		fresh := s.Client(t)
		cer = begin(t, fresh, "/api/passkeys/login/begin", map[string]any{})
		wantStatus(t, finishLogin(fresh, cer.FlowID, k.assertionFor(cer).SignCount(1).Sign().JSON(), "modal"), http.StatusOK)
		currentSession(t, fresh)
	})
}

func mustUnmarshal(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
}
