package account

import (
	"crypto/sha256"
	"encoding/base64"
)

// NewToken returns a fresh bearer secret — a session cookie, an emailed
// link (sign-in, verification) — of 256 random bits in base64url. Only
// HashToken of it is stored. Every one-time token keyshift makes comes from
// here, so there is one place that decides their strength.
func (s *Service) NewToken() string {
	return base64.RawURLEncoding.EncodeToString(s.randomBytes(32))
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
