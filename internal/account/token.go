package account

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Random makes every id and one-time token keyshift makes, from Rand (nil:
// crypto/rand), so there is one place that decides their strength and
// tests can fix the bytes. The zero value is ready to use.
type Random struct {
	Rand io.Reader
}

// Bytes returns n random bytes.
func (r Random) Bytes(n int) []byte {
	src := r.Rand
	if src == nil {
		src = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(src, b); err != nil {
		// crypto/rand never fails on supported systems; a broken source
		// must not yield predictable tokens.
		panic(fmt.Sprintf("account: random source failed: %v", err))
	}
	return b
}

// NewID returns a random UUID (version 4) string, the form of every id
// keyshift makes.
func (r Random) NewID() string {
	b := r.Bytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// NewToken returns a fresh bearer secret — a session cookie, an emailed
// link (sign-in, verification) — of 256 random bits in base64url. Only
// HashToken of it is stored.
func (r Random) NewToken() string {
	return base64.RawURLEncoding.EncodeToString(r.Bytes(32))
}

// HashToken is how every token NewToken made is stored: SHA-256. Tokens
// carry 256 bits of randomness, so a fast unsalted hash is enough (nothing
// to brute-force), and a lookup by hash leaks nothing useful through timing.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// PlausibleToken reports whether t, from outside, could be a token NewToken
// made: non-empty base64url of modest length. Anything else is refused
// before it reaches the database.
func PlausibleToken(t string) bool {
	if t == "" || len(t) > 128 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// PlausibleID reports whether id, from outside (a URL path), could be an id
// NewID made: short, valid UTF-8 text without NUL bytes (PostgreSQL refuses
// those as text).
func PlausibleID(id string) bool {
	return id != "" && len(id) <= 64 && utf8.ValidString(id) && !strings.ContainsRune(id, 0)
}
