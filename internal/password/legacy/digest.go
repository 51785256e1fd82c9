package legacy

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"hash"
	"strings"
)

// maxSaltLen bounds a salt kept apart from its hash (salted digests,
// Firebase): far above any real one, low enough that a row stays small.
const maxSaltLen = 1024

// saltedDigest reports whether f is one of the salted hex digests.
func (f Format) saltedDigest() bool {
	_, _, ok := saltedParts(f)
	return ok
}

// saltedParts returns the plain digest of a salted format and whether the
// salt goes before the password.
func saltedParts(f Format) (digest Format, prefix, ok bool) {
	switch f {
	case SaltedMD5Prefix:
		return MD5, true, true
	case SaltedMD5Suffix:
		return MD5, false, true
	case SaltedSHA1Prefix:
		return SHA1, true, true
	case SaltedSHA1Suffix:
		return SHA1, false, true
	case SaltedSHA256Prefix:
		return SHA256, true, true
	case SaltedSHA256Suffix:
		return SHA256, false, true
	}
	return "", false, false
}

// digestNew returns the hash constructor and hex length of a plain digest.
func digestNew(f Format) (func() hash.Hash, int) {
	switch f {
	case MD5:
		return md5.New, 2 * md5.Size
	case SHA1:
		return sha1.New, 2 * sha1.Size
	default:
		return sha256.New, 2 * sha256.Size
	}
}

// digestHash is a plain or salted hex digest.
type digestHash struct {
	newHash func() hash.Hash
	sum     []byte
	salt    []byte
	prefix  bool // salt before the password
}

func (h *digestHash) verify(password []byte) bool {
	d := h.newHash()
	if h.prefix {
		d.Write(h.salt)
	}
	d.Write(password)
	if !h.prefix {
		d.Write(h.salt)
	}
	return subtle.ConstantTimeCompare(d.Sum(nil), h.sum) == 1
}

// parseDigest parses an unsalted hex digest, in either case.
func parseDigest(f Format, stored string) (parsed, error) {
	newHash, n := digestNew(f)
	sum, err := decodeHexDigest(f, stored, n)
	if err != nil {
		return nil, err
	}
	return &digestHash{newHash: newHash, sum: sum}, nil
}

// parseSalted parses "<hex digest>$<salt>".
func parseSalted(f Format, stored string) (parsed, error) {
	digest, prefix, _ := saltedParts(f)
	hexSum, salt, ok := strings.Cut(stored, "$")
	if !ok {
		return nil, malformed("%s: no '$' before the salt; import the salt as password_salt", f)
	}
	if salt == "" {
		return nil, malformed("%s: empty salt (an unsalted digest is format %s)", f, digest)
	}
	if len(salt) > maxSaltLen {
		return nil, malformed("%s: salt longer than %d bytes", f, maxSaltLen)
	}
	newHash, n := digestNew(digest)
	sum, err := decodeHexDigest(f, hexSum, n)
	if err != nil {
		return nil, err
	}
	return &digestHash{newHash: newHash, sum: sum, salt: []byte(salt), prefix: prefix}, nil
}

// decodeHexDigest decodes a digest of exactly n hex digits.
func decodeHexDigest(f Format, s string, n int) ([]byte, error) {
	if len(s) != n || !isHex(s) {
		return nil, malformed("%s: want %d hex digits, got %q", f, n, clip(s))
	}
	return hex.DecodeString(s)
}

// composeSalted folds salt into a salted digest's stored string, or checks
// that hash is one already (then salt must be empty).
func composeSalted(f Format, hash, salt string) (string, error) {
	if strings.Contains(hash, "$") {
		if salt != "" {
			return "", malformed("%s: the hash already carries a salt after '$' and password_salt is set too", f)
		}
		hexSum, rest, _ := strings.Cut(hash, "$")
		return strings.ToLower(hexSum) + "$" + rest, nil
	}
	if salt == "" {
		digest, _, _ := saltedParts(f)
		return "", malformed("%s needs password_salt (an unsalted digest is format %s)", f, digest)
	}
	return strings.ToLower(hash) + "$" + salt, nil
}
