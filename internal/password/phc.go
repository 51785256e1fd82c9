package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrMalformedHash is wrapped by every error about a stored hash that this
// package cannot or will not verify: not PHC Argon2id v1.3, badly encoded, or
// with parameters outside sane limits. Such a row needs an operator's
// attention; it is not a wrong password.
var ErrMalformedHash = errors.New("password: malformed hash")

// b64 is the PHC string format's base64: the standard alphabet without
// padding, as written by the reference argon2 tool and libsodium. Strict
// rejects non-zero trailing bits, so each hash has exactly one spelling.
var b64 = base64.RawStdEncoding.Strict()

// argon2Version is Argon2 version 1.3 (0x13), the only one x/crypto computes
// and the one every current implementation writes.
const argon2Version = 19

// storedHash is a decoded PHC string. params.SaltLen and params.KeyLen are
// the lengths found, so comparing params with a Hasher's tells whether the
// hash is current.
type storedHash struct {
	params    Params
	salt, key []byte
}

// encodePHC writes the PHC string for an Argon2id hash.
func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2Version, p.MemoryKiB, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decodePHC parses and checks an Argon2id PHC string. It is strict (fields in
// the reference order, no leading zeros, no padding or line breaks in base64)
// so that anything it accepts re-encodes to the same string, and it checks
// every limit before the caller allocates Argon2 memory.
func decodePHC(encoded string) (storedHash, error) {
	fields := strings.Split(encoded, "$")
	if fields[0] != "" {
		return storedHash{}, malformed("does not start with '$'")
	}
	if len(fields) == 5 && strings.HasPrefix(fields[2], "m=") {
		return storedHash{}, malformed("no version field (Argon2 1.0 hashes are not supported)")
	}
	if len(fields) != 6 {
		return storedHash{}, malformed("%d '$'-separated fields, want 5", len(fields)-1)
	}
	if fields[1] != "argon2id" {
		return storedHash{}, malformed("algorithm %q is not argon2id", clip(fields[1]))
	}
	if fields[2] != "v="+strconv.Itoa(argon2Version) {
		return storedHash{}, malformed("version %q, want v=%d", clip(fields[2]), argon2Version)
	}
	p, err := parseCosts(fields[3])
	if err != nil {
		return storedHash{}, err
	}
	salt, err := decodeB64("salt", fields[4], maxSaltLen)
	if err != nil {
		return storedHash{}, err
	}
	key, err := decodeB64("key", fields[5], maxKeyLen)
	if err != nil {
		return storedHash{}, err
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.validate(); err != nil {
		return storedHash{}, malformed("%v", err)
	}
	return storedHash{params: p, salt: salt, key: key}, nil
}

// parseCosts parses "m=<KiB>,t=<passes>,p=<lanes>", in that order and
// nothing else (the optional keyid and data parameters are not supported).
func parseCosts(s string) (Params, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return Params{}, malformed("parameters %q, want m=<KiB>,t=<n>,p=<n>", clip(s))
	}
	var vals [3]uint32
	for i, name := range [3]string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(parts[i], name+"=")
		if !ok {
			return Params{}, malformed("parameters %q, want m=<KiB>,t=<n>,p=<n>", clip(s))
		}
		n, err := parseDecimal(v)
		if err != nil {
			return Params{}, malformed("parameter %s: %v", name, err)
		}
		vals[i] = n
	}
	if vals[2] > 255 {
		return Params{}, malformed("parallelism p=%d above 255", vals[2])
	}
	return Params{MemoryKiB: vals[0], Iterations: vals[1], Parallelism: uint8(vals[2])}, nil
}

// parseDecimal parses a PHC decimal: ASCII digits only, no sign and no
// leading zero, fitting in 32 bits.
func parseDecimal(s string) (uint32, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a decimal number", clip(s))
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%q has a leading zero", clip(s))
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range", clip(s))
	}
	return uint32(n), nil
}

// decodeB64 decodes one base64 field, refusing anything longer than limit
// bytes before decoding it.
func decodeB64(what, s string, limit int) ([]byte, error) {
	if len(s) > b64.EncodedLen(limit) {
		return nil, malformed("%s longer than %d bytes", what, limit)
	}
	// The decoder skips '\r' and '\n'; refuse them so a hash has one form.
	if strings.ContainsAny(s, "\r\n") {
		return nil, malformed("%s contains a line break", what)
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, malformed("%s is not unpadded standard base64: %v", what, err)
	}
	return b, nil
}

// malformed builds an error wrapping ErrMalformedHash.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedHash, fmt.Sprintf(format, args...))
}

// clip shortens a piece of a stored hash quoted in an error, so a huge
// corrupted value cannot flood the logs.
func clip(s string) string {
	const n = 32
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
