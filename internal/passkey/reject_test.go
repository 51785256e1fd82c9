package passkey_test

// Every way a passkey ceremony must be refused (WebAuthn L3 §7.1, §7.2 and
// the relying-party steps go-webauthn leaves to keyshift), each with a
// forged or replayed response from the software authenticator
// (passkeytest), each on every backend, driving the domain service without
// HTTP. A refusal changes nothing: no session, no new passkey, the stored
// sign count, flags and last use as they were. The ceremony itself is
// consumed by any attempt that names it: a challenge is single-use even when
// the attempt fails.
//
// Which refusal: a response that cannot be read as a WebAuthn credential at
// all — broken base64url, CBOR or JSON, members missing or of the wrong
// type, id ≠ rawId — is EInvalidCredential: no authenticator makes it, and
// there is nothing to verify. A sign-in response that reads as an assertion
// but does not verify (challenge, origin, type, RP ID hash, flags,
// signature, owner, sign count) or names no live ceremony is
// EPasskeyRejected, with the reason for the log and the audit (the HTTP
// answer never shows it). Registration refuses everything with
// EInvalidCredential: the member is signed in and nothing about them is in
// doubt — but a credential id registered already, to anyone, is
// EPasskeyExists (§7.1 step 26). What the HTTP layer adds — the status of
// each code, bodies that are not JSON or are too large — is package web's
// to test.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/passkey"
	"github.com/keyshift/keyshift/internal/passkey/passkeytest"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// keyMember is a member with a live session (the one a registration
// belongs to) and, unless made without, a passkey on a software
// authenticator.
type keyMember struct {
	user    *account.User
	session string
	sess    account.Session
	key     *passkeytest.Key
}

// signedIn is the member's session as a sensitive action takes it.
func (m *keyMember) signedIn() *account.SessionWithUser {
	return &account.SessionWithUser{User: *m.user, Session: m.sess}
}

