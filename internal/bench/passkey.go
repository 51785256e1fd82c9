package bench

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Passkey is a software authenticator holding one discoverable ES256
// credential for one keyshift, as a platform passkey provider would: user
// presence and verification on every assertion, backed up (BE and BS set),
// sign count always 0 like the synced passkeys of the big providers — so
// one credential can answer many sign-ins at once without a count going
// backwards. It is a load client, not a test of WebAuthn edge cases: the
// key is parsed once and each assertion costs one ECDSA signature, so the
// client takes as little as possible of the CPU it shares with the server.
type Passkey struct {
	ID         []byte // credential id
	UserHandle []byte
	origin     string
	rpIDHash   [32]byte
	key        *ecdsa.PrivateKey
	// device is the device cookie ("name=value") the browser holding this
	// passkey was given at its last sign-in: a returning browser, which
	// keyshift does not mail about as a new device.
	device atomic.Pointer[string]
}

// NewPasskey makes a fresh credential for the keyshift at origin; its RP ID
// is origin's host name (keyshift's default).
func NewPasskey(origin string) (*Passkey, error) {
	u, err := url.Parse(origin)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 32)
	rand.Read(id)
	return &Passkey{ID: id, origin: origin, rpIDHash: sha256.Sum256([]byte(u.Hostname())), key: key}, nil
}

// PasskeyFor returns the credential id with user handle and key for the
// keyshift at origin: a passkey that exists already, such as one that
// GenUsers generated (GenPasskeys) and an import stored.
func PasskeyFor(origin string, id, userHandle []byte, key *ecdsa.PrivateKey) (*Passkey, error) {
	u, err := url.Parse(origin)
	if err != nil {
		return nil, err
	}
	return &Passkey{ID: id, UserHandle: userHandle, origin: origin, rpIDHash: sha256.Sum256([]byte(u.Hostname())), key: key}, nil
}

// ForOrigin returns the same credential (id, user handle, key) for the
// keyshift at origin, as one authenticator serves every origin of an RP ID:
// a member whose account moved to a new server with the same RP ID signs in
// there with the passkey they have. The device cookie is not carried over.
func (p *Passkey) ForOrigin(origin string) (*Passkey, error) {
	u, err := url.Parse(origin)
	if err != nil {
		return nil, err
	}
	return &Passkey{ID: p.ID, UserHandle: p.UserHandle, origin: origin, rpIDHash: sha256.Sum256([]byte(u.Hostname())), key: p.key}, nil
}

// Authenticator data flags (WebAuthn L3 §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
)

// options is the part of a begin answer the authenticator reads.
type options struct {
	Challenge string `json:"challenge"`
	User      struct {
		ID string `json:"id"`
	} `json:"user"`
}

// Create answers creation options (the publicKey of a register/begin
// answer) with a registration response in WebAuthn L3 JSON, attestation
// "none", and remembers the user handle.
func (p *Passkey) Create(publicKey []byte) ([]byte, error) {
	var o options
	if err := json.Unmarshal(publicKey, &o); err != nil {
		return nil, err
	}
	handle, err := base64.RawURLEncoding.DecodeString(o.User.ID)
	if err != nil {
		return nil, fmt.Errorf("user.id: %w", err)
	}
	p.UserHandle = handle
	cose, err := coseES256(&p.key.PublicKey)
	if err != nil {
		return nil, err
	}
	authData := p.authData(flagUP | flagUV | flagBE | flagBS | flagAT)
	authData = append(authData, make([]byte, 16)...) // AAGUID: none
	authData = binary.BigEndian.AppendUint16(authData, uint16(len(p.ID)))
	authData = append(authData, p.ID...)
	authData = append(authData, cose...)
	att, err := webauthncbor.Marshal(struct {
		Fmt      string         `cbor:"fmt"`
		AttStmt  map[string]any `cbor:"attStmt"`
		AuthData []byte         `cbor:"authData"`
	}{"none", map[string]any{}, authData})
	if err != nil {
		return nil, err
	}
	return p.credentialJSON(map[string]any{
		"clientDataJSON":    b64(p.clientData("webauthn.create", o.Challenge)),
		"attestationObject": b64(att),
		"transports":        []string{"internal", "hybrid"},
	})
}

