package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
	"time"

	"github.com/keyshift/keyshift/internal/password/legacy"
	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Params are the Argon2id cost parameters and sizes. They are written into
// every hash, so changing them affects only new hashes; old ones keep
// verifying and report needsRehash.
type Params struct {
	// MemoryKiB is the memory cost m in KiB; every hash allocates this much.
	MemoryKiB uint32
	// Iterations is the time cost t, the number of passes over the memory.
	Iterations uint32
	// Parallelism is the number of lanes p. Keep it at 1 behind a [Gate]:
	// the gate already spreads hashes over the cores.
	Parallelism uint8
	// SaltLen is the length in bytes of the random salt of each new hash.
	SaltLen uint32
	// KeyLen is the length in bytes of the derived key that is stored.
	KeyLen uint32
}

// DefaultParams returns OWASP's recommended minimum for Argon2id (Password
// Storage Cheat Sheet: m=19 MiB, t=2, p=1) with a 16-byte salt and a 32-byte
// key, the sizes RFC 9106 section 4 recommends. About 40 ms per hash on one
// core of a small server, which keeps sign-in quick while making each guess
// against a stolen hash cost 19 MiB of memory.
func DefaultParams() Params {
	return Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}
}

// Limits on parameters, applied to stored hashes before any memory is
// allocated and to the parameters given to NewHasher. The minimums are the
// reference implementation's (argon2.h); the maximums are far above any sane
// setting and exist so one bad stored hash cannot take the server down.
const (
	maxMemoryKiB  = 4 << 20 // 4 GiB
	maxIterations = 100
	minSaltLen    = 8 // ARGON2_MIN_SALT_LENGTH
	minKeyLen     = 4 // ARGON2_MIN_OUTLEN
	maxSaltLen    = 1024
	maxKeyLen     = 1024
)