// memberWithoutPasskey makes an account for email and signs it in.
func (r *rig) memberWithoutPasskey(t *testing.T, email string) *keyMember {
	t.Helper()
	u := r.newUser(t, email)
	var res *account.SigninResult
	err := r.db.InTx(context.Background(), func(ctx context.Context) error {
		var err error
		res, err = r.sessions.Start(ctx, u, account.MethodPassword, account.Client{IP: "192.0.2.1"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return &keyMember{user: u, session: res.Session.ID, sess: res.Session}
}

// memberWithPasskey makes an account for email, signs it in and registers a
// passkey (synced, like a password manager's) from that session.
func (r *rig) memberWithPasskey(t *testing.T, email string) *keyMember {
	t.Helper()
	m := r.memberWithoutPasskey(t, email)
	m.key = passkeytest.New(t, origin)
	c, err := r.svc.BeginRegistration(context.Background(), m.signedIn())
	if err != nil {
		t.Fatal(err)
	}
	a := m.key.Attestation(passkeytest.MustJSON(t, c.Options))
	if _, err := r.svc.FinishRegistration(context.Background(), m.user, m.session, c.FlowID, a.JSON(), "", account.Client{}); err != nil {
		t.Fatalf("registering %s: %v", email, err)
	}
	m.key.Auth.AddCredential(m.key.Cred)
	return m
}

// memberState is what a refused ceremony must leave as it was: the stored
// passkeys, with sign count, flags, names and times, and the sessions.
type memberState struct {
	Passkeys []account.Credential
	Sessions []string
}

// stateOf reads the members' stored passkeys and session ids.
func (r *rig) stateOf(t *testing.T, ms ...*keyMember) []memberState {
	t.Helper()
	ctx := context.Background()
	var out []memberState
	for _, m := range ms {
		pks, err := r.db.ListPasskeys(ctx, m.user.ID)
		if err != nil {
			t.Fatal(err)
		}
		sessions, err := r.db.ListSessions(ctx, m.user.ID)
		if err != nil {
			t.Fatal(err)
		}
		st := memberState{Passkeys: pks}
		for _, se := range sessions {
			st.Sessions = append(st.Sessions, se.ID)
		}
		out = append(out, st)
	}
	return out
}

// wantStateUnchanged fails t when any of the members' passkeys or sessions
// differ from before.
func (r *rig) wantStateUnchanged(t *testing.T, before []memberState, ms ...*keyMember) {
	t.Helper()
	after := r.stateOf(t, ms...)
	for i, m := range ms {
		b, a := before[i], after[i]
		if !reflect.DeepEqual(b.Passkeys, a.Passkeys) {
			t.Errorf("%s: stored passkeys changed:\nbefore %+v\nafter  %+v", m.user.Email, b.Passkeys, a.Passkeys)
		}
		if !reflect.DeepEqual(b.Sessions, a.Sessions) {
			t.Errorf("%s: sessions changed: %v → %v", m.user.Email, b.Sessions, a.Sessions)
		}
	}
}

// wantCoded fails t unless err is an account.Error with code and, when one
// is given, reason.
func wantCoded(t *testing.T, err error, code account.Code, reason string) {
	t.Helper()
	e, ok := errors.AsType[*account.Error](err)
	if !ok || e.Code != code || (reason != "" && e.Reason != reason) {
		t.Fatalf("got %v, want %s/%s", err, code, reason)
	}
}

// try is one attempt at a ceremony that must be refused: ada and bob are
// members with passkeys, client is the attempt's browser (an address of its
// own, so that the refusals of other cases are not throttled with it).
type try struct {
	t        *testing.T
	r        *rig
	client   account.Client
	ada, bob *keyMember
	before   []memberState

	// A sign-in: the ceremony the attempt finishes, and the member whose
	// passkey rightly answers it.
	login *passkey.Request
	owner *keyMember

	// A registration: ada's ceremony, and the authenticator she is adding.
	creation *passkey.Creation
	key      *passkeytest.Key
}

// beginLogin starts the sign-in the try finishes (discoverable when email is
// ""); owner's passkey answers it.
func (x *try) beginLogin(email string, owner *keyMember) {
	x.t.Helper()
	req, err := x.r.svc.BeginLogin(context.Background(), email)
	if err != nil {
		x.t.Fatal(err)
	}
	x.login, x.owner = req, owner
}

// assertion is a correct answer to the sign-in from its owner's passkey.
func (x *try) assertion() *passkeytest.Assertion { return x.assertionBy(x.owner.key) }

// assertionBy is k's answer to the sign-in.
func (x *try) assertionBy(k *passkeytest.Key) *passkeytest.Assertion {
	return k.Assertion(passkeytest.MustJSON(x.t, x.login.Options))
}

// finishLogin sends cred as the answer to the sign-in: JSON as it is, any
// other value encoded.
func (x *try) finishLogin(cred any) error { return x.finishLoginAt(x.login.FlowID, encode(x.t, cred)) }

// finishLoginAt finishes the sign-in flowID names with credential.
func (x *try) finishLoginAt(flowID string, credential []byte) error {
	_, err := x.r.svc.FinishLogin(context.Background(), flowID, credential, "modal", x.client)
	return err
}

// succeed signs in with cred: setup that is allowed to change things.
func (x *try) succeed(cred any) {
	x.t.Helper()
	if err := x.finishLogin(cred); err != nil {
		x.t.Fatalf("setup sign-in: %v", err)
	}
}

// mark takes the state the refusal must leave unchanged; call it after setup
// that changes things on purpose.
func (x *try) mark() { x.before = x.r.stateOf(x.t, x.ada, x.bob) }

// attestation is a correct answer to ada's registration from the
// authenticator she is adding.
func (x *try) attestation() *passkeytest.Attestation {
	return x.key.Attestation(passkeytest.MustJSON(x.t, x.creation.Options))
}

// finishRegister sends cred as ada's answer to her registration.
func (x *try) finishRegister(cred any) error {
	return x.finishRegisterAs(x.ada, x.creation.FlowID, encode(x.t, cred), "")
}

// finishRegisterAs finishes the registration flowID names as m, from m's
// session.
func (x *try) finishRegisterAs(m *keyMember, flowID string, credential []byte, name string) error {
	_, err := x.r.svc.FinishRegistration(context.Background(), m.user, m.session, flowID, credential, name, x.client)
	return err
}

// encode is cred as the finish step receives it: JSON as it is, any other
// value encoded (nil as null).
func encode(t *testing.T, cred any) []byte {
	t.Helper()
	if j, ok := cred.(json.RawMessage); ok {
		return j
	}
	return passkeytest.MustJSON(t, cred)
}

// randomBytes returns n random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// big is 45 KiB: 60 KiB in base64url, inside the web's 64 KiB body limit
// with the rest of a response.
const big = 45 << 10

// Authenticator data flags, short.
const (
	flagUP = passkeytest.FlagUP
	flagUV = passkeytest.FlagUV
	flagBE = passkeytest.FlagBE
	flagBS = passkeytest.FlagBS
	flagAT = passkeytest.FlagAT
	flagED = passkeytest.FlagED
)

var (
	b64     = passkeytest.B64
	edit    = passkeytest.Edit
	removed = passkeytest.Removed
)

// rejection is one case of the table: a sign-in (passkey.KindLogin) or a
// registration (passkey.KindRegister) that must be refused with code.
type rejection struct {
	name     string
	ceremony string
	// opts, for a registration, are the new authenticator's when it is not
	// a synced passkey.
	opts   *virtualwebauthn.AuthenticatorOptions
	try    func(x *try) error
	code   account.Code
	reason string
	// kept: the attempt named no live ceremony (or never got as far as
	// reading one), so the try's ceremony is still open afterwards and a
	// correct answer to it succeeds.
	kept bool
	// check runs extra checks after the refusal.
	check func(x *try)
}

func TestCeremonyRejections(t *testing.T) {
	const (
		rejected = account.EPasskeyRejected
		invalid  = account.EInvalidCredential
	)
	login, register := passkey.KindLogin, passkey.KindRegister
	tests := []rejection{
		// Sign-in replays and ceremonies: the response is well-formed but
		// the ceremony it answers is gone or not its own.
		{
			name: "refuses an assertion posted a second time to its ceremony", ceremony: login,
			try: func(x *try) error {
				a := x.assertion().JSON()
				x.succeed(a)
				x.mark()
				return x.finishLogin(a)
			},
			code: rejected, reason: "unknown_flow",
		},
		{
			name: "refuses an assertion replayed into a new ceremony", ceremony: login,
			try: func(x *try) error {
				a := x.assertion().JSON()
				x.succeed(a)
				x.beginLogin("", x.ada)
				x.mark()
				return x.finishLogin(a)
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses an assertion for one ceremony posted to another", ceremony: login,
			try: func(x *try) error {
				a := x.assertion().JSON()
				x.beginLogin("", x.ada)
				return x.finishLogin(a)
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a ceremony that was refused once", ceremony: login,
			try: func(x *try) error {
				wantCoded(x.t, x.finishLogin(x.assertion().ClientData("origin", "https://evil.example").JSON()), rejected, "verification_failed")
				return x.finishLogin(x.assertion().JSON())
			},
			code: rejected, reason: "unknown_flow",
		},
		{
			name: "refuses a registration ceremony's flowId", ceremony: login,
			try: func(x *try) error {
				reg, err := x.r.svc.BeginRegistration(context.Background(), x.ada.signedIn())
				if err != nil {
					x.t.Fatal(err)
				}
				return x.finishLoginAt(reg.FlowID, x.assertion().JSON())
			},
			code: rejected, reason: "unknown_flow", kept: true,
		},
		{
			name: "refuses a challenge the server never issued", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(x.assertion().ClientData("challenge", b64(randomBytes(32))).Sign().JSON())
			},
			code: rejected, reason: "verification_failed",
		},

		// Client data and authenticator data that verify only for someone
		// else, re-signed so that the change is the only thing wrong.
		{
			name: "refuses another origin", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(x.assertion().ClientData("origin", "https://evil.example").Sign().JSON())
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses the right host on another port", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(x.assertion().ClientData("origin", "http://localhost:1").Sign().JSON())
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses webauthn.create in a sign-in", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(x.assertion().ClientData("type", "webauthn.create").Sign().JSON())
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a cross-origin iframe's assertion", ceremony: login,
			try: func(x *try) error {
				a := x.assertion().ClientData("crossOrigin", true).ClientData("topOrigin", "https://evil.example")
				return x.finishLogin(a.Sign().JSON())
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses another RP ID's hash", ceremony: login,
			try: func(x *try) error {
				a := x.assertion()
				a.AuthData = a.AuthData.WithRPID("evil.example")
				return x.finishLogin(a.Sign().JSON())
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses an assertion without user verification (UV clear, re-signed)", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(x.assertion().Flags(0, flagUV).Sign().JSON())
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses an assertion without user presence (UP clear, re-signed)", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(x.assertion().Flags(0, flagUP).Sign().JSON())
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a backed-up state without backup eligibility (BS without BE)", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(x.assertion().Flags(flagBS, flagBE).Sign().JSON())
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a passkey that stops being backup eligible", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(x.assertion().Flags(0, flagBE|flagBS).Sign().JSON())
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a signature over other data (UV flipped after signing)", ceremony: login,
			try: func(x *try) error {
				a := x.assertion().Flags(0, flagUV).Sign()
				return x.finishLogin(a.Flags(flagUV, 0).JSON())
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a signature by another member's key", ceremony: login,
			try: func(x *try) error {
				a := x.assertion()
				a.Signature = x.bob.key.Sign(a.AuthData, a.ClientDataJSON)
				return x.finishLogin(a.JSON())
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses an empty signature", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(edit(x.assertion().Object(), "response.signature", ""))
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses an assertion with no signature", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(edit(x.assertion().Object(), "response.signature", removed))
			},
			code: rejected, reason: "verification_failed",
		},

		// Sign counts (§7.2 step 22): when either count is non-zero, one
		// that does not increase may be a cloned authenticator. Refused,
		// audited, and the stored count stays.
		{
			name: "refuses a sign count that went backwards (5, then 3)", ceremony: login,
			try: func(x *try) error {
				x.succeed(x.assertion().SignCount(5).Sign().JSON())
				x.beginLogin("", x.ada)
				x.mark()
				return x.finishLogin(x.assertion().SignCount(3).Sign().JSON())
			},
			code: rejected, reason: "sign_count_regression",
			check: func(x *try) { x.wantCloneWarning(x.ada, 5, 3) },
		},
		{
			name: "refuses a sign count that stayed the same (5, then 5)", ceremony: login,
			try: func(x *try) error {
				x.succeed(x.assertion().SignCount(5).Sign().JSON())
				x.beginLogin("", x.ada)
				x.mark()
				return x.finishLogin(x.assertion().SignCount(5).Sign().JSON())
			},
			code: rejected, reason: "sign_count_regression",
			check: func(x *try) { x.wantCloneWarning(x.ada, 5, 5) },
		},
		{
			name: "refuses a sign count that fell to zero (5, then 0)", ceremony: login,
			try: func(x *try) error {
				x.succeed(x.assertion().SignCount(5).Sign().JSON())
				x.beginLogin("", x.ada)
				x.mark()
				return x.finishLogin(x.assertion().SignCount(0).Sign().JSON())
			},
			code: rejected, reason: "sign_count_regression",
			check: func(x *try) { x.wantCloneWarning(x.ada, 5, 0) },
		},

		// Whose credential.
		{
			name: "refuses another member's passkey in a username-first ceremony", ceremony: login,
			try: func(x *try) error {
				x.beginLogin(x.bob.user.Email, x.bob)
				return x.finishLogin(x.assertionBy(x.ada.key).JSON())
			},
			code: rejected, reason: "wrong_user",
		},
		{
			name: "refuses a passkey in a username-first ceremony for an address without one", ceremony: login,
			try: func(x *try) error {
				carol := x.r.memberWithoutPasskey(x.t, "carol-"+x.ada.user.Email)
				x.beginLogin(carol.user.Email, x.ada)
				return x.finishLogin(x.assertion().JSON())
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a passkey in a username-first ceremony for an address with no account", ceremony: login,
			try: func(x *try) error {
				x.beginLogin("nobody-"+x.ada.user.Email, x.ada)
				return x.finishLogin(x.assertion().JSON())
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a user handle that is another member's", ceremony: login,
			try: func(x *try) error {
				a := x.assertion()
				a.UserHandle = x.bob.key.Handle()
				return x.finishLogin(a.JSON())
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a discoverable assertion without a user handle", ceremony: login,
			try: func(x *try) error {
				a := x.assertion()
				a.UserHandle = nil
				return x.finishLogin(a.JSON())
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses an unknown credential id", ceremony: login,
			try: func(x *try) error {
				stranger := passkeytest.New(x.t, origin)
				stranger.Auth.Options.UserHandle = x.ada.key.Handle()
				return x.finishLogin(x.assertionBy(stranger).JSON())
			},
			code: rejected, reason: "unknown_credential",
		},
		{
			name: "refuses a deleted passkey", ceremony: login,
			try: func(x *try) error {
				pks, err := x.r.svc.List(context.Background(), x.ada.user.ID)
				if err != nil {
					x.t.Fatal(err)
				}
				if err := x.r.svc.Delete(context.Background(), x.ada.signedIn(), pks[0].ID, x.client); err != nil {
					x.t.Fatal(err)
				}
				x.mark()
				return x.finishLogin(x.assertion().JSON())
			},
			code: rejected, reason: "unknown_credential",
		},

		// Oversized fields that still read as an assertion.
		{
			name: "refuses a 60 KiB signature", ceremony: login,
			try: func(x *try) error {
				a := x.assertion()
				a.Signature = randomBytes(big)
				return x.finishLogin(a.JSON())
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a 30 KiB credential id (in id and in rawId)", ceremony: login,
			try: func(x *try) error {
				a := x.assertion()
				a.ID = b64(randomBytes(big / 2))
				a.RawID = a.ID
				return x.finishLogin(a.JSON())
			},
			code: rejected, reason: "unknown_credential",
		},
		{
			name: "refuses a 60 KiB user handle", ceremony: login,
			try: func(x *try) error {
				a := x.assertion()
				a.UserHandle = randomBytes(big)
				return x.finishLogin(a.JSON())
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a 60 KiB clientDataJSON", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(x.assertion().ClientData("padding", strings.Repeat("x", big)).JSON())
			},
			code: rejected, reason: "verification_failed",
		},

		// Not an assertion at all.
		{
			name: "refuses an id that does not match rawId", ceremony: login,
			try: func(x *try) error {
				a := x.assertion()
				a.ID = b64(x.bob.key.Cred.ID)
				return x.finishLogin(a.JSON())
			},
			code: invalid,
		},
		{
			name: "refuses a rawId that is not base64url", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(edit(x.assertion().Object(), "rawId", "not base64url!"))
			},
			code: invalid,
		},
		{
			name: "refuses an id in standard base64 (+ and /)", ceremony: login,
			try: func(x *try) error {
				a := x.assertion()
				id := strings.NewReplacer("-", "+", "_", "/").Replace(a.ID) + "+/"
				return x.finishLogin(edit(a.Object(), "id", id))
			},
			code: invalid,
		},
		{
			name: "refuses an authenticatorData that is not base64url", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(edit(x.assertion().Object(), "response.authenticatorData", "%%%"))
			},
			code: invalid,
		},
		{
			name: "refuses a clientDataJSON that is not base64url", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(edit(x.assertion().Object(), "response.clientDataJSON", "{\"type\":\"webauthn.get\"}"))
			},
			code: invalid,
		},
		{
			name: "refuses a signature that is not base64url", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(edit(x.assertion().Object(), "response.signature", "sig nature"))
			},
			code: invalid,
		},
		{
			name: "refuses a userHandle that is a number", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(edit(x.assertion().Object(), "response.userHandle", 42))
			},
			code: invalid,
		},
		{
			name: "refuses authenticatorData too short for flags and count", ceremony: login,
			try: func(x *try) error {
				a := x.assertion()
				a.AuthData = a.AuthData[:33]
				return x.finishLogin(a.Sign().JSON())
			},
			code: invalid,
		},
		{
			name: "refuses authenticatorData with bytes after the count", ceremony: login,
			try: func(x *try) error {
				a := x.assertion()
				a.AuthData = append(a.AuthData, 0xa0)
				return x.finishLogin(a.Sign().JSON())
			},
			code: invalid,
		},
		{
			name: "refuses authenticatorData with malformed CBOR extensions", ceremony: login,
			try: func(x *try) error {
				a := x.assertion().Flags(flagED, 0)
				a.AuthData = append(a.AuthData, 0xbf, 0xff, 0xff, 0x1c)
				return x.finishLogin(a.Sign().JSON())
			},
			code: invalid,
		},
		{
			name: "refuses authenticatorData claiming extensions it does not carry", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(x.assertion().Flags(flagED, 0).Sign().JSON())
			},
			code: invalid,
		},
		{
			name: "refuses authenticatorData claiming attested credential data it does not carry", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(x.assertion().Flags(flagAT, 0).Sign().JSON())
			},
			code: invalid,
		},
		{
			name: "refuses a 60 KiB authenticatorData", ceremony: login,
			try: func(x *try) error {
				a := x.assertion()
				a.AuthData = append(a.AuthData, randomBytes(big)...)
				return x.finishLogin(a.JSON())
			},
			code: invalid,
		},
		{
			name: "refuses a clientDataJSON that is not JSON", ceremony: login,
			try: func(x *try) error {
				a := x.assertion()
				a.ClientDataJSON = []byte(`{"type":"webauthn.get",`)
				return x.finishLogin(a.Sign().JSON())
			},
			code: invalid,
		},
		{
			name: "refuses a clientDataJSON that is a JSON array", ceremony: login,
			try: func(x *try) error {
				a := x.assertion()
				a.ClientDataJSON = []byte(`["webauthn.get"]`)
				return x.finishLogin(a.Sign().JSON())
			},
			code: invalid,
		},
		{
			name: "refuses a clientDataJSON that is not UTF-8", ceremony: login,
			try: func(x *try) error {
				a := x.assertion()
				a.ClientDataJSON = bytes.Replace(a.ClientDataJSON, []byte(`"webauthn.get"`), []byte("\"webauthn.get\xff\""), 1)
				return x.finishLogin(a.Sign().JSON())
			},
			code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a credential of type other than public-key", ceremony: login,
			try: func(x *try) error {
				a := x.assertion()
				a.Type = "password"
				return x.finishLogin(a.JSON())
			},
			code: invalid,
		},
		{
			name: "refuses a credential without an id", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(edit(x.assertion().Object(), "id", removed))
			},
			code: invalid,
		},
		{
			name: "refuses a credential without a rawId", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(edit(x.assertion().Object(), "rawId", removed))
			},
			code: invalid,
		},
		{
			name: "refuses a credential without a response", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(edit(x.assertion().Object(), "response", removed))
			},
			code: invalid,
		},
		{
			name: "refuses a response without authenticatorData", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(edit(x.assertion().Object(), "response.authenticatorData", removed))
			},
			code: invalid,
		},
		{
			name: "refuses a response without clientDataJSON", ceremony: login,
			try: func(x *try) error {
				return x.finishLogin(edit(x.assertion().Object(), "response.clientDataJSON", removed))
			},
			code: invalid,
		},
		{
			name: "refuses a credential that is a string", ceremony: login,
			try:  func(x *try) error { return x.finishLogin("credential") },
			code: invalid,
		},
		{
			name: "refuses a credential that is an array", ceremony: login,
			try:  func(x *try) error { return x.finishLogin([]any{x.assertion().Object()}) },
			code: invalid,
		},
		{
			name: "refuses a credential that is null", ceremony: login,
			try:  func(x *try) error { return x.finishLogin(nil) },
			code: invalid,
		},
		{
			name: "refuses a finish without a credential", ceremony: login,
			try:  func(x *try) error { return x.finishLoginAt(x.login.FlowID, nil) },
			code: invalid,
		},

		// flowIds that name no ceremony: the try's ceremony stays open.
		{
			name: "refuses a flowId with NUL bytes", ceremony: login,
			try: func(x *try) error {
				return x.finishLoginAt(x.login.FlowID+"\x00", x.assertion().JSON())
			},
			code: rejected, reason: "unknown_flow", kept: true,
		},
		{
			name: "refuses a 10 KB flowId", ceremony: login,
			try: func(x *try) error {
				return x.finishLoginAt(x.login.FlowID+strings.Repeat("A", 10<<10), x.assertion().JSON())
			},
			code: rejected, reason: "unknown_flow", kept: true,
		},

		// Registration: ada, who has a passkey already, adds a second one.
		{
			name: "refuses a registration without user verification", ceremony: register,
			opts: &virtualwebauthn.AuthenticatorOptions{UserNotVerified: true},
			try:  func(x *try) error { return x.finishRegister(x.attestation().JSON()) },
			code: invalid, reason: "verification_error",
		},
		{
			name: "refuses a registration without user presence", ceremony: register,
			opts: &virtualwebauthn.AuthenticatorOptions{UserNotPresent: true},
			try:  func(x *try) error { return x.finishRegister(x.attestation().JSON()) },
			code: invalid, reason: "verification_error",
		},
		{
			name: "refuses a registration without user verification, re-signed", ceremony: register,
			try: func(x *try) error {
				return x.finishRegister(x.attestation().Flags(0, flagUV).Sign().JSON())
			},
			code: invalid,
		},
		{
			name: "refuses another origin in a registration", ceremony: register,
			try: func(x *try) error {
				return x.finishRegister(x.attestation().ClientData("origin", "https://evil.example").Sign().JSON())
			},
			code: invalid,
		},
		{
			name: "refuses webauthn.get in a registration", ceremony: register,
			try: func(x *try) error {
				return x.finishRegister(x.attestation().ClientData("type", "webauthn.get").Sign().JSON())
			},
			code: invalid,
		},
		{
			name: "refuses a registration's challenge the server never issued", ceremony: register,
			try: func(x *try) error {
				return x.finishRegister(x.attestation().ClientData("challenge", b64(randomBytes(32))).Sign().JSON())
			},
			code: invalid,
		},
		{
			name: "refuses another RP ID's hash in a registration", ceremony: register,
			try: func(x *try) error {
				a := x.attestation()
				a.AuthData = a.AuthData.WithRPID("evil.example")
				return x.finishRegister(a.Sign().JSON())
			},
			code: invalid,
		},
		{
			name: "refuses a new passkey backed up without backup eligibility", ceremony: register,
			try: func(x *try) error {
				return x.finishRegister(x.attestation().Flags(flagBS, flagBE).Sign().JSON())
			},
			code: invalid,
		},
		{
			name: "refuses a self attestation that does not verify", ceremony: register,
			try: func(x *try) error {
				a := x.attestation().Sign()
				return x.finishRegister(a.ClientData("origin", "https://evil.example").JSON())
			},
			code: invalid,
		},
		{
			name: "refuses a registration ceremony begun by another member", ceremony: register,
			try: func(x *try) error {
				return x.finishRegisterAs(x.bob, x.creation.FlowID, x.attestation().JSON(), "")
			},
			code: invalid, reason: "unknown_flow",
		},
		{
			name: "refuses a sign-in ceremony's flowId in a registration", ceremony: register,
			try: func(x *try) error {
				req, err := x.r.svc.BeginLogin(context.Background(), "")
				if err != nil {
					x.t.Fatal(err)
				}
				return x.finishRegisterAs(x.ada, req.FlowID, x.attestation().JSON(), "")
			},
			code: invalid, reason: "unknown_flow", kept: true,
		},
		{
			name: "refuses an attestationObject that is not CBOR", ceremony: register,
			try: func(x *try) error {
				return x.finishRegister(edit(x.attestation().Object(), "response.attestationObject", b64([]byte("{not cbor}"))))
			},
			code: invalid,
		},
		{
			name: "refuses an attestationObject cut short", ceremony: register,
			try: func(x *try) error {
				o := x.attestation().Object()
				ao := passkeytest.Unb64(x.t, o["response"].(map[string]any)["attestationObject"].(string))
				return x.finishRegister(edit(o, "response.attestationObject", b64(ao[:len(ao)/2])))
			},
			code: invalid,
		},
		{
			name: "refuses an attestationObject that is not base64url", ceremony: register,
			try: func(x *try) error {
				return x.finishRegister(edit(x.attestation().Object(), "response.attestationObject", "o\x00o"))
			},
			code: invalid,
		},
		{
			name: "refuses authenticator data without attested credential data", ceremony: register,
			try: func(x *try) error {
				a := x.attestation()
				a.AuthData = a.AuthData[:37].WithFlags(0, flagAT)
				return x.finishRegister(a.Sign().JSON())
			},
			code: invalid,
		},
		{
			name: "refuses an unknown attestation format", ceremony: register,
			try: func(x *try) error {
				a := x.attestation()
				a.Format = "homemade"
				return x.finishRegister(a.JSON())
			},
			code: invalid,
		},
		{
			name: "refuses a registration's clientDataJSON that is not JSON", ceremony: register,
			try: func(x *try) error {
				a := x.attestation()
				a.ClientDataJSON = []byte("webauthn.create")
				return x.finishRegister(a.Sign().JSON())
			},
			code: invalid,
		},
		{
			name: "refuses a registration's id that does not match rawId", ceremony: register,
			try: func(x *try) error {
				a := x.attestation()
				a.ID = b64(randomBytes(32))
				return x.finishRegister(a.JSON())
			},
			code: invalid,
		},
		{
			name: "refuses a rawId that is not the credential id in the authenticator data", ceremony: register,
			try: func(x *try) error {
				a := x.attestation()
				a.ID = b64(randomBytes(32))
				a.RawID = a.ID
				return x.finishRegister(a.JSON())
			},
			code: invalid,
		},
		{
			name: "refuses a 60 KiB attestationObject", ceremony: register,
			try: func(x *try) error {
				return x.finishRegister(edit(x.attestation().Object(), "response.attestationObject", b64(randomBytes(big))))
			},
			code: invalid,
		},
		{
			name: "refuses a registration's credential that is a number", ceremony: register,
			try:  func(x *try) error { return x.finishRegister(12) },
			code: invalid,
		},
		{
			name: "refuses a registration's flowId with NUL bytes", ceremony: register,
			try: func(x *try) error {
				return x.finishRegisterAs(x.ada, x.creation.FlowID+"\x00", x.attestation().JSON(), "")
			},
			code: invalid, reason: "unknown_flow", kept: true,
		},
		{
			name: "refuses a name over 64 characters", ceremony: register,
			try: func(x *try) error {
				return x.finishRegisterAs(x.ada, x.creation.FlowID, x.attestation().JSON(), strings.Repeat("é", 65))
			},
			code: account.EInvalidRequest, reason: "invalid_name", kept: true,
		},
		{
			name: "refuses a name with a control character", ceremony: register,
			try: func(x *try) error {
				return x.finishRegisterAs(x.ada, x.creation.FlowID, x.attestation().JSON(), "my\x00key")
			},
			code: account.EInvalidRequest, reason: "invalid_name", kept: true,
		},

		// A credential id registered already (§7.1 step 26 — go-webauthn
		// leaves its uniqueness across members to the RP). Both members'
		// passkeys still sign them in afterwards.
		{
			name: "refuses another member's credential id, same key", ceremony: register,
			try: func(x *try) error {
				x.key.Cred, x.key.Priv = x.bob.key.Cred, x.bob.key.Priv
				return x.finishRegister(x.attestation().JSON())
			},
			code: account.EPasskeyExists, check: (*try).wantBothSignIn,
		},
		{
			name: "refuses another member's credential id with a key of its own", ceremony: register,
			try: func(x *try) error {
				x.key.Cred.ID = bytes.Clone(x.bob.key.Cred.ID)
				return x.finishRegister(x.attestation().JSON())
			},
			code: account.EPasskeyExists, check: (*try).wantBothSignIn,
		},
		{
			name: "refuses the member's own credential registered twice", ceremony: register,
			try: func(x *try) error {
				x.key = x.ada.key
				return x.finishRegister(x.attestation().JSON())
			},
			code: account.EPasskeyExists, check: (*try).wantBothSignIn,
		},
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		r := newRig(t, database)
		for i, tt := range tests {
			t.Run(tt.ceremony+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				x := &try{t: t, r: r, client: account.Client{IP: fmt.Sprintf("10.1.%d.%d", i>>8, i&255)},
					ada: r.memberWithPasskey(t, fmt.Sprintf("ada%d@example.com", i)),
					bob: r.memberWithPasskey(t, fmt.Sprintf("bob%d@example.com", i))}
				switch tt.ceremony {
				case login:
					x.runLogin(tt)
				case register:
					x.runRegister(tt)
				default:
					t.Fatalf("ceremony %q", tt.ceremony)
				}
			})
		}
	})
}

