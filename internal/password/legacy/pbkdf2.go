package legacy

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"strings"
)

// pbkdf2MaxWork bounds iterations × output blocks of a stored PBKDF2 hash:
// three million HMAC-SHA-512s take one to two seconds on one core; Django's
// current default is 1,000,000 iterations of one block, OWASP's advice at
// most 1,300,000 (SHA-1).
const pbkdf2MaxWork = 3_000_000

// ab64 is passlib's "adapted base64": the standard alphabet with '.' for
// '+', without padding.
var ab64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./").WithPadding(base64.NoPadding)

// pbkdf2Hash is a checked PBKDF2 hash.
type pbkdf2Hash struct {
	newHash    func() hash.Hash
	iterations int
	salt       []byte
	derived    []byte
}

// pbkdf2Prefixes are the prefixes each digest may carry: Django's
// pbkdf2_<digest>$ and passlib's $pbkdf2[-<digest>]$.
var pbkdf2Prefixes = map[Format][2]string{
	PBKDF2SHA1:   {"pbkdf2_sha1$", "$pbkdf2$"},
	PBKDF2SHA256: {"pbkdf2_sha256$", "$pbkdf2-sha256$"},
	PBKDF2SHA512: {"pbkdf2_sha512$", "$pbkdf2-sha512$"},
}

// parsePBKDF2 checks a PBKDF2 hash in one of two shapes:
//
//	pbkdf2_sha256$<iterations>$<salt>$<hash>    Django: the salt's text is the salt,
//	                                           hash in standard base64 with padding
//	$pbkdf2-sha256$<iterations>$<salt>$<hash>   passlib: salt and hash in passlib's
//	                                           adapted base64 (SHA-1 is "$pbkdf2$")
//
// The derived key's length is the decoded hash's.
func parsePBKDF2(f Format, stored string) (parsed, error) {
	newHash, size := pbkdf2Digest(f)
	prefixes := pbkdf2Prefixes[f]
	django := true
	rest, ok := strings.CutPrefix(stored, prefixes[0])
	if !ok {
		if f == PBKDF2SHA1 {
			// passlib also spells it like the others.
			rest, ok = strings.CutPrefix(stored, "$pbkdf2-sha1$")
		}
		if !ok {
			rest, ok = strings.CutPrefix(stored, prefixes[1])
		}
		django = false
	}
	if !ok {
		return nil, malformed("%s: want %s<iterations>$<salt>$<hash> (Django) or %s<iterations>$<salt>$<hash> (passlib)",
			f, prefixes[0], prefixes[1])
	}
	fields := strings.Split(rest, "$")
	if len(fields) != 3 {
		return nil, malformed("%s: want <iterations>$<salt>$<hash> after %q", f, clip(stored[:len(stored)-len(rest)]))
	}
	iterations, err := parseDecimal(fields[0])
	if err != nil || iterations < 1 {
		return nil, malformed("%s: iterations %q is not a positive decimal", f, clip(fields[0]))
	}
	h := &pbkdf2Hash{newHash: newHash, iterations: iterations}
	if django {
		if len(fields[1]) > maxSaltLen {
			return nil, malformed("%s: salt longer than %d bytes", f, maxSaltLen)
		}
		h.salt = []byte(fields[1])
		h.derived, err = decodeB64(base64.StdEncoding, f, "hash", fields[2], 1, 1024)
	} else {
		if h.salt, err = decodeB64(ab64, f, "salt", fields[1], 0, maxSaltLen); err != nil {
			return nil, err
		}
		h.derived, err = decodeB64(ab64, f, "hash", fields[2], 1, 1024)
	}
	if err != nil {
		return nil, err
	}
	blocks := (len(h.derived) + size - 1) / size
	if int64(iterations)*int64(blocks) > pbkdf2MaxWork {
		return nil, malformed("%s: %d iterations × %d blocks above %d", f, iterations, blocks, pbkdf2MaxWork)
	}
	return h, nil
}

// pbkdf2Digest returns the HMAC digest of a PBKDF2 format and its size.
func pbkdf2Digest(f Format) (func() hash.Hash, int) {
	switch f {
	case PBKDF2SHA1:
		return sha1.New, sha1.Size
	case PBKDF2SHA512:
		return sha512.New, sha512.Size
	}
	return sha256.New, sha256.Size
}

func (h *pbkdf2Hash) verify(password []byte) bool {
	got, err := pbkdf2.Key(h.newHash, string(password), h.salt, h.iterations, len(h.derived))
	if err != nil { // only in FIPS 140-only mode, for short keys or salts
		return false
	}
	return subtle.ConstantTimeCompare(got, h.derived) == 1
}
