package legacy

import (
	"crypto/md5"
	"crypto/subtle"
	"strings"
)

// itoa64 is the alphabet of crypt(3)'s base64, shared by MD5-crypt,
// SHA-crypt and PHPass: it runs from '.' and '/' through digits, upper and
// lower case, and encodes least significant bits first.
const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// b64From24 appends the n characters encoding the 24-bit value b2‖b1‖b0,
// low six bits first (Drepper's b64_from_24bit).
func b64From24(dst []byte, b2, b1, b0 byte, n int) []byte {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for range n {
		dst = append(dst, itoa64[w&0x3f])
		w >>= 6
	}
	return dst
}

// inItoa64 reports whether every byte of s is in itoa64.
func inItoa64(s string) bool { return strings.Trim(s, itoa64) == "" }

// md5CryptHash is a checked "$1$<salt>$<hash>" or "$apr1$<salt>$<hash>".
type md5CryptHash struct {
	magic, salt string
	encoded     string // the 22 hash characters
}

// parseMD5Crypt checks an MD5-crypt hash: the magic "$1$" (FreeBSD, glibc)
// or "$apr1$" (Apache htpasswd, same algorithm with its own magic), a salt
// of at most 8 characters, '$', and 22 characters of hash.
func parseMD5Crypt(stored string) (parsed, error) {
	var magic string
	switch {
	case strings.HasPrefix(stored, "$1$"):
		magic = "$1$"
	case strings.HasPrefix(stored, "$apr1$"):
		magic = "$apr1$"
	default:
		return nil, malformed("md5-crypt: want $1$<salt>$<hash> or $apr1$<salt>$<hash>")
	}
	salt, encoded, ok := strings.Cut(stored[len(magic):], "$")
	switch {
	case !ok:
		return nil, malformed("md5-crypt: no '$' after the salt")
	case len(salt) > 8 || strings.Contains(salt, "\x00"):
		return nil, malformed("md5-crypt: salt of %d characters, at most 8", len(salt))
	case len(encoded) != 22 || !inItoa64(encoded):
		return nil, malformed("md5-crypt: hash is not 22 crypt base64 characters")
	}
	return &md5CryptHash{magic: magic, salt: salt, encoded: encoded}, nil
}

func (h *md5CryptHash) verify(password []byte) bool {
	got := md5Crypt(password, []byte(h.magic), []byte(h.salt))
	return subtle.ConstantTimeCompare(got, []byte(h.encoded)) == 1
}

// md5Crypt computes the 22 hash characters of Poul-Henning Kamp's
// MD5-based crypt (FreeBSD's crypt-md5.c, 1994), which glibc and Apache
// (with magic "$apr1$") implement alike.
func md5Crypt(pw, magic, salt []byte) []byte {
	alt := md5.New()
	alt.Write(pw)
	alt.Write(salt)
	alt.Write(pw)
	altSum := alt.Sum(nil)

	ctx := md5.New()
	ctx.Write(pw)
	ctx.Write(magic)
	ctx.Write(salt)
	for n := len(pw); n > 0; n -= 16 {
		ctx.Write(altSum[:min(n, 16)])
	}
	// The original reads a zeroed buffer here: a NUL for each 1 bit of the
	// length, the password's first byte for each 0 bit.
	for i := len(pw); i > 0; i >>= 1 {
		if i&1 != 0 {
			ctx.Write([]byte{0})
		} else {
			ctx.Write(pw[:1])
		}
	}
	final := ctx.Sum(nil)

	for i := range 1000 {
		c := md5.New()
		if i&1 != 0 {
			c.Write(pw)
		} else {
			c.Write(final)
		}
		if i%3 != 0 {
			c.Write(salt)
		}
		if i%7 != 0 {
			c.Write(pw)
		}
		if i&1 != 0 {
			c.Write(final)
		} else {
			c.Write(pw)
		}
		final = c.Sum(final[:0])
	}

	out := make([]byte, 0, 22)
	out = b64From24(out, final[0], final[6], final[12], 4)
	out = b64From24(out, final[1], final[7], final[13], 4)
	out = b64From24(out, final[2], final[8], final[14], 4)
	out = b64From24(out, final[3], final[9], final[15], 4)
	out = b64From24(out, final[4], final[10], final[5], 4)
	return b64From24(out, 0, 0, final[11], 2)
}

// PHPass bounds: the count character gives log2 of the MD5 iterations.
// phpass itself accepts 7..30; WordPress writes 13 ("B"), phpBB 11 ("9").
// 2^22 MD5s take well under a second, far past any real hash.
const (
	phpassMinLog2 = 7
	phpassMaxLog2 = 22
)

// phpassHash is a checked "$P$" or "$H$" portable phpass hash.
type phpassHash struct {
	setting string // the first 12 characters: prefix, count, salt
	log2    int
	encoded string // the 22 hash characters
}

// parsePHPass checks a portable phpass hash (Solar Designer's PasswordHash
// 0.x, used by WordPress as "$P$" and phpBB 3 as "$H$"): prefix, one count
// character, 8 salt characters, 22 hash characters; 34 in all.
func parsePHPass(stored string) (parsed, error) {
	if len(stored) != 34 || (stored[:3] != "$P$" && stored[:3] != "$H$") {
		return nil, malformed("phpass: want $P$ or $H$ and 31 more characters, 34 in all")
	}
	log2 := strings.IndexByte(itoa64, stored[3])
	if log2 < phpassMinLog2 || log2 > phpassMaxLog2 {
		return nil, malformed("phpass: count character %q gives 2^%d iterations, want 2^%d..2^%d",
			stored[3], log2, phpassMinLog2, phpassMaxLog2)
	}
	if !inItoa64(stored[4:]) {
		return nil, malformed("phpass: salt and hash are not crypt base64 characters")
	}
	return &phpassHash{setting: stored[:12], log2: log2, encoded: stored[12:]}, nil
}

func (h *phpassHash) verify(password []byte) bool {
	d := md5.New()
	d.Write([]byte(h.setting[4:12]))
	d.Write(password)
	sum := d.Sum(nil)
	for range 1 << h.log2 {
		d.Reset()
		d.Write(sum)
		d.Write(password)
		sum = d.Sum(sum[:0])
	}
	return subtle.ConstantTimeCompare(phpassEncode(sum), []byte(h.encoded)) == 1
}

// phpassEncode is phpass's encode64 of a 16-byte MD5: little-endian groups
// of three bytes, the last group one byte short (22 characters).
func phpassEncode(in []byte) []byte {
	out := make([]byte, 0, 22)
	for i := 0; i < len(in); i += 3 {
		switch len(in) - i {
		case 1:
			out = b64From24(out, 0, 0, in[i], 2)
		case 2:
			out = b64From24(out, 0, in[i+1], in[i], 3)
		default:
			out = b64From24(out, in[i+2], in[i+1], in[i], 4)
		}
	}
	return out
}