// runLogin refuses a sign-in: the owner's correct answer to the try's
// ceremony afterwards is refused when the attempt consumed it, accepted when
// it never did.
func (x *try) runLogin(tt rejection) {
	x.beginLogin("", x.ada)
	x.mark()
	wantCoded(x.t, tt.try(x), tt.code, tt.reason)
	x.r.wantStateUnchanged(x.t, x.before, x.ada, x.bob)
	if tt.check != nil {
		tt.check(x)
	}
	retry := x.finishLoginAt(x.login.FlowID, x.assertion().SignCount(100).Sign().JSON())
	if tt.kept {
		if retry != nil {
			x.t.Errorf("the owner's answer to the kept ceremony: %v", retry)
		}
		return
	}
	wantCoded(x.t, retry, account.EPasskeyRejected, "unknown_flow")
}

// runRegister refuses ada's registration of a second passkey: no event says
// one was added, and a correct answer to her ceremony afterwards is refused
// when the attempt consumed it, accepted when it never did.
func (x *try) runRegister(tt rejection) {
	if tt.opts != nil {
		x.key = passkeytest.NewWith(x.t, origin, *tt.opts)
	} else {
		x.key = passkeytest.New(x.t, origin)
	}
	var err error
	if x.creation, err = x.r.svc.BeginRegistration(context.Background(), x.ada.signedIn()); err != nil {
		x.t.Fatal(err)
	}
	x.mark()
	wantCoded(x.t, tt.try(x), tt.code, tt.reason)
	x.r.wantStateUnchanged(x.t, x.before, x.ada, x.bob)
	if events, _ := x.r.db.FindEvents(context.Background(), store.EventFilter{UserID: x.ada.user.ID, Type: account.EventPasskeyAdded}); len(events) != 1 {
		x.t.Errorf("%d passkey_added events for ada, want the first passkey's only", len(events))
	}
	if tt.check != nil {
		tt.check(x)
	}
	fresh := passkeytest.New(x.t, origin).Attestation(passkeytest.MustJSON(x.t, x.creation.Options))
	retry := x.finishRegisterAs(x.ada, x.creation.FlowID, fresh.JSON(), "")
	if tt.kept {
		if retry != nil {
			x.t.Errorf("a correct answer to the kept ceremony: %v", retry)
		}
		return
	}
	wantCoded(x.t, retry, account.EInvalidCredential, "unknown_flow")
}