// validate reports why p is not a parameter set this package will compute.
// Argon2 needs at least 8 KiB per lane; x/crypto would silently round a
// smaller m up, producing a hash no other implementation agrees with.
func (p Params) validate() error {
	switch {
	case p.Parallelism == 0:
		return fmt.Errorf("parallelism p=0; need at least 1")
	case p.Iterations == 0 || p.Iterations > maxIterations:
		return fmt.Errorf("iterations t=%d outside 1..%d", p.Iterations, maxIterations)
	case p.MemoryKiB < 8*uint32(p.Parallelism) || p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("memory m=%d KiB outside %d..%d for p=%d",
			p.MemoryKiB, 8*uint32(p.Parallelism), maxMemoryKiB, p.Parallelism)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt of %d bytes outside %d..%d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("key of %d bytes outside %d..%d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// Hasher hashes and verifies passwords with one set of [Params], through a
// [Gate]. It does not apply [Check] or any length limit: the policy is for
// new passwords only, and the size of a request is bounded where it is read.
// It is safe for concurrent use.
type Hasher struct {
	params Params
	gate   *Gate
	// dummy is a hash of a random password made with params at
	// construction, verified against by VerifyDummy.
	dummy storedHash
	// rand supplies salts; tests replace it to compare with reference
	// vectors.
	rand io.Reader
	// derive computes the Argon2id key; tests wrap it to watch
	// concurrency and the parameters used.
	derive func(password, salt []byte, p Params) []byte
	// floor, when set, is told how long each verification takes.
	floor *FailureFloor
}

// Option adjusts a Hasher made by NewHasher.
type Option func(*Hasher)

// WithFailureFloor tells f how long each verification (Verify and
// VerifyDummy) holds its hashing slot, by hash format, so that failed
// sign-ins can be padded to the slowest format's time ([FailureFloor]).
func WithFailureFloor(f *FailureFloor) Option { return func(h *Hasher) { h.floor = f } }

// NewHasher returns a Hasher that makes new hashes with p and runs every hash
// through gate. It computes one hash at once, for [Hasher.VerifyDummy].
// NewHasher panics if gate is nil or p is outside the limits Verify accepts
// (for example t=0 or m < 8*p KiB): both are configuration mistakes that
// should stop the server at start rather than fail every sign-in later.
func NewHasher(p Params, gate *Gate, opts ...Option) *Hasher {
	if gate == nil {
		panic("password: NewHasher needs a Gate")
	}
	if err := p.validate(); err != nil {
		panic("password: NewHasher: " + err.Error())
	}
	h := &Hasher{params: p, gate: gate, rand: rand.Reader, derive: deriveArgon2id}
	for _, o := range opts {
		o(h)
	}
	h.dummy = h.mustDummy()
	return h
}

// mustDummy hashes a random password. It bypasses the gate: it runs once,
// at start, before any request can compete for slots.
func (h *Hasher) mustDummy() storedHash {
	secret := make([]byte, 32)
	salt := make([]byte, h.params.SaltLen)
	rand.Read(secret) // never fails (crypto/rand, Go 1.24+)
	rand.Read(salt)
	return storedHash{params: h.params, salt: salt, key: h.derive(secret, salt, h.params)}
}

// Params returns the parameters h uses for new hashes.
func (h *Hasher) Params() Params { return h.params }

// Hash returns a new PHC-format Argon2id hash of password with a fresh random
// salt: "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>", salt and key in
// standard base64 without padding. The password is NFKC-normalised first.
// It returns the gate's error (*BusyError or ctx.Err()) when no slot is had.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := io.ReadFull(h.rand, salt); err != nil {
		return "", fmt.Errorf("password: reading salt: %w", err)
	}
	release, err := h.gate.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	key := h.derive(normalize(password), salt, h.params)
	return encodePHC(h.params, salt, key), nil
}

// Verify reports whether password matches encoded, a stored hash in format
// (the credential's password_format: "argon2id" for hashes keyshift made, or
// one of the legacy formats of package legacy for imported ones).
//
// An Argon2id PHC hash is checked against the NFKC-normalised password,
// comparing keys in constant time; when that fails and NFKC changed the
// password, against the raw bytes too, because an Argon2id hash imported
// from another system was made from the bytes the member typed (that second
// match reports needsRehash, so the hash is remade normalised). needsRehash
// also reports a hash made with parameters (costs, salt or key length) other
// than h's; it is a property of the stored hash and is set whether or not ok
// is, but callers should re-hash only after ok, since only then do they hold
// the right password.
//
// Any other format is verified by [legacy.Verify] on the raw password bytes,
// inside a gate slot like Argon2id (bcrypt and scrypt cost as much), and
// always reports needsRehash. When such a password is wrong, Verify also
// does the work of [Hasher.VerifyDummy] before answering, so that a fast
// legacy format (an MD5 takes microseconds) does not tell an attacker the
// address has an account.
//
// An unknown format or a malformed, unsupported or absurdly costly hash
// gives an error wrapping [ErrMalformedHash] before any hashing; otherwise
// err is the gate's (*BusyError or ctx.Err()).
func (h *Hasher) Verify(ctx context.Context, password, encoded, format string) (ok, needsRehash bool, err error) {
	f, err := legacy.ParseFormat(format)
	if err != nil {
		return false, false, fmt.Errorf("%w: %w", ErrMalformedHash, err)
	}
	if f == legacy.Argon2id {
		// keyshift's own spelling; Argon2id hashes in other wrappings
		// (Django's "argon2$…") take the legacy path below.
		if stored, err := decodePHC(encoded); err == nil {
			return h.verifyPHC(ctx, password, stored)
		}
	}
	if err := legacy.Check(f, encoded); err != nil {
		return false, false, fmt.Errorf("%w: %w", ErrMalformedHash, err)
	}
	release, err := h.gate.Acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	start := time.Now()
	ok, err = legacy.Verify(f, encoded, []byte(password))
	if err != nil { // Check passed above, so this does not happen
		return false, false, fmt.Errorf("%w: %w", ErrMalformedHash, err)
	}
	if !ok {
		h.match(password, h.dummy) // the time an unknown address costs
	}
	h.floor.Observe(string(f), time.Since(start))
	return ok, true, nil
}

// verifyPHC verifies an Argon2id hash through the gate.
func (h *Hasher) verifyPHC(ctx context.Context, password string, stored storedHash) (ok, needsRehash bool, err error) {
	release, err := h.gate.Acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	start := time.Now()
	ok, raw := h.match(password, stored)
	h.floor.Observe(string(legacy.Argon2id), time.Since(start))
	return ok, raw || stored.params != h.params, nil
}

// match derives the key of password, NFKC-normalised, for stored and
// compares in constant time; when that fails and normalising changed the
// password, it tries the raw bytes too (raw reports that those matched). The
// caller holds a gate slot.
func (h *Hasher) match(password string, stored storedHash) (ok, raw bool) {
	normalized := normalize(password)
	if subtle.ConstantTimeCompare(h.derive(normalized, stored.salt, stored.params), stored.key) == 1 {
		return true, false
	}
	if string(normalized) == password {
		return false, false
	}
	ok = subtle.ConstantTimeCompare(h.derive([]byte(password), stored.salt, stored.params), stored.key) == 1
	return ok, ok
}

// VerifyDummy does the work of a real Verify, through the gate, against a
// hash made with h's parameters at construction, and then discards the
// answer. Call it when the account asked for does not exist (or has no
// password), so that an unknown email and a wrong password take about the
// same time and the response time does not reveal which accounts exist. It
// returns only the gate's error; the answer is always "no match".
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, _, err := h.verifyPHC(ctx, password, h.dummy)
	return err
}

// normalize applies NFKC (NIST SP 800-63B 5.1.1.2), so visually identical
// passwords typed as different code points hash alike.
func normalize(password string) []byte {
	return []byte(norm.NFKC.String(password))
}

// deriveArgon2id is the real key derivation. p must have passed validate:
// x/crypto panics on t=0 or p=0.
func deriveArgon2id(password, salt []byte, p Params) []byte {
	return argon2.IDKey(password, salt, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLen)
}
