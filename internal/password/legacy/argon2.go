package legacy

import (
	"crypto/subtle"
	"encoding/base64"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Bounds on a stored Argon2 hash's costs. Django's default (m=100 MiB, t=2,
// p=8) and passlib's (64 MiB, t=3, p=4) fit well inside; a hostile row asking
// for gigabytes or thousands of passes does not. memory×passes is bounded
// too, as that is what the time grows with: about 1 ms per MiB-pass on one
// core (19 MiB × 2 passes take 39 ms, shared/TESTING.md), so about a second.
const (
	argon2MaxMemoryKiB = 256 << 10 // 256 MiB
	argon2MaxTime      = 32
	argon2MaxWork      = 1 << 20 // KiB-passes: 1 GiB·passes, 5× Django's default
	argon2MaxLanes     = 16
	argon2MinSalt      = 8 // ARGON2_MIN_SALT_LENGTH
	argon2MinKey       = 4 // ARGON2_MIN_OUTLEN
	argon2MaxBytes     = 1024
)

// argon2Hash is a checked Argon2 PHC string.
type argon2Hash struct {
	variant       Format
	memory, time  uint32
	lanes         uint8
	salt, derived []byte
}

// parseArgon2 checks "$argon2id$v=19$m=<KiB>,t=<n>,p=<n>$<salt>$<hash>" (or
// $argon2i$), salt and hash in standard base64 without padding, as the
// reference tool, libsodium, argon2-cffi and passlib write it; Django
// prefixes "argon2". Only version 19 (1.3) is computed: 1.0 hashes (no v=)
// are refused, as are the rarely used keyid and data parameters.
func parseArgon2(f Format, stored string) (parsed, error) {
	s := strings.TrimPrefix(stored, "argon2") // Django: "argon2" + "$argon2id$…"
	fields := strings.Split(s, "$")
	if len(fields) != 6 || fields[0] != "" {
		return nil, malformed("%s: want $%s$v=19$m=…,t=…,p=…$<salt>$<hash>", f, f)
	}
	if fields[1] != string(f) {
		return nil, malformed("%s: algorithm %q", f, clip(fields[1]))
	}
	if fields[2] != "v=19" {
		return nil, malformed("%s: version %q, want v=19 (Argon2 1.3)", f, clip(fields[2]))
	}
	costs, err := parseCosts(string(f), fields[3], "m", "t", "p")
	if err != nil {
		return nil, err
	}
	m, t, p := costs[0], costs[1], costs[2]
	switch {
	case p < 1 || p > argon2MaxLanes:
		return nil, malformed("%s: p=%d outside 1..%d", f, p, argon2MaxLanes)
	case t < 1 || t > argon2MaxTime:
		return nil, malformed("%s: t=%d outside 1..%d", f, t, argon2MaxTime)
	case m < 8*p || m > argon2MaxMemoryKiB:
		return nil, malformed("%s: m=%d KiB outside %d..%d", f, m, 8*p, argon2MaxMemoryKiB)
	case m*t > argon2MaxWork:
		return nil, malformed("%s: m×t = %d KiB-passes above %d", f, m*t, argon2MaxWork)
	}
	salt, err := decodeB64(base64.RawStdEncoding.Strict(), f, "salt", fields[4], argon2MinSalt, argon2MaxBytes)
	if err != nil {
		return nil, err
	}
	derived, err := decodeB64(base64.RawStdEncoding.Strict(), f, "hash", fields[5], argon2MinKey, argon2MaxBytes)
	if err != nil {
		return nil, err
	}
	return &argon2Hash{variant: f, memory: uint32(m), time: uint32(t), lanes: uint8(p), salt: salt, derived: derived}, nil
}

func (h *argon2Hash) verify(password []byte) bool {
	n := uint32(len(h.derived))
	var got []byte
	if h.variant == Argon2i {
		got = argon2.Key(password, h.salt, h.time, h.memory, h.lanes, n)
	} else {
		got = argon2.IDKey(password, h.salt, h.time, h.memory, h.lanes, n)
	}
	return subtle.ConstantTimeCompare(got, h.derived) == 1
}

// parseCosts parses "a=1,b=2,c=3" with exactly the names given, in that
// order, each a decimal below 2^31 without sign or leading zero.
func parseCosts(what, s string, names ...string) ([]int, error) {
	parts := strings.Split(s, ",")
	if len(parts) != len(names) {
		return nil, malformed("%s: parameters %q, want %s", what, clip(s), strings.Join(names, "=…,")+"=…")
	}
	vals := make([]int, len(names))
	for i, name := range names {
		v, ok := strings.CutPrefix(parts[i], name+"=")
		if !ok {
			return nil, malformed("%s: parameters %q, want %s", what, clip(s), strings.Join(names, "=…,")+"=…")
		}
		n, err := parseDecimal(v)
		if err != nil {
			return nil, malformed("%s: parameter %s: %v", what, name, err)
		}
		vals[i] = n
	}
	return vals, nil
}

// errDecimal is parseDecimal's error; the caller says which field.
type errDecimal string

func (e errDecimal) Error() string { return string(e) }

// parseDecimal parses ASCII digits without sign or leading zero, below 2^31.
func parseDecimal(s string) (int, error) {
	if !isDigits(s) {
		return 0, errDecimal(strconv.Quote(clip(s)) + " is not a decimal number")
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, errDecimal(strconv.Quote(clip(s)) + " has a leading zero")
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, errDecimal(strconv.Quote(clip(s)) + " is out of range")
	}
	return int(n), nil
}

// decodeB64 decodes one base64 field of enc, between lo and hi bytes long,
// refusing an over-long field before decoding it. Line breaks, which the
// decoders skip, are refused so each field has one spelling.
func decodeB64(enc *base64.Encoding, f Format, what, s string, lo, hi int) ([]byte, error) {
	if len(s) > enc.EncodedLen(hi) {
		return nil, malformed("%s: %s longer than %d bytes", f, what, hi)
	}
	if strings.ContainsAny(s, "\r\n") {
		return nil, malformed("%s: %s contains a line break", f, what)
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, malformed("%s: %s is not valid base64: %v", f, what, err)
	}
	if len(b) < lo {
		return nil, malformed("%s: %s of %d bytes, want at least %d", f, what, len(b), lo)
	}
	return b, nil
}
