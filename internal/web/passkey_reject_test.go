package web_test

// Every way a passkey ceremony must be refused (WebAuthn L3 §7.1, §7.2 and
// the relying-party steps go-webauthn leaves to keyshift), each with a
// forged or replayed response from the software authenticator, each on
// every backend. A refusal changes nothing: no session, no new passkey, the
// stored sign count, flags and last use as they were. The ceremony itself is
// consumed by any attempt that names it: a challenge is single-use even when
// the attempt fails.
//
// Which refusal: a response that cannot be read as a WebAuthn credential at
// all — broken base64url, CBOR or JSON, members missing or of the wrong
// type, id ≠ rawId — is 400 invalid_credential: no authenticator makes it,
// and there is nothing to verify. A sign-in response that reads as an
// assertion but does not verify (challenge, origin, type, RP ID hash,
// flags, signature, owner, sign count) or names no live ceremony is 401
// passkey_rejected, API.md's sign-in refusal. Registration refuses
// everything with 400 invalid_credential (API.md): the member is signed in
// and nothing about them is in doubt. A body that is not a JSON object is
// 400 invalid_request and one over 64 KiB is 413 body_too_large, before
// any ceremony is looked at.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// signinTry is one attempt at a passkey sign-in that must be refused: two
// members with passkeys, a browser with no session, and the ceremony the
// attempt finishes.
type signinTry struct {
	t        *testing.T
	s        *liveSite
	c        *servertest.Client
	ada, bob *passkeyMember
	cer      ceremony
	// owner is the member whose passkey rightly answers cer.
	owner  *passkeyMember
	before map[string]memberState
}

// begin starts the ceremony the try finishes; owner's passkey answers it.
func (x *signinTry) begin(body any, owner *passkeyMember) {
	x.t.Helper()
	x.cer = begin(x.t, x.c, "/api/passkeys/login/begin", body)
	x.owner = owner
}

// valid is a correct answer to the ceremony from its owner's passkey.
func (x *signinTry) valid() *assertion { return x.owner.key.assertionFor(x.cer) }

// finish posts cred as the answer to the ceremony from the try's browser.
func (x *signinTry) finish(cred any) *servertest.Response {
	return finishLogin(x.c, x.cer.FlowID, cred, "modal")
}

// post posts a raw body to the finish step from the try's browser.
func (x *signinTry) post(body []byte) *servertest.Response {
	return postJSON(x.c, "/api/passkeys/login/finish", body)
}

// succeed signs in with cred from another browser: setup that is allowed to
// change things.
func (x *signinTry) succeed(cred any) {
	x.t.Helper()
	wantStatus(x.t, finishLogin(x.s.Client(x.t), x.cer.FlowID, cred, "modal"), http.StatusOK)
}

// mark takes the state the refusal must leave unchanged; call it after setup
// that changes things on purpose.
func (x *signinTry) mark() { x.before = x.s.stateOf(x.t, x.ada, x.bob) }

// randomBytes returns n random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// big is 45 KiB: 60 KiB in base64url, inside the 64 KiB body limit with
// the rest of a response.
const big = 45 << 10

