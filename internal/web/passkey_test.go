package web_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/descope/virtualwebauthn"
	"github.com/fxamacker/cbor/v2"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// softKey is a software authenticator (descope/virtualwebauthn) holding
// passkeys for one keyshift. Its credential is made from an ECDSA key the
// test holds, so a test can sign whatever it forges (see assertion and
// attestation).
type softKey struct {
	t    testing.TB
	rp   virtualwebauthn.RelyingParty
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
	priv *ecdsa.PrivateKey
}

// newSoftKey returns an authenticator like a synced passkey provider's:
// backup eligible and backed up.
func newSoftKey(t testing.TB, s *liveSite) *softKey {
	return newSoftKeyWith(t, s, virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true})
}

// newSoftKeyWith returns an authenticator with opts (flags, transports).
func newSoftKeyWith(t testing.TB, s *liveSite, opts virtualwebauthn.AuthenticatorOptions) *softKey {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return &softKey{
		t:    t,
		rp:   virtualwebauthn.RelyingParty{ID: "localhost", Name: "keyshift", Origin: s.URL},
		auth: virtualwebauthn.NewAuthenticatorWithOptions(opts),
		cred: virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, der),
		priv: priv,
	}
}

// sign returns k's ECDSA-SHA256 signature over authData ‖ SHA-256(clientDataJSON),
// what both ceremonies sign (WebAuthn L3 §6.3.3 step 11, §8.2).
func (k *softKey) sign(authData, clientDataJSON []byte) []byte {
	k.t.Helper()
	hash := sha256.Sum256(clientDataJSON)
	digest := sha256.Sum256(append(append([]byte{}, authData...), hash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	return sig
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
	k.auth.AddCredential(k.cred)
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

// Authenticator data flags (WebAuthn L3 §6.1).
const (
	flagUP byte = 0x01
	flagUV byte = 0x04
	flagBE byte = 0x08
	flagBS byte = 0x10
	flagAT byte = 0x40
	flagED byte = 0x80
)

// b64 is base64url without padding, as WebAuthn's JSON serialization has it.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64url %q: %v", s, err)
	}
	return b
}

// authData is authenticator data (WebAuthn L3 §6.1): rpIdHash(32) |
// flags(1) | signCount(4, big endian) | attested credential data |
// extensions. Its methods change a copy.
type authData []byte

func (d authData) withFlags(set, clear byte) authData {
	d = append(authData{}, d...)
	d[32] = d[32]&^clear | set
	return d
}

func (d authData) withSignCount(n uint32) authData {
	d = append(authData{}, d...)
	binary.BigEndian.PutUint32(d[33:37], n)
	return d
}

func (d authData) withRPID(rpID string) authData {
	d = append(authData{}, d...)
	h := sha256.Sum256([]byte(rpID))
	copy(d[:32], h[:])
	return d
}

// withClientData returns clientDataJSON with member key set to v (removed
// when v is nil).
func withClientData(t testing.TB, clientDataJSON []byte, key string, v any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(clientDataJSON, &m); err != nil {
		t.Fatal(err)
	}
	if v == nil {
		delete(m, key)
	} else {
		m[key] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertion is a decoded sign-in response (PublicKeyCredential.toJSON() of
// a get()): a test changes any part, re-signs when it needs a valid
// signature over the changed data, and posts JSON() — or breaks the
// encoding itself with edit.
type assertion struct {
	key            *softKey
	ID, RawID      string
	Type           string
	ClientDataJSON []byte
	AuthData       authData
	Signature      []byte
	UserHandle     []byte
	Attachment     string
}

// assertionFor answers cer, a login/begin answer, with k's credential: a
// correct response (virtualwebauthn), decoded.
func (k *softKey) assertionFor(cer ceremony) *assertion {
	k.t.Helper()
	opts, err := virtualwebauthn.ParseAssertionOptions(string(cer.PublicKey))
	if err != nil {
		k.t.Fatal(err)
	}
	var raw struct {
		ID       string `json:"id"`
		RawID    string `json:"rawId"`
		Type     string `json:"type"`
		Response struct {
			ClientDataJSON    string `json:"clientDataJSON"`
			AuthenticatorData string `json:"authenticatorData"`
			Signature         string `json:"signature"`
			UserHandle        string `json:"userHandle"`
		} `json:"response"`
	}
	if err := json.Unmarshal([]byte(virtualwebauthn.CreateAssertionResponse(k.rp, k.auth, k.cred, *opts)), &raw); err != nil {
		k.t.Fatal(err)
	}
	return &assertion{
		key: k, ID: raw.ID, RawID: raw.RawID, Type: raw.Type,
		ClientDataJSON: unb64(k.t, raw.Response.ClientDataJSON),
		AuthData:       unb64(k.t, raw.Response.AuthenticatorData),
		Signature:      unb64(k.t, raw.Response.Signature),
		UserHandle:     unb64(k.t, raw.Response.UserHandle),
	}
}

// clientData sets one member of clientDataJSON (nil removes it); the
// signature is left as it was.
func (a *assertion) clientData(key string, v any) *assertion {
	a.ClientDataJSON = withClientData(a.key.t, a.ClientDataJSON, key, v)
	return a
}

// signCount sets the sign count; the signature is left as it was.
func (a *assertion) signCount(n uint32) *assertion {
	a.AuthData = a.AuthData.withSignCount(n)
	return a
}

// flags sets and clears flag bits; the signature is left as it was.
func (a *assertion) flags(set, clear byte) *assertion {
	a.AuthData = a.AuthData.withFlags(set, clear)
	return a
}

// sign re-signs authenticator data and client data with the key's
// credential, so that only what the test changed is wrong.
func (a *assertion) sign() *assertion {
	a.Signature = a.key.sign(a.AuthData, a.ClientDataJSON)
	return a
}

// object is the response as PublicKeyCredential.toJSON() gives it.
func (a *assertion) object() map[string]any {
	resp := map[string]any{
		"clientDataJSON":    b64(a.ClientDataJSON),
		"authenticatorData": b64(a.AuthData),
		"signature":         b64(a.Signature),
	}
	if a.UserHandle != nil {
		resp["userHandle"] = b64(a.UserHandle)
	}
	m := map[string]any{"id": a.ID, "rawId": a.RawID, "type": a.Type, "response": resp, "clientExtensionResults": map[string]any{}}
	if a.Attachment != "" {
		m["authenticatorAttachment"] = a.Attachment
	}
	return m
}

// JSON is the response, encoded.
func (a *assertion) JSON() json.RawMessage { return mustJSON(a.key.t, a.object()) }

// attestation is a decoded registration response (toJSON() of a create()),
// its attestationObject decoded too.
type attestation struct {
	key            *softKey
	ID, RawID      string
	Type           string
	ClientDataJSON []byte
	Format         string
	AttStmt        cbor.RawMessage
	AuthData       authData
	Transports     []string
	Attachment     string
}

// attestationObject is the CBOR map inside a registration response
// (WebAuthn L3 §6.5).
type attestationObject struct {
	Format   string          `cbor:"fmt"`
	AttStmt  cbor.RawMessage `cbor:"attStmt"`
	AuthData []byte          `cbor:"authData"`
}

// attestationFor answers cer, a register/begin answer, with k's credential:
// a correct response (virtualwebauthn, "packed" self attestation), decoded.
// k's user handle becomes the member's.
func (k *softKey) attestationFor(cer ceremony) *attestation {
	k.t.Helper()
	opts, err := virtualwebauthn.ParseAttestationOptions(string(cer.PublicKey))
	if err != nil {
		k.t.Fatal(err)
	}
	k.auth.Options.UserHandle = []byte(opts.UserID)
	var raw struct {
		ID       string `json:"id"`
		RawID    string `json:"rawId"`
		Type     string `json:"type"`
		Response struct {
			ClientDataJSON    string   `json:"clientDataJSON"`
			AttestationObject string   `json:"attestationObject"`
			Transports        []string `json:"transports"`
		} `json:"response"`
	}
	if err := json.Unmarshal([]byte(virtualwebauthn.CreateAttestationResponse(k.rp, k.auth, k.cred, *opts)), &raw); err != nil {
		k.t.Fatal(err)
	}
	var obj attestationObject
	if err := cbor.Unmarshal(unb64(k.t, raw.Response.AttestationObject), &obj); err != nil {
		k.t.Fatal(err)
	}
	return &attestation{
		key: k, ID: raw.ID, RawID: raw.RawID, Type: raw.Type,
		ClientDataJSON: unb64(k.t, raw.Response.ClientDataJSON),
		Format:         obj.Format, AttStmt: obj.AttStmt, AuthData: obj.AuthData,
		Transports: raw.Response.Transports,
	}
}

// clientData sets one member of clientDataJSON (nil removes it); the
// attestation signature is left as it was.
func (a *attestation) clientData(key string, v any) *attestation {
	a.ClientDataJSON = withClientData(a.key.t, a.ClientDataJSON, key, v)
	return a
}

// flags sets and clears flag bits; the signature is left as it was.
func (a *attestation) flags(set, clear byte) *attestation {
	a.AuthData = a.AuthData.withFlags(set, clear)
	return a
}

// sign re-signs a "packed" self attestation over the (changed) data.
func (a *attestation) sign() *attestation {
	stmt, err := cbor.Marshal(map[string]any{"alg": -7, "sig": a.key.sign(a.AuthData, a.ClientDataJSON)})
	if err != nil {
		a.key.t.Fatal(err)
	}
	a.Format, a.AttStmt = "packed", stmt
	return a
}

// object is the response as PublicKeyCredential.toJSON() gives it.
func (a *attestation) object() map[string]any {
	obj, err := cbor.Marshal(attestationObject{Format: a.Format, AttStmt: a.AttStmt, AuthData: a.AuthData})
	if err != nil {
		a.key.t.Fatal(err)
	}
	resp := map[string]any{"clientDataJSON": b64(a.ClientDataJSON), "attestationObject": b64(obj)}
	if a.Transports != nil {
		resp["transports"] = a.Transports
	}
	m := map[string]any{"id": a.ID, "rawId": a.RawID, "type": a.Type, "response": resp, "clientExtensionResults": map[string]any{}}
	if a.Attachment != "" {
		m["authenticatorAttachment"] = a.Attachment
	}
	return m
}

// JSON is the response, encoded.
func (a *attestation) JSON() json.RawMessage { return mustJSON(a.key.t, a.object()) }

// removed, as the value of edit, deletes the member.
var removed = new(struct{})

// edit sets the member at path ("response.signature") of a decoded JSON
// response to v, or deletes it when v is removed, and returns m. It is for
// breaking what the typed fields cannot: encodings and JSON types.
func edit(m map[string]any, path string, v any) map[string]any {
	keys := strings.Split(path, ".")
	at := m
	for _, k := range keys[:len(keys)-1] {
		next, ok := at[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			at[k] = next
		}
		at = next
	}
	last := keys[len(keys)-1]
	if v == removed {
		delete(at, last)
	} else {
		at[last] = v
	}
	return m
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
func (m *passkeyMember) handle() []byte { return m.key.auth.Options.UserHandle }

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
		// (TestFinishLoginRefusals).
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
		a := k.attestationFor(cer).sign()
		k.auth.AddCredential(k.cred)
		wantStatus(t, finishRegister(c, cer.FlowID, a.JSON(), ""), http.StatusCreated)

		fresh := s.Client(t)
		cer = begin(t, fresh, "/api/passkeys/login/begin", map[string]any{})
		wantStatus(t, finishLogin(fresh, cer.FlowID, k.assertionFor(cer).signCount(1).sign().JSON(), "modal"), http.StatusOK)
		currentSession(t, fresh)
	})
}

func mustUnmarshal(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
}