// Get answers request options (the publicKey of a login/begin answer) with
// an assertion in WebAuthn L3 JSON.
func (p *Passkey) Get(publicKey []byte) ([]byte, error) {
	var o options
	if err := json.Unmarshal(publicKey, &o); err != nil {
		return nil, err
	}
	authData := p.authData(flagUP | flagUV | flagBE | flagBS)
	cd := p.clientData("webauthn.get", o.Challenge)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(authData, cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, p.key, digest[:])
	if err != nil {
		return nil, err
	}
	return p.credentialJSON(map[string]any{
		"clientDataJSON": b64(cd), "authenticatorData": b64(authData),
		"signature": b64(sig), "userHandle": b64(p.UserHandle),
	})
}

// DeviceCookie returns the device cookie ("name=value") of p's last
// sign-in, or "" before the first.
func (p *Passkey) DeviceCookie() string {
	if d := p.device.Load(); d != nil {
		return *d
	}
	return ""
}

// authData is the RP ID hash, flags and a zero sign count.
func (p *Passkey) authData(flags byte) []byte {
	out := make([]byte, 0, 37+16+2+len(p.ID)+80)
	out = append(out, p.rpIDHash[:]...)
	return append(out, flags, 0, 0, 0, 0)
}

func (p *Passkey) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": p.origin, "crossOrigin": false})
	return b
}