func TestPasskeySigninRejections(t *testing.T) {
	const (
		rejected = "passkey_rejected"   // 401
		invalid  = "invalid_credential" // 400
	)
	tests := []struct {
		name   string
		try    func(x *signinTry) *servertest.Response
		status int
		code   string
		reason string
		// kept: the attempt named no live ceremony (or never got as far as
		// reading one), so the try's ceremony is still open afterwards and
		// its owner's correct answer signs in.
		kept bool
		// check runs extra checks after the refusal.
		check func(x *signinTry)
	}{
		// Replays and ceremonies: 401, the response is well-formed but the
		// ceremony it answers is gone or not its own.
		{
			name: "refuses an assertion posted a second time to its ceremony",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid().JSON()
				x.succeed(a)
				x.mark()
				return x.finish(a)
			},
			status: 401, code: rejected, reason: "unknown_flow",
		},
		{
			name: "refuses an assertion replayed into a new ceremony",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid().JSON()
				x.succeed(a)
				x.begin(map[string]any{}, x.ada)
				x.mark()
				return x.finish(a)
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses an assertion for one ceremony posted to another",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid().JSON()
				x.begin(map[string]any{}, x.ada)
				return x.finish(a)
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a ceremony that was refused once",
			try: func(x *signinTry) *servertest.Response {
				wantRefused(x.t, x.finish(x.valid().clientData("origin", "https://evil.example").JSON()), 401, rejected, "verification_failed")
				return x.finish(x.valid().JSON())
			},
			status: 401, code: rejected, reason: "unknown_flow",
		},
		{
			name: "refuses a registration ceremony's flowId",
			try: func(x *signinTry) *servertest.Response {
				reg := begin(x.t, x.ada.c, "/api/passkeys/register/begin", map[string]any{})
				return finishLogin(x.c, reg.FlowID, x.valid().JSON(), "modal")
			},
			status: 401, code: rejected, reason: "unknown_flow", kept: true,
		},
		{
			name: "refuses a challenge the server never issued",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(x.valid().clientData("challenge", b64(randomBytes(32))).sign().JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},

		// Client data and authenticator data that verify only for someone
		// else, re-signed so that the change is the only thing wrong: 401.
		{
			name: "refuses another origin",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(x.valid().clientData("origin", "https://evil.example").sign().JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses the right host on another port",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(x.valid().clientData("origin", "http://localhost:1").sign().JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses webauthn.create in a sign-in",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(x.valid().clientData("type", "webauthn.create").sign().JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a cross-origin iframe's assertion",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid().clientData("crossOrigin", true).clientData("topOrigin", "https://evil.example")
				return x.finish(a.sign().JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses another RP ID's hash",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid()
				a.AuthData = a.AuthData.withRPID("evil.example")
				return x.finish(a.sign().JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses an assertion without user verification (UV clear, re-signed)",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(x.valid().flags(0, flagUV).sign().JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses an assertion without user presence (UP clear, re-signed)",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(x.valid().flags(0, flagUP).sign().JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a backed-up state without backup eligibility (BS without BE)",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(x.valid().flags(flagBS, flagBE).sign().JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a passkey that stops being backup eligible",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(x.valid().flags(0, flagBE|flagBS).sign().JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a signature over other data (UV flipped after signing)",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid().flags(0, flagUV).sign()
				return x.finish(a.flags(flagUV, 0).JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a signature by another member's key",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid()
				a.Signature = x.bob.key.sign(a.AuthData, a.ClientDataJSON)
				return x.finish(a.JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses an empty signature",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(edit(x.valid().object(), "response.signature", ""))
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses an assertion with no signature",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(edit(x.valid().object(), "response.signature", removed))
			},
			status: 401, code: rejected, reason: "verification_failed",
		},

		// Sign counts (§7.2 step 22): when either count is non-zero, one
		// that does not increase may be a cloned authenticator. Refused,
		// audited, and the stored count stays.
		{
			name: "refuses a sign count that went backwards (5, then 3)",
			try: func(x *signinTry) *servertest.Response {
				x.succeed(x.valid().signCount(5).sign().JSON())
				x.begin(map[string]any{}, x.ada)
				x.mark()
				return x.finish(x.valid().signCount(3).sign().JSON())
			},
			status: 401, code: rejected, reason: "sign_count_regression",
			check: func(x *signinTry) { wantCloneWarning(x.t, x.s, x.ada, 5, 3) },
		},
		{
			name: "refuses a sign count that stayed the same (5, then 5)",
			try: func(x *signinTry) *servertest.Response {
				x.succeed(x.valid().signCount(5).sign().JSON())
				x.begin(map[string]any{}, x.ada)
				x.mark()
				return x.finish(x.valid().signCount(5).sign().JSON())
			},
			status: 401, code: rejected, reason: "sign_count_regression",
			check: func(x *signinTry) { wantCloneWarning(x.t, x.s, x.ada, 5, 5) },
		},
		{
			name: "refuses a sign count that fell to zero (5, then 0)",
			try: func(x *signinTry) *servertest.Response {
				x.succeed(x.valid().signCount(5).sign().JSON())
				x.begin(map[string]any{}, x.ada)
				x.mark()
				return x.finish(x.valid().signCount(0).sign().JSON())
			},
			status: 401, code: rejected, reason: "sign_count_regression",
			check: func(x *signinTry) { wantCloneWarning(x.t, x.s, x.ada, 5, 0) },
		},

		// Whose credential: 401.
		{
			name: "refuses another member's passkey in a username-first ceremony",
			try: func(x *signinTry) *servertest.Response {
				x.begin(map[string]any{"email": x.bob.email}, x.bob)
				return x.finish(x.ada.key.assertionFor(x.cer).JSON())
			},
			status: 401, code: rejected, reason: "wrong_user",
		},
		{
			name: "refuses a passkey in a username-first ceremony for an address without one",
			try: func(x *signinTry) *servertest.Response {
				carol := newMemberWithoutPasskey(x.t, x.s, "carol-"+x.ada.email)
				x.begin(map[string]any{"email": carol.email}, x.ada)
				return x.finish(x.valid().JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a passkey in a username-first ceremony for an address with no account",
			try: func(x *signinTry) *servertest.Response {
				x.begin(map[string]any{"email": "nobody-" + x.ada.email}, x.ada)
				return x.finish(x.valid().JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a user handle that is another member's",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid()
				a.UserHandle = x.bob.handle()
				return x.finish(a.JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a discoverable assertion without a user handle",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid()
				a.UserHandle = nil
				return x.finish(a.JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses an unknown credential id",
			try: func(x *signinTry) *servertest.Response {
				stranger := newSoftKey(x.t, x.s)
				stranger.auth.Options.UserHandle = x.ada.handle()
				return x.finish(stranger.assertionFor(x.cer).JSON())
			},
			status: 401, code: rejected, reason: "unknown_credential",
		},
		{
			name: "refuses a deleted passkey",
			try: func(x *signinTry) *servertest.Response {
				pk := listPasskeys(x.t, x.ada.c)[0]
				wantStatus(x.t, x.ada.c.JSON(http.MethodDelete, "/api/passkeys/"+pk.ID, nil), http.StatusNoContent)
				x.mark()
				return x.finish(x.valid().JSON())
			},
			status: 401, code: rejected, reason: "unknown_credential",
		},

		// Oversized fields inside the 64 KiB body: well-formed, so 401.
		{
			name: "refuses a 60 KiB signature",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid()
				a.Signature = randomBytes(big)
				return x.finish(a.JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a 30 KiB credential id (in id and in rawId)",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid()
				a.ID = b64(randomBytes(big / 2))
				a.RawID = a.ID
				return x.finish(a.JSON())
			},
			status: 401, code: rejected, reason: "unknown_credential",
		},
		{
			name: "refuses a 60 KiB user handle",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid()
				a.UserHandle = randomBytes(big)
				return x.finish(a.JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a 60 KiB clientDataJSON",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(x.valid().clientData("padding", strings.Repeat("x", big)).JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},

		// Not an assertion at all: 400.
		{
			name: "refuses an id that does not match rawId",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid()
				a.ID = b64(x.bob.key.cred.ID)
				return x.finish(a.JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a rawId that is not base64url",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(edit(x.valid().object(), "rawId", "not base64url!"))
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses an id in standard base64 (+ and /)",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid()
				id := strings.NewReplacer("-", "+", "_", "/").Replace(a.ID) + "+/"
				return x.finish(edit(a.object(), "id", id))
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses an authenticatorData that is not base64url",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(edit(x.valid().object(), "response.authenticatorData", "%%%"))
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a clientDataJSON that is not base64url",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(edit(x.valid().object(), "response.clientDataJSON", "{\"type\":\"webauthn.get\"}"))
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a signature that is not base64url",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(edit(x.valid().object(), "response.signature", "sig nature"))
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a userHandle that is a number",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(edit(x.valid().object(), "response.userHandle", 42))
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses authenticatorData too short for flags and count",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid()
				a.AuthData = a.AuthData[:33]
				return x.finish(a.sign().JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses authenticatorData with bytes after the count",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid()
				a.AuthData = append(a.AuthData, 0xa0)
				return x.finish(a.sign().JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses authenticatorData with malformed CBOR extensions",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid().flags(flagED, 0)
				a.AuthData = append(a.AuthData, 0xbf, 0xff, 0xff, 0x1c)
				return x.finish(a.sign().JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses authenticatorData claiming extensions it does not carry",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(x.valid().flags(flagED, 0).sign().JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses authenticatorData claiming attested credential data it does not carry",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(x.valid().flags(flagAT, 0).sign().JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a 60 KiB authenticatorData",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid()
				a.AuthData = append(a.AuthData, randomBytes(big)...)
				return x.finish(a.JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a clientDataJSON that is not JSON",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid()
				a.ClientDataJSON = []byte(`{"type":"webauthn.get",`)
				return x.finish(a.sign().JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a clientDataJSON that is a JSON array",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid()
				a.ClientDataJSON = []byte(`["webauthn.get"]`)
				return x.finish(a.sign().JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a clientDataJSON that is not UTF-8",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid()
				a.ClientDataJSON = bytes.Replace(a.ClientDataJSON, []byte(`"webauthn.get"`), []byte("\"webauthn.get\xff\""), 1)
				return x.finish(a.sign().JSON())
			},
			status: 401, code: rejected, reason: "verification_failed",
		},
		{
			name: "refuses a credential of type other than public-key",
			try: func(x *signinTry) *servertest.Response {
				a := x.valid()
				a.Type = "password"
				return x.finish(a.JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a credential without an id",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(edit(x.valid().object(), "id", removed))
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a credential without a rawId",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(edit(x.valid().object(), "rawId", removed))
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a credential without a response",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(edit(x.valid().object(), "response", removed))
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a response without authenticatorData",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(edit(x.valid().object(), "response.authenticatorData", removed))
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a response without clientDataJSON",
			try: func(x *signinTry) *servertest.Response {
				return x.finish(edit(x.valid().object(), "response.clientDataJSON", removed))
			},
			status: 400, code: invalid,
		},
		{
			name:   "refuses a credential that is a string",
			try:    func(x *signinTry) *servertest.Response { return x.finish("credential") },
			status: 400, code: invalid,
		},
		{
			name:   "refuses a credential that is an array",
			try:    func(x *signinTry) *servertest.Response { return x.finish([]any{x.valid().object()}) },
			status: 400, code: invalid,
		},
		{
			name:   "refuses a credential that is null",
			try:    func(x *signinTry) *servertest.Response { return x.finish(nil) },
			status: 400, code: invalid,
		},
		{
			name: "refuses a finish without a credential",
			try: func(x *signinTry) *servertest.Response {
				return x.post(mustJSON(x.t, map[string]any{"flowId": x.cer.FlowID}))
			},
			status: 400, code: invalid,
		},

		// Bodies that name no ceremony, or are not read at all: the try's
		// ceremony stays open.
		{
			name: "refuses a flowId with NUL bytes",
			try: func(x *signinTry) *servertest.Response {
				return finishLogin(x.c, x.cer.FlowID+"\x00", x.valid().JSON(), "modal")
			},
			status: 401, code: rejected, reason: "unknown_flow", kept: true,
		},
		{
			name: "refuses a 10 KB flowId",
			try: func(x *signinTry) *servertest.Response {
				return finishLogin(x.c, x.cer.FlowID+strings.Repeat("A", 10<<10), x.valid().JSON(), "modal")
			},
			status: 401, code: rejected, reason: "unknown_flow", kept: true,
		},
		{
			name: "refuses a flowId that is a number",
			try: func(x *signinTry) *servertest.Response {
				return x.post(mustJSON(x.t, map[string]any{"flowId": 7, "credential": x.valid().object()}))
			},
			status: 400, code: "invalid_request", kept: true,
		},
		{
			name: "refuses a body that is not JSON",
			try: func(x *signinTry) *servertest.Response {
				return x.post([]byte(`{"flowId":"` + x.cer.FlowID + `","credential":`))
			},
			status: 400, code: "invalid_request", kept: true,
		},
		{
			name: "refuses a body over 64 KiB",
			try: func(x *signinTry) *servertest.Response {
				return x.post(mustJSON(x.t, map[string]any{"flowId": x.cer.FlowID, "credential": x.valid().object(),
					"padding": strings.Repeat("x", 64<<10)}))
			},
			status: 413, code: "body_too_large", kept: true,
		},
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				x := &signinTry{t: t, s: s, c: s.Client(t),
					ada: newPasskeyMember(t, s, fmt.Sprintf("ada%d@example.com", i)),
					bob: newPasskeyMember(t, s, fmt.Sprintf("bob%d@example.com", i))}
				x.begin(map[string]any{}, x.ada)
				x.mark()
				wantRefused(t, tt.try(x), tt.status, tt.code, tt.reason)
				wantSignedOut(t, x.c)
				s.wantStateUnchanged(t, x.before, x.ada, x.bob)
				if tt.check != nil {
					tt.check(x)
				}
				// The owner's correct answer to the try's ceremony: refused
				// when the attempt consumed it, accepted when it never did.
				retry := finishLogin(x.c, x.cer.FlowID, x.valid().signCount(100).sign().JSON(), "modal")
				if tt.kept {
					wantStatus(t, retry, http.StatusOK)
				} else {
					wantRefused(t, retry, 401, rejected, "unknown_flow")
					wantSignedOut(t, x.c)
				}
			})
		}
	})
}

// wantCloneWarning checks that m's passkey has exactly one clone warning in
// the audit log, with the counts, and that its stored count is still stored.
func wantCloneWarning(t *testing.T, s *liveSite, m *passkeyMember, stored, received uint32) {
	t.Helper()
	events, err := s.DB.FindEvents(context.Background(), store.EventFilter{UserID: m.id, Type: "passkey_clone_warning"})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 {
		t.Fatalf("%d passkey_clone_warning events, want 1: %+v", len(events), events)
	}
	e := events[0]
	if e.Outcome != "failure" || e.Data["stored"] != float64(stored) || e.Data["received"] != float64(received) || e.Data["passkey"] == nil {
		t.Errorf("clone warning %+v, want stored %d received %d", e, stored, received)
	}
	pks, err := s.DB.ListPasskeys(context.Background(), m.id)
	if err != nil {
		t.Fatal(err)
	}
	if len(pks) != 1 || pks[0].SignCount != stored {
		t.Errorf("stored passkeys %+v, want one with sign count %d", pks, stored)
	}
}

// TestPasskeySignCountsThatMoveOn checks the counts that are not a
// regression (§7.2 step 22): both zero (authenticators that keep no count,
// like most synced passkeys) and strictly increasing. Each is accepted and
// stored.
func TestPasskeySignCountsThatMoveOn(t *testing.T) {
	tests := []struct {
		name   string
		counts []uint32
	}{
		{"accepts a count that stays zero", []uint32{0, 0, 0}},
		{"accepts a count that increases", []uint32{1, 2, 7}},
		{"accepts a first count after zeros", []uint32{0, 0, 5}},
		{"accepts the largest count", []uint32{1, 1<<32 - 1}},
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				m := newPasskeyMember(t, s, fmt.Sprintf("ada%d@example.com", i))
				for _, n := range tt.counts {
					c := s.Client(t)
					cer := begin(t, c, "/api/passkeys/login/begin", map[string]any{})
					wantStatus(t, finishLogin(c, cer.FlowID, m.key.assertionFor(cer).signCount(n).sign().JSON(), "modal"), http.StatusOK)
					currentSession(t, c)
					pks, err := s.DB.ListPasskeys(context.Background(), m.id)
					if err != nil {
						t.Fatal(err)
					}
					if pks[0].SignCount != n {
						t.Errorf("after count %d: stored %d", n, pks[0].SignCount)
					}
				}
				if events, _ := s.DB.FindEvents(context.Background(), store.EventFilter{UserID: m.id, Type: "passkey_clone_warning"}); len(events) != 0 {
					t.Errorf("clone warnings %+v", events)
				}
			})
		}
	})
}

// TestPasskeyCeremoniesExpire advances the clock past the challenge timeout
// (5 minutes) between begin and finish: refused, and the ceremony is gone.
func TestPasskeyCeremoniesExpire(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newPasskeyMember(t, s, "ada@example.com")
		c := s.Client(t)

		t.Run("refuses a sign-in finished 5 minutes and 1 second after it began", func(t *testing.T) {
			cer := begin(t, c, "/api/passkeys/login/begin", map[string]any{})
			before := s.stateOf(t, ada)
			s.Clock.Advance(5*time.Minute + time.Second)
			a := ada.key.assertionFor(cer).signCount(1).sign().JSON()
			wantRefused(t, finishLogin(c, cer.FlowID, a, "modal"), 401, "passkey_rejected", "expired")
			wantSignedOut(t, c)
			s.wantStateUnchanged(t, before, ada)
			// Refused for good (expired, or gone once the janitor swept it).
			wantRefused(t, finishLogin(c, cer.FlowID, a, "modal"), 401, "passkey_rejected", "")
			wantSignedOut(t, c)
		})
		t.Run("refuses a sign-in finished exactly at the timeout", func(t *testing.T) {
			cer := begin(t, c, "/api/passkeys/login/begin", map[string]any{})
			s.Clock.Advance(5 * time.Minute)
			wantRefused(t, finishLogin(c, cer.FlowID, ada.key.assertionFor(cer).signCount(2).sign().JSON(), "modal"), 401, "passkey_rejected", "expired")
			wantSignedOut(t, c)
		})
		t.Run("accepts a sign-in finished just inside the timeout", func(t *testing.T) {
			cer := begin(t, c, "/api/passkeys/login/begin", map[string]any{})
			s.Clock.Advance(5*time.Minute - time.Second)
			wantStatus(t, finishLogin(c, cer.FlowID, ada.key.assertionFor(cer).signCount(3).sign().JSON(), "modal"), http.StatusOK)
		})
		t.Run("refuses a registration finished after the timeout", func(t *testing.T) {
			// A fresh sign-in first, so that register/begin is inside the
			// reauth window.
			c := s.Client(t)
			wantStatus(t, c.Signin(ada.email, goodPassword), http.StatusOK)
			k := newSoftKey(t, s)
			cer := begin(t, c, "/api/passkeys/register/begin", map[string]any{})
			before := s.stateOf(t, ada)
			s.Clock.Advance(6 * time.Minute)
			a := k.attestationFor(cer).JSON()
			wantRefused(t, finishRegister(c, cer.FlowID, a, ""), 400, "invalid_credential", "expired")
			s.wantStateUnchanged(t, before, ada)
			wantRefused(t, finishRegister(c, cer.FlowID, a, ""), 400, "invalid_credential", "")
		})
	})
}

// TestPasskeyFinishRace finishes one valid assertion from 20 browsers at
// once: the ceremony is taken by exactly one of them (one DELETE …
// RETURNING), the others are refused, nobody gets a 500.
func TestPasskeyFinishRace(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newPasskeyMember(t, s, "ada@example.com")
		before := len(s.stateOf(t, ada)[ada.email].Sessions)
		cer := begin(t, s.Client(t), "/api/passkeys/login/begin", map[string]any{})
		body := mustJSON(t, map[string]any{"flowId": cer.FlowID, "credential": ada.key.assertionFor(cer).signCount(1).sign().JSON()})

		const n = 20
		type answer struct {
			status int
			code   string
			err    error
		}
		answers := make([]answer, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				// Not servertest.Client: it fails the test, which only the
				// test's goroutine may do.
				req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/passkeys/login/finish", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					answers[i].err = err
					return
				}
				defer res.Body.Close()
				var e apiError
				json.NewDecoder(res.Body).Decode(&e)
				answers[i] = answer{status: res.StatusCode, code: e.Error.Code}
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, a := range answers {
			switch {
			case a.err != nil:
				t.Errorf("request %d: %v", i, a.err)
			case a.status == http.StatusOK:
				ok++
			case a.status != http.StatusUnauthorized || a.code != "passkey_rejected":
				t.Errorf("request %d: %d %s, want 200 or 401 passkey_rejected", i, a.status, a.code)
			}
		}
		if ok != 1 {
			t.Errorf("%d sign-ins succeeded, want exactly 1", ok)
		}
		if after := len(s.stateOf(t, ada)[ada.email].Sessions); after != before+1 {
			t.Errorf("sessions %d → %d, want one more", before, after)
		}
	})
}

// regTry is one attempt at a registration that must be refused: ada (with
// a passkey already) adds a second one; bob is another member with one.
type regTry struct {
	t        *testing.T
	s        *liveSite
	ada, bob *passkeyMember
	key      *softKey // the authenticator ada is adding
	cer      ceremony
	before   map[string]memberState
}

// valid is a correct answer to ada's ceremony from the new authenticator.
func (x *regTry) valid() *attestation { return x.key.attestationFor(x.cer) }

// finish posts cred as ada's answer.
func (x *regTry) finish(cred any) *servertest.Response {
	return finishRegister(x.ada.c, x.cer.FlowID, cred, "")
}

func TestPasskeyRegistrationRejections(t *testing.T) {
	const invalid = "invalid_credential" // 400, see the top of this file
	tests := []struct {
		name   string
		opts   virtualwebauthn.AuthenticatorOptions
		try    func(x *regTry) *servertest.Response
		status int
		code   string
		reason string
		kept   bool
	}{
		{
			name:   "refuses a registration without user verification",
			opts:   virtualwebauthn.AuthenticatorOptions{UserNotVerified: true},
			try:    func(x *regTry) *servertest.Response { return x.finish(x.valid().JSON()) },
			status: 400, code: invalid, reason: "verification_error",
		},
		{
			name:   "refuses a registration without user presence",
			opts:   virtualwebauthn.AuthenticatorOptions{UserNotPresent: true},
			try:    func(x *regTry) *servertest.Response { return x.finish(x.valid().JSON()) },
			status: 400, code: invalid, reason: "verification_error",
		},
		{
			name: "refuses a registration without user verification, re-signed",
			try: func(x *regTry) *servertest.Response {
				return x.finish(x.valid().flags(0, flagUV).sign().JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses another origin",
			try: func(x *regTry) *servertest.Response {
				return x.finish(x.valid().clientData("origin", "https://evil.example").sign().JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses webauthn.get in a registration",
			try: func(x *regTry) *servertest.Response {
				return x.finish(x.valid().clientData("type", "webauthn.get").sign().JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a challenge the server never issued",
			try: func(x *regTry) *servertest.Response {
				return x.finish(x.valid().clientData("challenge", b64(randomBytes(32))).sign().JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses another RP ID's hash",
			try: func(x *regTry) *servertest.Response {
				a := x.valid()
				a.AuthData = a.AuthData.withRPID("evil.example")
				return x.finish(a.sign().JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a backed-up state without backup eligibility",
			try: func(x *regTry) *servertest.Response {
				return x.finish(x.valid().flags(flagBS, flagBE).sign().JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a self attestation that does not verify",
			try: func(x *regTry) *servertest.Response {
				a := x.valid().sign()
				return x.finish(a.clientData("origin", "https://evil.example").JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a ceremony begun by another member",
			try: func(x *regTry) *servertest.Response {
				return finishRegister(x.bob.c, x.cer.FlowID, x.valid().JSON(), "")
			},
			status: 400, code: invalid, reason: "unknown_flow",
		},
		{
			name: "refuses a sign-in ceremony's flowId",
			try: func(x *regTry) *servertest.Response {
				login := begin(x.t, x.ada.c, "/api/passkeys/login/begin", map[string]any{})
				return finishRegister(x.ada.c, login.FlowID, x.valid().JSON(), "")
			},
			status: 400, code: invalid, reason: "unknown_flow", kept: true,
		},
		{
			name: "refuses an attestationObject that is not CBOR",
			try: func(x *regTry) *servertest.Response {
				return x.finish(edit(x.valid().object(), "response.attestationObject", b64([]byte("{not cbor}"))))
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses an attestationObject cut short",
			try: func(x *regTry) *servertest.Response {
				o := x.valid().object()
				ao := unb64(x.t, o["response"].(map[string]any)["attestationObject"].(string))
				return x.finish(edit(o, "response.attestationObject", b64(ao[:len(ao)/2])))
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses an attestationObject that is not base64url",
			try: func(x *regTry) *servertest.Response {
				return x.finish(edit(x.valid().object(), "response.attestationObject", "o\x00o"))
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses authenticator data without attested credential data",
			try: func(x *regTry) *servertest.Response {
				a := x.valid()
				a.AuthData = a.AuthData[:37].withFlags(0, flagAT)
				return x.finish(a.sign().JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses an unknown attestation format",
			try: func(x *regTry) *servertest.Response {
				a := x.valid()
				a.Format = "homemade"
				return x.finish(a.JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a clientDataJSON that is not JSON",
			try: func(x *regTry) *servertest.Response {
				a := x.valid()
				a.ClientDataJSON = []byte("webauthn.create")
				return x.finish(a.sign().JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses an id that does not match rawId",
			try: func(x *regTry) *servertest.Response {
				a := x.valid()
				a.ID = b64(randomBytes(32))
				return x.finish(a.JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a rawId that is not the credential id in the authenticator data",
			try: func(x *regTry) *servertest.Response {
				a := x.valid()
				a.ID = b64(randomBytes(32))
				a.RawID = a.ID
				return x.finish(a.JSON())
			},
			status: 400, code: invalid,
		},
		{
			name: "refuses a 60 KiB attestationObject",
			try: func(x *regTry) *servertest.Response {
				return x.finish(edit(x.valid().object(), "response.attestationObject", b64(randomBytes(big))))
			},
			status: 400, code: invalid,
		},
		{
			name:   "refuses a credential that is a number",
			try:    func(x *regTry) *servertest.Response { return x.finish(12) },
			status: 400, code: invalid,
		},
		{
			name: "refuses a flowId with NUL bytes",
			try: func(x *regTry) *servertest.Response {
				return finishRegister(x.ada.c, x.cer.FlowID+"\x00", x.valid().JSON(), "")
			},
			status: 400, code: invalid, reason: "unknown_flow", kept: true,
		},
		{
			name: "refuses a name over 64 characters",
			try: func(x *regTry) *servertest.Response {
				return finishRegister(x.ada.c, x.cer.FlowID, x.valid().JSON(), strings.Repeat("é", 65))
			},
			status: 400, code: "invalid_request", reason: "invalid_name", kept: true,
		},
		{
			name: "refuses a name with a control character",
			try: func(x *regTry) *servertest.Response {
				return finishRegister(x.ada.c, x.cer.FlowID, x.valid().JSON(), "my\x00key")
			},
			status: 400, code: "invalid_request", reason: "invalid_name", kept: true,
		},
		{
			name: "refuses a body over 64 KiB",
			try: func(x *regTry) *servertest.Response {
				return postJSON(x.ada.c, "/api/passkeys/register/finish", mustJSON(x.t, map[string]any{
					"flowId": x.cer.FlowID, "credential": x.valid().object(), "name": strings.Repeat("n", 64<<10)}))
			},
			status: 413, code: "body_too_large", kept: true,
		},
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				x := &regTry{t: t, s: s,
					ada: newPasskeyMember(t, s, fmt.Sprintf("ada%d@example.com", i)),
					bob: newPasskeyMember(t, s, fmt.Sprintf("bob%d@example.com", i))}
				x.key = newSoftKeyWith(t, s, tt.opts)
				x.cer = begin(t, x.ada.c, "/api/passkeys/register/begin", map[string]any{})
				x.before = s.stateOf(t, x.ada, x.bob)
				wantRefused(t, tt.try(x), tt.status, tt.code, tt.reason)
				s.wantStateUnchanged(t, x.before, x.ada, x.bob)
				if events, _ := s.DB.FindEvents(context.Background(), store.EventFilter{UserID: x.ada.id, Type: "passkey_added"}); len(events) != 1 {
					t.Errorf("%d passkey_added events for ada, want the first passkey's only", len(events))
				}
				retry := finishRegister(x.ada.c, x.cer.FlowID, newSoftKey(t, s).attestationFor(x.cer).JSON(), "")
				if tt.kept {
					wantStatus(t, retry, http.StatusCreated)
				} else {
					wantRefused(t, retry, 400, invalid, "unknown_flow")
				}
			})
		}
	})
}

// TestPasskeyDuplicateCredential registers a credential id that is
// registered already: 409 passkey_exists and nothing written (§7.1 step 26
// — go-webauthn leaves credential-id uniqueness to the RP).
func TestPasskeyDuplicateCredential(t *testing.T) {
	tests := []struct {
		name string
		// dup returns the authenticator that registers for bob, given ada's.
		dup func(t *testing.T, s *liveSite, ada *softKey) *softKey
		// self: ada registers it again herself, instead of bob.
		self bool
	}{
		{
			name: "refuses another member's credential id, same key",
			dup: func(t *testing.T, s *liveSite, ada *softKey) *softKey {
				k := newSoftKey(t, s)
				k.cred, k.priv = ada.cred, ada.priv
				return k
			},
		},
		{
			name: "refuses another member's credential id with a key of its own",
			dup: func(t *testing.T, s *liveSite, ada *softKey) *softKey {
				k := newSoftKey(t, s)
				k.cred.ID = append([]byte{}, ada.cred.ID...)
				return k
			},
		},
		{
			name: "refuses the member's own credential registered twice",
			dup:  func(t *testing.T, s *liveSite, ada *softKey) *softKey { return ada },
			self: true,
		},
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ada := newPasskeyMember(t, s, fmt.Sprintf("ada%d@example.com", i))
				bob := newMemberWithoutPasskey(t, s, fmt.Sprintf("bob%d@example.com", i))
				who := bob
				if tt.self {
					who = ada
				}
				k := tt.dup(t, s, ada.key)
				cer := begin(t, who.c, "/api/passkeys/register/begin", map[string]any{})
				a := k.attestationFor(cer).JSON()
				before := s.stateOf(t, ada, bob)
				wantRefused(t, finishRegister(who.c, cer.FlowID, a, ""), http.StatusConflict, "passkey_exists", "")
				s.wantStateUnchanged(t, before, ada, bob)
				if got := listPasskeys(t, bob.c); len(got) != 0 && !tt.self {
					t.Errorf("bob's passkeys %+v, want none", got)
				}
				if events, _ := s.DB.FindEvents(context.Background(), store.EventFilter{UserID: who.id, Type: "passkey_added"}); len(events) != len(before[who.email].Passkeys) {
					t.Errorf("passkey_added events %d, want %d", len(events), len(before[who.email].Passkeys))
				}
				// The ceremony is spent; ada's passkey still signs her in.
				wantRefused(t, finishRegister(who.c, cer.FlowID, a, ""), 400, "invalid_credential", "unknown_flow")
				wantStatus(t, ada.key.signin(s.Client(t), map[string]any{}, "modal"), http.StatusOK)
			})
		}
	})
}

// TestPasskeyRoamingPolicy runs with allow_roaming off: options ask for a
// platform authenticator, and a credential reported as cross-platform (a
// security key) is refused; a platform one is accepted.
func TestPasskeyRoamingPolicy(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database, func(c *config.Config) { c.Passkey.AllowRoaming = false })
		ada := newMemberWithoutPasskey(t, s, "ada@example.com")

		cer := begin(t, ada.c, "/api/passkeys/register/begin", map[string]any{})
		var opts struct {
			AuthenticatorSelection map[string]any `json:"authenticatorSelection"`
		}
		mustUnmarshal(t, cer.PublicKey, &opts)
		if opts.AuthenticatorSelection["authenticatorAttachment"] != "platform" {
			t.Errorf("authenticatorSelection %v, want attachment platform", opts.AuthenticatorSelection)
		}
		key := newSoftKeyWith(t, s, virtualwebauthn.AuthenticatorOptions{Transports: []virtualwebauthn.Transport{virtualwebauthn.TransportUSB}})
		a := key.attestationFor(cer)
		a.Attachment = "cross-platform"
		before := s.stateOf(t, ada)
		wantRefused(t, finishRegister(ada.c, cer.FlowID, a.JSON(), ""), 400, "invalid_credential", "roaming_not_allowed")
		s.wantStateUnchanged(t, before, ada)

		cer = begin(t, ada.c, "/api/passkeys/register/begin", map[string]any{})
		a = newSoftKey(t, s).attestationFor(cer)
		a.Attachment = "platform"
		wantStatus(t, finishRegister(ada.c, cer.FlowID, a.JSON(), ""), http.StatusCreated)
	})
}

// TestPasskeyAlgorithmPolicy: the operator's algorithms are what
// registration offers and accepts. An RS256 passkey registers and signs in
// by default, and is refused where only ES256 is allowed.
func TestPasskeyAlgorithmPolicy(t *testing.T) {
	tests := []struct {
		name       string
		algorithms []string
		wantAlgs   []int
		accepted   bool
	}{
		{"accepts an RS256 passkey by default", nil, []int{-7, -8, -257}, true},
		{"refuses an RS256 passkey where only ES256 is allowed", []string{"ES256"}, []int{-7}, false},
	}
	// Two configurations, so a database each: testdb.Each by hand.
	for _, b := range testdb.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					s := startPasskeySite(t, b.Database(t), func(c *config.Config) {
						if tt.algorithms != nil {
							c.Passkey.Algorithms = tt.algorithms
						}
					})
					ada := newMemberWithoutPasskey(t, s, "ada@example.com")
					k := newSoftKey(t, s)
					k.cred = virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeRSA)
					cer := begin(t, ada.c, "/api/passkeys/register/begin", map[string]any{})
					var opts creationOptions
					mustUnmarshal(t, cer.PublicKey, &opts)
					var algs []int
					for _, p := range opts.Params {
						algs = append(algs, p.Alg)
					}
					if !slices.Equal(algs, tt.wantAlgs) {
						t.Errorf("pubKeyCredParams %v, want %v", algs, tt.wantAlgs)
					}
					r := finishRegister(ada.c, cer.FlowID, k.attestationFor(cer).JSON(), "")
					if !tt.accepted {
						wantRefused(t, r, 400, "invalid_credential", "")
						if list := listPasskeys(t, ada.c); len(list) != 0 {
							t.Errorf("stored %+v", list)
						}
						return
					}
					wantStatus(t, r, http.StatusCreated)
					k.auth.AddCredential(k.cred)
					wantStatus(t, k.signin(s.Client(t), map[string]any{"email": ada.email}, "modal"), http.StatusOK)
				})
			}
		})
	}
}

// TestPasskeySignCountRace finishes ten ceremonies at once, each with an
// assertion carrying the same sign count: what a cloned authenticator used
// in two places looks like. A count above the stored one passes once — the
// rule of §7.2 step 22 holds in the write itself, not only in the check
// before it — and the others are refused and audited. Authenticators that
// keep no count (zero, then zero) all pass.
func TestPasskeySignCountRace(t *testing.T) {
	tests := []struct {
		name          string
		stored, count uint32
		wantOK        int
	}{
		{"lets one of ten sign-ins with the same count through", 5, 6, 1},
		{"lets every sign-in without a count through", 0, 0, 10},
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ada := newPasskeyMember(t, s, fmt.Sprintf("ada%d@example.com", i))
				c := s.Client(t)
				if tt.stored > 0 {
					cer := begin(t, c, "/api/passkeys/login/begin", map[string]any{})
					wantStatus(t, finishLogin(c, cer.FlowID, ada.key.assertionFor(cer).signCount(tt.stored).sign().JSON(), "modal"), http.StatusOK)
				}
				sessions := len(s.stateOf(t, ada)[ada.email].Sessions)
				const n = 10
				bodies := make([][]byte, n)
				for j := range bodies {
					cer := begin(t, c, "/api/passkeys/login/begin", map[string]any{})
					bodies[j] = mustJSON(t, map[string]any{"flowId": cer.FlowID, "credential": ada.key.assertionFor(cer).signCount(tt.count).sign().JSON()})
				}
				type answer struct {
					status       int
					code, reason string
					err          error
				}
				answers := make([]answer, n)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for j := range n {
					wg.Go(func() {
						<-start
						res, err := http.Post(s.URL+"/api/passkeys/login/finish", "application/json", bytes.NewReader(bodies[j]))
						if err != nil {
							answers[j].err = err
							return
						}
						defer res.Body.Close()
						var e apiError
						json.NewDecoder(res.Body).Decode(&e)
						answers[j] = answer{status: res.StatusCode, code: e.Error.Code, reason: e.Error.Reason}
					})
				}
				close(start)
				wg.Wait()
				ok := 0
				for j, a := range answers {
					switch {
					case a.err != nil:
						t.Errorf("sign-in %d: %v", j, a.err)
					case a.status == http.StatusOK:
						ok++
					case a.status != http.StatusUnauthorized || a.code != "passkey_rejected" || a.reason != "":
						// Why it was refused is in the clone warnings counted
						// below, never in the answer.
						t.Errorf("sign-in %d: %d %s %q, want 200 or 401 passkey_rejected without a reason", j, a.status, a.code, a.reason)
					}
				}
				if ok != tt.wantOK {
					t.Errorf("%d sign-ins passed, want %d", ok, tt.wantOK)
				}
				after := s.stateOf(t, ada)[ada.email]
				if len(after.Sessions) != sessions+tt.wantOK || after.Passkeys[0].SignCount != tt.count {
					t.Errorf("sessions %d → %d, stored count %d; want %d more sessions and count %d",
						sessions, len(after.Sessions), after.Passkeys[0].SignCount, tt.wantOK, tt.count)
				}
				events, err := s.DB.FindEvents(context.Background(), store.EventFilter{UserID: ada.id, Type: "passkey_clone_warning"})
				if err != nil {
					t.Fatal(err)
				}
				if len(events) != n-tt.wantOK {
					t.Errorf("%d clone warnings, want one per refusal (%d)", len(events), n-tt.wantOK)
				}
			})
		}
	})
}
