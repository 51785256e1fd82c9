package legacy

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// bcryptMaxCost bounds the cost of a stored bcrypt hash: 2^15 rounds take
// about 1.6 s on one core of a small server (cost 10 runs 19.8 times a
// second, shared/DEPENDENCIES.md), above any framework's default (10 to 13);
// the format allows 31, which is days.
const bcryptMaxCost = 15

// bcryptMaxPassword is where every bcrypt implementation stops reading the
// password: PHP, OpenBSD and passlib hash only the first 72 bytes, so a
// member with a longer password typed more than the old system looked at.
const bcryptMaxPassword = 72

// bcryptAlphabet is bcrypt's own base64 alphabet.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// bcryptHash is a checked "$2b$<cost>$<22 salt><31 hash>" string.
type bcryptHash struct {
	encoded []byte
	cost    int
}

// parseBcrypt checks a bcrypt hash, also in Django's "bcrypt$…" wrapping.
// $2a$, $2b$ and $2y$ compute the same function for every password keyshift
// sees; $2x$ (crypt_blowfish's bug-compatible mode) does not and is refused.
func parseBcrypt(stored string) (parsed, error) {
	s := strings.TrimPrefix(stored, "bcrypt$")
	if len(s) != 60 {
		return nil, malformed("bcrypt: want 60 characters, got %d", len(s))
	}
	switch s[:4] {
	case "$2a$", "$2b$", "$2y$":
	default:
		return nil, malformed("bcrypt: prefix %q, want $2a$, $2b$ or $2y$", clip(s[:4]))
	}
	if s[6] != '$' || !isDigits(s[4:6]) {
		return nil, malformed("bcrypt: cost %q is not two digits followed by '$'", s[4:7])
	}
	cost := int(s[4]-'0')*10 + int(s[5]-'0')
	if cost < bcrypt.MinCost || cost > bcryptMaxCost {
		return nil, malformed("bcrypt: cost %d outside %d..%d", cost, bcrypt.MinCost, bcryptMaxCost)
	}
	if strings.Trim(s[7:], bcryptAlphabet) != "" {
		return nil, malformed("bcrypt: salt and hash are not in bcrypt's base64 alphabet")
	}
	return &bcryptHash{encoded: []byte(s), cost: cost}, nil
}

func (h *bcryptHash) verify(password []byte) bool {
	if len(password) > bcryptMaxPassword {
		password = password[:bcryptMaxPassword]
	}
	// CompareHashAndPassword compares in constant time.
	return bcrypt.CompareHashAndPassword(h.encoded, password) == nil
}

// wordpressHash is a checked WordPress 6.8+ "$wp$2y$…" hash.
type wordpressHash struct{ *bcryptHash }

// parseWordPressBcrypt checks "$wp" followed by a bcrypt hash, what
// wp_hash_password writes since WordPress 6.8.
func parseWordPressBcrypt(stored string) (parsed, error) {
	rest, ok := strings.CutPrefix(stored, "$wp$")
	if !ok {
		return nil, malformed("wordpress-bcrypt: want $wp$2y$…")
	}
	h, err := parseBcrypt("$" + rest)
	if err != nil {
		return nil, malformed("wordpress-bcrypt: %s", strings.TrimPrefix(err.Error(), ErrMalformed.Error()+": "))
	}
	return &wordpressHash{h.(*bcryptHash)}, nil
}

// verify follows wp_check_password (wp-includes/pluggable.php, WordPress
// 6.8): bcrypt of the base64 of HMAC-SHA-384 keyed "wp-sha384" over the
// password, so passwords past bcrypt's 72 bytes still count in full.
func (h *wordpressHash) verify(password []byte) bool {
	mac := hmac.New(sha512.New384, []byte("wp-sha384"))
	mac.Write(password)
	return h.bcryptHash.verify([]byte(base64.StdEncoding.EncodeToString(mac.Sum(nil))))
}

// isDigits reports whether s is non-empty and only ASCII digits.
func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
