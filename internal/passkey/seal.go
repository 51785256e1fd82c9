package passkey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"
)

// A sign-in ceremony is not stored at begin: its state travels in the
// flowId, sealed (AES-256-GCM) under a key every node derives from one
// secret in the database, so any node opens what another sealed and begin
// writes nothing. What stops a replay is finish: it records the ceremony's
// id as spent inside its one write transaction, where a primary key lets
// exactly one of two concurrent finishes through (Store.SpendCeremony).
//
// The sealing key changes every sealEpoch: it is HKDF-SHA256 of the secret
// and the epoch's number, so nodes agree on it without talking, and each
// key seals far fewer than the 2^32 messages a random-nonce GCM key may
// (that would take 50,000 sign-ins/s all day). A flowId names its epoch;
// the previous and next epochs' keys open too — a ceremony begun just
// before the change finishes after it, and a node whose clock runs a little
// ahead is understood — and the expiry inside bounds how long any of it
// counts. Replacing the secret itself (delete its server_keys row and
// restart every node) ends the ceremonies in flight, which is what one
// wants after a leak.

// sealEpoch is how long one derived key seals. It must exceed the longest
// challenge timeout (config allows 1 h) so that the previous epoch's key
// covers every live ceremony.
const sealEpoch = 24 * time.Hour

// sealVersion is the first byte of a sealed flowId; it changes when the
// format does.
const sealVersion = 1

// sealHeader is version (1) and epoch (4), then the GCM nonce.
const sealHeader = 1 + 4

// maxSealedFlowID bounds what is worth trying to open: a username-first
// ceremony of a member with many passkeys stays far below it.
const maxSealedFlowID = 8 << 10

// sealedFlow is what a sign-in flowId carries.
type sealedFlow struct {
	// ID names the ceremony in the spent-ceremonies table.
	ID []byte `json:"i"`
	// Expires is the end of the ceremony, Unix milliseconds.
	Expires int64    `json:"e"`
	Data    flowData `json:"d"`
}

// sealer seals and opens sign-in ceremonies.
type sealer struct {
	secret []byte
	// binding is authenticated with every ceremony (not encrypted): a
	// flowId sealed for another RP ID or primary origin does not open
	// here, even under the same secret. Which of the deployment's origins
	// began the ceremony is inside, sealed (flowData.Origin, origin.go),
	// so adding or removing further origins does not end the ceremonies in flight.
	binding []byte

	mu    sync.Mutex
	aeads map[uint32]cipher.AEAD // by epoch; the few in use
}

func newSealer(secret []byte, rpID, origin string) (*sealer, error) {
	if len(secret) < 32 {
		return nil, errors.New("passkey: the ceremony key must be at least 32 bytes")
	}
	return &sealer{secret: secret, binding: []byte("keyshift passkey login\x00" + rpID + "\x00" + origin),
		aeads: map[uint32]cipher.AEAD{}}, nil
}

func epochOf(t time.Time) uint32 { return uint32(t.Unix() / int64(sealEpoch/time.Second)) }

// aead returns the cipher of epoch, deriving it on first use.
func (s *sealer) aead(epoch uint32) (cipher.AEAD, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.aeads[epoch]; ok {
		return a, nil
	}
	key, err := hkdf.Key(sha256.New, s.secret, nil, "keyshift passkey ceremony epoch "+strconv.FormatUint(uint64(epoch), 10), 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	// Keep the epochs around now, drop older ones: the map stays tiny.
	for e := range s.aeads {
		if e+2 < epoch {
			delete(s.aeads, e)
		}
	}
	s.aeads[epoch] = a
	return a, nil
}

// seal returns f as a flowId: base64url of header, nonce and ciphertext.
func (s *sealer) seal(f *sealedFlow, now time.Time) (string, error) {
	plain, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	epoch := epochOf(now)
	a, err := s.aead(epoch)
	if err != nil {
		return "", err
	}
	out := make([]byte, sealHeader+a.NonceSize(), sealHeader+a.NonceSize()+len(plain)+a.Overhead())
	out[0] = sealVersion
	binary.BigEndian.PutUint32(out[1:sealHeader], epoch)
	rand.Read(out[sealHeader:])
	out = a.Seal(out, out[sealHeader:], plain, s.aad(out[:sealHeader]))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

func (s *sealer) aad(header []byte) []byte {
	return append(append(make([]byte, 0, len(header)+len(s.binding)), header...), s.binding...)
}

// errUnsealable is any flowId that does not open: not base64url, another
// version, an epoch too far from now, altered, sealed under another secret
// or for another RP. The answer does not say which.
var errUnsealable = errors.New("flowId does not open")

// open returns the ceremony sealed in id. It does not check expiry.
func (s *sealer) open(id string, now time.Time) (*sealedFlow, error) {
	if len(id) > maxSealedFlowID {
		return nil, errUnsealable
	}
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(raw) < sealHeader || raw[0] != sealVersion {
		return nil, errUnsealable
	}
	epoch, current := binary.BigEndian.Uint32(raw[1:sealHeader]), epochOf(now)
	if epoch+1 < current || epoch > current+1 {
		return nil, errUnsealable
	}
	a, err := s.aead(epoch)
	if err != nil {
		return nil, err
	}
	if len(raw) < sealHeader+a.NonceSize()+a.Overhead() {
		return nil, errUnsealable
	}
	nonce, box := raw[sealHeader:sealHeader+a.NonceSize()], raw[sealHeader+a.NonceSize():]
	plain, err := a.Open(box[:0:0], nonce, box, s.aad(raw[:sealHeader]))
	if err != nil {
		return nil, errUnsealable
	}
	var f sealedFlow
	if err := json.Unmarshal(plain, &f); err != nil || len(f.ID) != 16 {
		// Authentic but unreadable: only a bug of ours seals that.
		return nil, errors.New("passkey: a sealed ceremony does not decode")
	}
	return &f, nil
}
