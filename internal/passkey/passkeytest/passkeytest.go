// Package passkeytest is a software authenticator for tests, built on
// descope/virtualwebauthn: it answers a ceremony's options correctly and
// hands the answer back decoded, so a test can change any part of it,
// re-sign what it changed, or break the encoding itself — and know that a
// refusal is for that change alone.
//
// The passkey package's rejection table drives the domain service with it;
// package web's tests drive the HTTP API.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/descope/virtualwebauthn"
	"github.com/fxamacker/cbor/v2"
)

// Key is a software authenticator holding one passkey for one relying
// party. Its credential is made from an ECDSA key the test holds (Priv), so
// a test can sign whatever it forges.
type Key struct {
	t    testing.TB
	RP   virtualwebauthn.RelyingParty
	Auth virtualwebauthn.Authenticator
	Cred virtualwebauthn.Credential
	Priv *ecdsa.PrivateKey
}

// New returns an authenticator like a synced passkey provider's — backup
// eligible and backed up — for the relying party at origin (its host is the
// RP ID).
func New(t testing.TB, origin string) *Key {
	return NewWith(t, origin, virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true})
}

// NewWith returns an authenticator with opts (flags, transports) for the
// relying party at origin.
func NewWith(t testing.TB, origin string, opts virtualwebauthn.AuthenticatorOptions) *Key {
	t.Helper()
	u, err := url.Parse(origin)
	if err != nil {
		t.Fatalf("origin %q: %v", origin, err)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return &Key{
		t:    t,
		RP:   virtualwebauthn.RelyingParty{ID: u.Hostname(), Name: "keyshift", Origin: origin},
		Auth: virtualwebauthn.NewAuthenticatorWithOptions(opts),
		Cred: virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, der),
		Priv: priv,
	}
}

// Handle is the user handle the key returns: the member's WebAuthn id once
// it has answered a registration.
func (k *Key) Handle() []byte { return k.Auth.Options.UserHandle }

// Sign returns k's ECDSA-SHA256 signature over authData ‖
// SHA-256(clientDataJSON), what both ceremonies sign (WebAuthn L3 §6.3.3
// step 11, §8.2).
func (k *Key) Sign(authData, clientDataJSON []byte) []byte {
	k.t.Helper()
	hash := sha256.Sum256(clientDataJSON)
	digest := sha256.Sum256(append(append([]byte{}, authData...), hash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.Priv, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	return sig
}

// Authenticator data flags (WebAuthn L3 §6.1).
const (
	FlagUP byte = 0x01
	FlagUV byte = 0x04
	FlagBE byte = 0x08
	FlagBS byte = 0x10
	FlagAT byte = 0x40
	FlagED byte = 0x80
)

// B64 is base64url without padding, as WebAuthn's JSON serialization has it.
func B64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// Unb64 decodes base64url without padding, failing t on bad input.
func Unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64url %q: %v", s, err)
	}
	return b
}

// AuthData is authenticator data (WebAuthn L3 §6.1): rpIdHash(32) |
// flags(1) | signCount(4, big endian) | attested credential data |
// extensions. Its methods change a copy.
type AuthData []byte

// WithFlags sets and clears flag bits.
func (d AuthData) WithFlags(set, clear byte) AuthData {
	d = append(AuthData{}, d...)
	d[32] = d[32]&^clear | set
	return d
}

// WithSignCount sets the sign count.
func (d AuthData) WithSignCount(n uint32) AuthData {
	d = append(AuthData{}, d...)
	binary.BigEndian.PutUint32(d[33:37], n)
	return d
}

