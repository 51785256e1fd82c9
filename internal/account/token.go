package account

import "encoding/base64"

// NewToken returns a fresh bearer secret — a session cookie, an emailed
// link — of 256 random bits in base64url. Only HashToken of it is stored.
func (s *Service) NewToken() string {
	return base64.RawURLEncoding.EncodeToString(s.randomBytes(32))
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