// wantCloneWarning checks that m's passkey has exactly one clone warning in
// the audit log, with the counts, and that its stored count is still stored.
func (x *try) wantCloneWarning(m *keyMember, stored, received uint32) {
	x.t.Helper()
	events, err := x.r.db.FindEvents(context.Background(), store.EventFilter{UserID: m.user.ID, Type: account.EventPasskeyCloneWarning})
	if err != nil {
		x.t.Fatal(err)
	}
	if len(events) != 1 {
		x.t.Fatalf("%d passkey_clone_warning events, want 1: %+v", len(events), events)
	}
	e := events[0]
	if e.Outcome != account.OutcomeFailure || e.Data["stored"] != float64(stored) || e.Data["received"] != float64(received) || e.Data["passkey"] == nil {
		x.t.Errorf("clone warning %+v, want stored %d received %d", e, stored, received)
	}
	pks, err := x.r.db.ListPasskeys(context.Background(), m.user.ID)
	if err != nil {
		x.t.Fatal(err)
	}
	if len(pks) != 1 || pks[0].SignCount != stored {
		x.t.Errorf("stored passkeys %+v, want one with sign count %d", pks, stored)
	}
}

// wantBothSignIn checks that ada's and bob's passkeys still sign them in.
func (x *try) wantBothSignIn() {
	x.t.Helper()
	for _, m := range []*keyMember{x.ada, x.bob} {
		req, err := x.r.svc.BeginLogin(context.Background(), "")
		if err != nil {
			x.t.Fatal(err)
		}
		a := m.key.Assertion(passkeytest.MustJSON(x.t, req.Options))
		if err := x.finishLoginAt(req.FlowID, a.JSON()); err != nil {
			x.t.Errorf("%s's passkey no longer signs in: %v", m.user.Email, err)
		}
	}
}