// WithRPID sets the RP ID hash to rpID's.
func (d AuthData) WithRPID(rpID string) AuthData {
	d = append(AuthData{}, d...)
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

// Assertion is a decoded sign-in response (PublicKeyCredential.toJSON() of
// a get()): a test changes any part, re-signs when it needs a valid
// signature over the changed data, and sends JSON() — or breaks the
// encoding itself with Edit.
type Assertion struct {
	key            *Key
	ID, RawID      string
	Type           string
	ClientDataJSON []byte
	AuthData       AuthData
	Signature      []byte
	UserHandle     []byte
	Attachment     string
}

// Assertion answers a sign-in's request options (publicKey, as JSON) with
// k's credential: a correct response, decoded.
func (k *Key) Assertion(options []byte) *Assertion {
	k.t.Helper()
	opts, err := virtualwebauthn.ParseAssertionOptions(string(options))
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
	if err := json.Unmarshal([]byte(virtualwebauthn.CreateAssertionResponse(k.RP, k.Auth, k.Cred, *opts)), &raw); err != nil {
		k.t.Fatal(err)
	}
	return &Assertion{
		key: k, ID: raw.ID, RawID: raw.RawID, Type: raw.Type,
		ClientDataJSON: Unb64(k.t, raw.Response.ClientDataJSON),
		AuthData:       Unb64(k.t, raw.Response.AuthenticatorData),
		Signature:      Unb64(k.t, raw.Response.Signature),
		UserHandle:     Unb64(k.t, raw.Response.UserHandle),
	}
}

// ClientData sets one member of clientDataJSON (nil removes it); the
// signature is left as it was.
func (a *Assertion) ClientData(key string, v any) *Assertion {
	a.ClientDataJSON = withClientData(a.key.t, a.ClientDataJSON, key, v)
	return a
}

// SignCount sets the sign count; the signature is left as it was.
func (a *Assertion) SignCount(n uint32) *Assertion {
	a.AuthData = a.AuthData.WithSignCount(n)
	return a
}

// Flags sets and clears flag bits; the signature is left as it was.
func (a *Assertion) Flags(set, clear byte) *Assertion {
	a.AuthData = a.AuthData.WithFlags(set, clear)
	return a
}

// Sign re-signs authenticator data and client data with the key's
// credential, so that only what the test changed is wrong.
func (a *Assertion) Sign() *Assertion {
	a.Signature = a.key.Sign(a.AuthData, a.ClientDataJSON)
	return a
}

// Object is the response as PublicKeyCredential.toJSON() gives it.
func (a *Assertion) Object() map[string]any {
	resp := map[string]any{
		"clientDataJSON":    B64(a.ClientDataJSON),
		"authenticatorData": B64(a.AuthData),
		"signature":         B64(a.Signature),
	}
	if a.UserHandle != nil {
		resp["userHandle"] = B64(a.UserHandle)
	}
	m := map[string]any{"id": a.ID, "rawId": a.RawID, "type": a.Type, "response": resp, "clientExtensionResults": map[string]any{}}
	if a.Attachment != "" {
		m["authenticatorAttachment"] = a.Attachment
	}
	return m
}

// JSON is the response, encoded.
func (a *Assertion) JSON() json.RawMessage { return MustJSON(a.key.t, a.Object()) }

// Attestation is a decoded registration response (toJSON() of a create()),
// its attestationObject decoded too.
type Attestation struct {
	key            *Key
	ID, RawID      string
	Type           string
	ClientDataJSON []byte
	Format         string
	AttStmt        cbor.RawMessage
	AuthData       AuthData
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

// Attestation answers a registration's creation options (publicKey, as
// JSON) with k's credential: a correct response ("packed" self
// attestation), decoded. k's user handle becomes the member's.
func (k *Key) Attestation(options []byte) *Attestation {
	k.t.Helper()
	opts, err := virtualwebauthn.ParseAttestationOptions(string(options))
	if err != nil {
		k.t.Fatal(err)
	}
	k.Auth.Options.UserHandle = []byte(opts.UserID)
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
	if err := json.Unmarshal([]byte(virtualwebauthn.CreateAttestationResponse(k.RP, k.Auth, k.Cred, *opts)), &raw); err != nil {
		k.t.Fatal(err)
	}
	var obj attestationObject
	if err := cbor.Unmarshal(Unb64(k.t, raw.Response.AttestationObject), &obj); err != nil {
		k.t.Fatal(err)
	}
	return &Attestation{
		key: k, ID: raw.ID, RawID: raw.RawID, Type: raw.Type,
		ClientDataJSON: Unb64(k.t, raw.Response.ClientDataJSON),
		Format:         obj.Format, AttStmt: obj.AttStmt, AuthData: obj.AuthData,
		Transports: raw.Response.Transports,
	}
}

// ClientData sets one member of clientDataJSON (nil removes it); the
// attestation signature is left as it was.
func (a *Attestation) ClientData(key string, v any) *Attestation {
	a.ClientDataJSON = withClientData(a.key.t, a.ClientDataJSON, key, v)
	return a
}

// Flags sets and clears flag bits; the signature is left as it was.
func (a *Attestation) Flags(set, clear byte) *Attestation {
	a.AuthData = a.AuthData.WithFlags(set, clear)
	return a
}

// Sign re-signs a "packed" self attestation over the (changed) data.
func (a *Attestation) Sign() *Attestation {
	stmt, err := cbor.Marshal(map[string]any{"alg": -7, "sig": a.key.Sign(a.AuthData, a.ClientDataJSON)})
	if err != nil {
		a.key.t.Fatal(err)
	}
	a.Format, a.AttStmt = "packed", stmt
	return a
}

// Object is the response as PublicKeyCredential.toJSON() gives it.
func (a *Attestation) Object() map[string]any {
	obj, err := cbor.Marshal(attestationObject{Format: a.Format, AttStmt: a.AttStmt, AuthData: a.AuthData})
	if err != nil {
		a.key.t.Fatal(err)
	}
	resp := map[string]any{"clientDataJSON": B64(a.ClientDataJSON), "attestationObject": B64(obj)}
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
func (a *Attestation) JSON() json.RawMessage { return MustJSON(a.key.t, a.Object()) }

// Removed, as the value of Edit, deletes the member.
var Removed = new(struct{})

// Edit sets the member at path ("response.signature") of a decoded JSON
// response to v, or deletes it when v is Removed, and returns m. It is for
// breaking what the typed fields cannot: encodings and JSON types.
func Edit(m map[string]any, path string, v any) map[string]any {
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
	if v == Removed {
		delete(at, last)
	} else {
		at[last] = v
	}
	return m
}

// MustJSON encodes v, failing t when it cannot.
func MustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
