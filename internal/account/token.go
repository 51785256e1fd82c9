package account

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
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
// keyshift makes (NewTimeID's too).
func (r Random) NewID() string {
	b := r.Bytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// NewTimeID returns a UUID of version 7 (RFC 9562): the millisecond time
// now, then 74 random bits, in the text form of NewID. Its text sorts by
// creation time, so rows keyed by it are appended to the last page of their
// indexes instead of landing on a random one — which matters for rows made
// in bulk (an import: a million random keys rewrite most pages of an index
// every batch) or at every sign-in (sessions: on a large table each random
// key dirties a page of its own, written to the WAL at every commit). It
// tells anyone who sees the id when the row was made: only for rows whose
// creation time is no secret from them (a session's is shown to its member;
// an imported account's is the import's).
func (r Random) NewTimeID(now time.Time) string {
	b := r.Bytes(16)
	ms := uint64(now.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x70
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

// NewCode returns six uniformly random digits — a mailed code (email
// sign-in, email step-up) — for a person to type: 32-bit draws above the
// largest multiple of 10⁶ are rejected, so no digit string is likelier.
func (r Random) NewCode() string {
	const n = 1_000_000
	const limit = (1 << 32) / n * n
	for {
		v := binary.BigEndian.Uint32(r.Bytes(4))
		if v < limit {
			return fmt.Sprintf("%06d", v%n)
		}
	}
}

// HashCode is how every mailed code is stored: HMAC-SHA256 under a server
// key (a pepper's, never the database's) of the id of what it belongs to
// and the code, so a stolen table cannot be brute-forced over the 10⁶ codes
// without the key, and one row's hash says nothing of another's.
func HashCode(key []byte, id, code string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// CleanCode is a typed code without the spaces and dashes people add.
func CleanCode(code string) string {
	return strings.NewReplacer(" ", "", "-", "").Replace(code)
}

// PlausibleCode reports whether c is six ASCII digits, as NewCode makes.
func PlausibleCode(c string) bool {
	if len(c) != 6 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return true
}
