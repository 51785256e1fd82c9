package legacy

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"hash"
	"strings"
)

// SHA-crypt rounds. The specification clamps a stored value to
// 1,000..999,999,999; this package refuses more than two million, which take
// under a second on one core: passlib's defaults (535,000 and 656,000) and
// every distribution's fit, a hostile row's billion does not.
const (
	shaCryptDefaultRounds = 5000
	shaCryptMinRounds     = 1000
	shaCryptMaxRounds     = 2_000_000
	shaCryptMaxSalt       = 16
)

// shaCryptHash is a checked "$5$" or "$6$" hash.
type shaCryptHash struct {
	newHash func() hash.Hash
	order   []byte // the byte permutation of the final encoding
	rounds  int
	salt    string
	encoded string
}

// parseSHACrypt checks a SHA-crypt hash (Ulrich Drepper, "Unix crypt using
// SHA-256 and SHA-512", 2007/2008):
//
//	$5$[rounds=<N>$]<salt of at most 16>$<43 characters>
//	$6$[rounds=<N>$]<salt of at most 16>$<86 characters>
func parseSHACrypt(f Format, stored string) (parsed, error) {
	magic, n, newHash, order := "$5$", 43, sha256.New, sha256CryptOrder
	if f == SHA512Crypt {
		magic, n, newHash, order = "$6$", 86, sha512.New, sha512CryptOrder
	}
	rest, ok := strings.CutPrefix(stored, magic)
	if !ok {
		return nil, malformed("%s: want %s[rounds=N$]<salt>$<hash>", f, magic)
	}
	h := &shaCryptHash{newHash: newHash, order: order, rounds: shaCryptDefaultRounds}
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		num, after, ok := strings.Cut(r, "$")
		if !ok || !isDigits(num) || len(num) > 10 {
			return nil, malformed("%s: rounds=%q is not a decimal followed by '$'", f, clip(num))
		}
		rounds := 0
		for _, c := range num {
			rounds = rounds*10 + int(c-'0')
		}
		if rounds > shaCryptMaxRounds {
			return nil, malformed("%s: rounds=%d above %d", f, rounds, shaCryptMaxRounds)
		}
		h.rounds = max(rounds, shaCryptMinRounds) // the specification's clamp
		rest = after
	}
	salt, encoded, ok := strings.Cut(rest, "$")
	switch {
	case !ok:
		return nil, malformed("%s: no '$' after the salt", f)
	case len(salt) > shaCryptMaxSalt || strings.Contains(salt, "\x00"):
		return nil, malformed("%s: salt of %d bytes, at most %d", f, len(salt), shaCryptMaxSalt)
	case len(encoded) != n || !inItoa64(encoded):
		return nil, malformed("%s: hash is not %d crypt base64 characters", f, n)
	}
	h.salt, h.encoded = salt, encoded
	return h, nil
}

func (h *shaCryptHash) verify(password []byte) bool {
	got := shaCrypt(h.newHash, h.order, password, []byte(h.salt), h.rounds)
	return subtle.ConstantTimeCompare(got, []byte(h.encoded)) == 1
}

// shaCrypt computes the encoded hash of Drepper's algorithm, steps 1 to 22
// of the specification, for either digest.
func shaCrypt(newHash func() hash.Hash, order, pw, salt []byte, rounds int) []byte {
	// Digest B: password, salt, password (steps 4-8).
	b := newHash()
	b.Write(pw)
	b.Write(salt)
	b.Write(pw)
	sumB := b.Sum(nil)
	size := len(sumB)

	// Digest A (steps 1-3, 9-12).
	a := newHash()
	a.Write(pw)
	a.Write(salt)
	n := len(pw)
	for ; n > size; n -= size {
		a.Write(sumB)
	}
	a.Write(sumB[:n])
	for i := len(pw); i > 0; i >>= 1 {
		if i&1 != 0 {
			a.Write(sumB)
		} else {
			a.Write(pw)
		}
	}
	sumA := a.Sum(nil)

	// P: digest DP of the password repeated once per byte, stretched to
	// the password's length (steps 13-16).
	dp := newHash()
	for range len(pw) {
		dp.Write(pw)
	}
	p := repeatTo(dp.Sum(nil), len(pw))

	// S: digest DS of the salt repeated 16+A[0] times, stretched to the
	// salt's length (steps 17-20).
	ds := newHash()
	for range 16 + int(sumA[0]) {
		ds.Write(salt)
	}
	s := repeatTo(ds.Sum(nil), len(salt))

	// Step 21: the rounds.
	c := sumA
	d := newHash()
	for i := range rounds {
		d.Reset()
		if i&1 != 0 {
			d.Write(p)
		} else {
			d.Write(c)
		}
		if i%3 != 0 {
			d.Write(s)
		}
		if i%7 != 0 {
			d.Write(p)
		}
		if i&1 != 0 {
			d.Write(c)
		} else {
			d.Write(p)
		}
		c = d.Sum(c[:0])
	}

	// Step 22: the permuted base64 encoding, three bytes at a time, the
	// tail one or two bytes short.
	out := make([]byte, 0, 86)
	i := 0
	for ; i+3 <= len(order); i += 3 {
		out = b64From24(out, c[order[i]], c[order[i+1]], c[order[i+2]], 4)
	}
	switch len(order) - i {
	case 1: // SHA-512: one byte left, two characters
		out = b64From24(out, 0, 0, c[order[i]], 2)
	case 2: // SHA-256: two bytes left, three characters
		out = b64From24(out, 0, c[order[i]], c[order[i+1]], 3)
	}
	return out
}

// repeatTo returns sum repeated and cut to n bytes.
func repeatTo(sum []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out)+len(sum) <= n {
		out = append(out, sum...)
	}
	return append(out, sum[:n-len(out)]...)
}

// The byte orders of step 22, from the specification's b64_from_24bit
// calls, read in groups of three (b2, b1, b0); the tail for SHA-256 is
// (c[31], c[30]) and for SHA-512 c[63].
var (
	sha256CryptOrder = []byte{
		0, 10, 20, 21, 1, 11, 12, 22, 2, 3, 13, 23, 24, 4, 14,
		15, 25, 5, 6, 16, 26, 27, 7, 17, 18, 28, 8, 9, 19, 29,
		31, 30,
	}
	sha512CryptOrder = []byte{
		0, 21, 42, 22, 43, 1, 44, 2, 23, 3, 24, 45, 25, 46, 4,
		47, 5, 26, 6, 27, 48, 28, 49, 7, 50, 8, 29, 9, 30, 51,
		31, 52, 10, 53, 11, 32, 12, 33, 54, 34, 55, 13, 56, 14, 35,
		15, 36, 57, 37, 58, 16, 59, 17, 38, 18, 39, 60, 40, 61, 19,
		62, 20, 41,
		63,
	}
)
