package outbox

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/keyshift/keyshift/internal/pepper"
)

// A queued mail holds live secrets — sign-in links and codes (a code is in
// the subject), confirmation and 7-day revert links — so the outbox keeps
// its subject and bodies sealed with AES-256-GCM under a key derived from
// the pepper, which is not in the database (docs/security.md, T5). Only recipient,
// kind and delivery state stay readable, for listings and metrics.
//
// A sealed value is
//
//	0x01 | pepper id (4 bytes) | nonce (12 bytes) | ciphertext and tag
//
// with the recipient and kind as associated data: a value moved to another
// row (another recipient) does not open. The pepper id says which key made
// it, so mail queued before a rotation still opens under previous_peppers.

// SealPurpose is the HKDF label of the outbox's key (see pepper.Key).
const SealPurpose = "outbox"

const sealVersion = 0x01

// ErrUnsealable marks a sealed mail that no configured key opens: it was
// sealed under a pepper that is no longer configured, or altered.
var ErrUnsealable = errors.New("mail: sealed under a pepper that is not configured, or altered")

// sealer seals and opens outbox content.
type sealer struct {
	current cipherKey
	byID    map[string]cipherKey
}

type cipherKey struct {
	id   [4]byte
	aead cipher.AEAD
}

// newSealer makes a sealer from keys derived for SealPurpose, the current
// first.
func newSealer(keys []pepper.Key) (*sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("mail: no sealing key")
	}
	s := &sealer{byID: map[string]cipherKey{}}
	for i, k := range keys {
		ck, err := newCipherKey(k)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			s.current = ck
		}
		if _, dup := s.byID[k.ID]; !dup {
			s.byID[k.ID] = ck
		}
	}
	return s, nil
}

func newCipherKey(k pepper.Key) (cipherKey, error) {
	var ck cipherKey
	id, err := hex.DecodeString(k.ID)
	if err != nil || len(id) != len(ck.id) {
		return ck, fmt.Errorf("mail: key id %q is not 4 bytes of hex", k.ID)
	}
	copy(ck.id[:], id)
	block, err := aes.NewCipher(k.Secret)
	if err != nil {
		return ck, err
	}
	ck.aead, err = cipher.NewGCM(block)
	return ck, err
}

// ephemeralSealer seals under a random key that lives only in this process,
// for an Outbox built without keys (tests, tools that never reopen mail).
func ephemeralSealer() *sealer {
	secret := make([]byte, 32)
	rand.Read(secret)
	id := make([]byte, 4)
	rand.Read(id)
	s, err := newSealer([]pepper.Key{{ID: hex.EncodeToString(id), Secret: secret}})
	if err != nil {
		panic(err) // a 32-byte key and a 4-byte id always make one
	}
	return s
}

// content is what gets sealed.
type content struct {
	Subject string `json:"s"`
	Text    string `json:"t"`
	HTML    string `json:"h,omitempty"`
}

func associated(m Message) []byte {
	return []byte("keyshift outbox v1\x00" + m.Kind + "\x00" + m.To)
}

// seal returns m's subject and bodies sealed.
func (s *sealer) seal(m Message) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the HTML part as it is: a quarter smaller
	if err := enc.Encode(content{Subject: m.Subject, Text: m.Text, HTML: m.HTML}); err != nil {
		return nil, err
	}
	plain := buf.Bytes()
	k := s.current
	out := make([]byte, 0, 1+len(k.id)+k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	out = append(out, sealVersion)
	out = append(out, k.id[:]...)
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plain, associated(m)), nil
}

// open fills m's subject and bodies from m.Sealed. A mail without a sealed
// value (queued before sealing, or wiped once sent) is left as it is.
func (s *sealer) open(m *Mail) error {
	if len(m.Sealed) == 0 {
		return nil
	}
	b := m.Sealed
	if len(b) < 1+4 || b[0] != sealVersion {
		return ErrUnsealable
	}
	k, ok := s.byID[hex.EncodeToString(b[1:5])]
	if !ok {
		return fmt.Errorf("%w (pepper id %x)", ErrUnsealable, b[1:5])
	}
	b = b[5:]
	if len(b) < k.aead.NonceSize() {
		return ErrUnsealable
	}
	plain, err := k.aead.Open(nil, b[:k.aead.NonceSize()], b[k.aead.NonceSize():], associated(m.Message))
	if err != nil {
		return ErrUnsealable
	}
	var c content
	if err := json.Unmarshal(plain, &c); err != nil {
		return ErrUnsealable
	}
	m.Subject, m.Text, m.HTML = c.Subject, c.Text, c.HTML
	return nil
}
