// Package pepper holds keyshift's pepper: one server secret that is kept
// outside the database (configuration, environment, or a file beside a
// SQLite database), so that a leaked database file or dump does not carry
// what it takes to use what the database holds. Keys for each purpose —
// hashing recovery codes, sealing the outbox's mail, hashing email sign-in
// codes — are derived from it with HKDF under a purpose label, so no two
// uses ever share a key.
//
// Rotation: a new pepper becomes current and the old one moves to the
// previous list; whatever was made under a previous pepper keeps opening
// (see docs/security.md for what each purpose does with old keys).
package pepper

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// MinBytes is the shortest pepper accepted: 256 bits.
const MinBytes = 32

// Pepper is one server secret and its public id.
type Pepper struct {
	id     string
	secret []byte
}

// ErrTooShort marks a pepper of fewer than MinBytes bytes.
var ErrTooShort = fmt.Errorf("a pepper needs at least %d bytes", MinBytes)

// New returns the pepper made of secret, which must hold at least MinBytes
// bytes. The slice is copied.
func New(secret []byte) (Pepper, error) {
	if len(secret) < MinBytes {
		return Pepper{}, ErrTooShort
	}
	s := append([]byte(nil), secret...)
	m := hmac.New(sha256.New, s)
	m.Write([]byte("keyshift pepper id"))
	return Pepper{id: hex.EncodeToString(m.Sum(nil)[:4]), secret: s}, nil
}

// Parse reads a pepper as an operator writes it: hex when the text is only
// hex digits (openssl rand -hex 32), otherwise base64, standard or URL-safe,
// padded or not (openssl rand -base64 32). Blanks around it are ignored. The
// error never repeats the text, which is a secret.
func Parse(text string) (Pepper, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return Pepper{}, errors.New("a pepper is empty")
	}
	var b []byte
	var err error
	if isHex(text) {
		b, err = hex.DecodeString(text)
	} else {
		b, err = decodeBase64(text)
	}
	if err != nil {
		return Pepper{}, errors.New("a pepper must be base64 or hex")
	}
	return New(b)
}

func isHex(s string) bool {
	if len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// ID is a short public name of the pepper (8 hex digits of an HMAC under
// it), stored beside what it made so that rotation can tell which pepper
// that was. It reveals nothing of the secret.
func (p Pepper) ID() string { return p.id }

// IsZero reports whether p is the zero Pepper (none loaded).
func (p Pepper) IsZero() bool { return p.secret == nil }

// Key returns the 32-byte key for purpose, derived with HKDF-SHA256 under
// the label "keyshift <purpose>": each purpose gets its own key, and none
// tells anything about another or about the pepper.
func (p Pepper) Key(purpose string) []byte {
	k, err := hkdf.Key(sha256.New, p.secret, nil, "keyshift "+purpose, 32)
	if err != nil {
		panic(err) // only for lengths HKDF-SHA256 cannot make; 32 it always can
	}
	return k
}

// Set is the current pepper and the ones it replaced, newest first.
type Set struct {
	Current  Pepper
	Previous []Pepper
}

// Key is a derived key with the id of the pepper it came from.
type Key struct {
	ID     string
	Secret []byte
}

// Keys returns the key for purpose under every pepper of the set, the
// current one first: make new things with the first, open old ones with
// any.
func (s Set) Keys(purpose string) []Key {
	keys := []Key{{ID: s.Current.ID(), Secret: s.Current.Key(purpose)}}
	for _, p := range s.Previous {
		if p.ID() != s.Current.ID() {
			keys = append(keys, Key{ID: p.ID(), Secret: p.Key(purpose)})
		}
	}
	return keys
}