func (p *Passkey) credentialJSON(response map[string]any) ([]byte, error) {
	return json.Marshal(map[string]any{
		"id": b64(p.ID), "rawId": b64(p.ID), "type": string(protocol.PublicKeyCredentialType),
		"authenticatorAttachment": "platform", "response": response, "clientExtensionResults": map[string]any{},
	})
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// ceremony is a begin answer.
type ceremony struct {
	FlowID    string          `json:"flowId"`
	PublicKey json.RawMessage `json:"publicKey"`
}

// postJSON posts body (with cookie, "name=value; …", when not empty),
// checks the status and decodes the answer into out (when not nil).
func (t *Target) postJSON(ctx context.Context, path, cookie string, body, out any, want int) (*http.Response, error) {
	res, raw, err := t.send(ctx, path, cookie, body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != want {
		return nil, fmt.Errorf("%s: status %d %s", path, res.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return res, nil
}

func (t *Target) send(ctx context.Context, path, cookie string, body any) (*http.Response, []byte, error) {
	buf, err := json.Marshal(body)
	if err != nil {
		return nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL+path, bytes.NewReader(buf))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	if t.ForwardedFor != "" {
		req.Header.Set("X-Forwarded-For", t.ForwardedFor)
	}
	res, err := t.HTTP.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return res, raw, err
}

// RegisterPasskey adds a new software passkey to the member signed in with
// cookie, through the API as a browser would, and returns it with the
// session cookie to use from now on: adding a passkey rotates the
// session's token.
func (t *Target) RegisterPasskey(ctx context.Context, cookie string) (*Passkey, string, error) {
	p, err := NewPasskey(t.URL)
	if err != nil {
		return nil, "", err
	}
	var c ceremony
	if _, err := t.postJSON(ctx, "/api/passkeys/register/begin", cookie, struct{}{}, &c, http.StatusOK); err != nil {
		return nil, "", err
	}
	cred, err := p.Create(c.PublicKey)
	if err != nil {
		return nil, "", err
	}
	res, err := t.postJSON(ctx, "/api/passkeys/register/finish", cookie,
		map[string]any{"flowId": c.FlowID, "credential": json.RawMessage(cred)}, nil, http.StatusCreated)
	if err != nil {
		return nil, "", err
	}
	for _, sc := range res.Cookies() {
		if strings.HasSuffix(sc.Name, "ks_session") {
			cookie = sc.Name + "=" + sc.Value
		}
	}
	return p, cookie, nil
}

// PasskeySignin signs in with p the way the "Sign in with a passkey"
// button does: a discoverable login/begin, the authenticator's assertion,
// login/finish. An error unless both answer 200 and a session cookie is set.
// Like a browser, it sends the device cookie of p's previous sign-in and
// keeps the one it is given: only a passkey's first sign-in comes from a
// new device (and makes keyshift queue a notice mail).
func (t *Target) PasskeySignin(ctx context.Context, p *Passkey) error {
	c, err := t.BeginPasskeySignin(ctx)
	if err != nil {
		return err
	}
	return t.FinishPasskeySignin(ctx, p, c)
}

// Ceremony is a begun passkey sign-in: its sealed flow id and the options
// for the authenticator. A begin on one node (or before a restore) may be
// finished on another.
type Ceremony = ceremony

// BeginPasskeySignin is PasskeySignin's discoverable login/begin.
func (t *Target) BeginPasskeySignin(ctx context.Context) (Ceremony, error) {
	var c ceremony
	_, err := t.postJSON(ctx, "/api/passkeys/login/begin", "", struct{}{}, &c, http.StatusOK)
	return c, err
}

// FinishPasskeySignin answers c with p's assertion (login/finish).
func (t *Target) FinishPasskeySignin(ctx context.Context, p *Passkey, c Ceremony) error {
	cred, err := p.Get(c.PublicKey)
	if err != nil {
		return err
	}
	res, err := t.postJSON(ctx, "/api/passkeys/login/finish", p.DeviceCookie(),
		map[string]any{"flowId": c.FlowID, "credential": json.RawMessage(cred), "mediation": "modal"}, nil, http.StatusOK)
	if err != nil {
		return err
	}
	session := false
	for _, c := range res.Cookies() {
		switch {
		case strings.HasSuffix(c.Name, "ks_session"):
			session = true
		case strings.HasSuffix(c.Name, "ks_device") && c.Value != "":
			d := c.Name + "=" + c.Value
			p.device.Store(&d)
		}
	}
	if !session {
		return fmt.Errorf("login/finish: no session cookie")
	}
	return nil
}

// BareLogin is go-webauthn alone, the ceiling of a passkey sign-in:
// FinishPasskeyLogin — parse the JSON and CBOR, check client data, RP ID
// hash, flags and the ES256 signature — of assertions made ahead of time,
// with the relying party configured as keyshift configures it. No HTTP, no
// database, no keyshift.
type BareLogin struct {
	wa         *webauthn.WebAuthn
	user       bareUser
	sessions   []webauthn.SessionData
	assertions [][]byte
	next       atomic.Int64
}

// bareUser is a go-webauthn user with its credentials.
type bareUser struct {
	id    []byte
	creds []webauthn.Credential
}

func (u *bareUser) WebAuthnID() []byte                         { return u.id }
func (u *bareUser) WebAuthnName() string                       { return "bench@example.com" }
func (u *bareUser) WebAuthnDisplayName() string                { return "bench" }
func (u *bareUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// NewBareLogin registers a software passkey with go-webauthn and makes 16
// assertions, each for its own discoverable ceremony, and checks that they
// verify.
func NewBareLogin() (*BareLogin, error) {
	const origin = "http://localhost:8080"
	wa, err := webauthn.New(&webauthn.Config{
		RPID: "localhost", RPDisplayName: "keyshift", RPOrigins: []string{origin},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, UserVerification: protocol.VerificationRequired,
		},
	})
	if err != nil {
		return nil, err
	}
	p, err := NewPasskey(origin)
	if err != nil {
		return nil, err
	}
	l := &BareLogin{wa: wa, user: bareUser{id: []byte("bench-user-handle-0123456789abcd")}}
	creation, sd, err := wa.BeginRegistration(&l.user)
	if err != nil {
		return nil, err
	}
	att, err := p.Create(mustJSON(creation.Response))
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(att)
	if err != nil {
		return nil, err
	}
	cred, err := wa.CreateCredential(&l.user, *sd, parsed)
	if err != nil {
		return nil, err
	}
	l.user.creds = []webauthn.Credential{*cred}
	for range 16 {
		opts, sd, err := wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return nil, err
		}
		sd.Expires = time.Time{} // the same assertions serve every run
		a, err := p.Get(mustJSON(opts.Response))
		if err != nil {
			return nil, err
		}
		l.sessions = append(l.sessions, *sd)
		l.assertions = append(l.assertions, a)
	}
	for range l.assertions {
		if err := l.Verify(context.Background()); err != nil {
			return nil, fmt.Errorf("bare passkey login: %w", err)
		}
	}
	return l, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Verify runs FinishPasskeyLogin on the next pre-made assertion. It is safe
// for concurrent use.
func (l *BareLogin) Verify(context.Context) error {
	i := int(l.next.Add(1)) % len(l.assertions)
	req, err := http.NewRequest(http.MethodPost, "/", bytes.NewReader(l.assertions[i]))
	if err != nil {
		return err
	}
	_, _, err = l.wa.FinishPasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
		return &l.user, nil
	}, l.sessions[i], req)
	return err
}
