package password

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// b64Of returns n bytes of 'x' in the PHC base64, for building hashes with
// a salt or key of a chosen length.
func b64Of(n int) string { return b64.EncodeToString([]byte(strings.Repeat("x", n))) }

func TestVerifyRefusesMalformedHashes(t *testing.T) {
	t.Parallel()
	salt, key := b64Of(16), b64Of(32)
	costs := func(c string) string { return "$argon2id$v=19$" + c + "$" + salt + "$" + key }
	sized := func(s, k string) string { return "$argon2id$v=19$m=64,t=1,p=1$" + s + "$" + k }
	tests := []struct {
		name    string
		encoded string
	}{
		{"refuses an empty string", ""},
		{"refuses a string without the leading dollar", "argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"refuses a bcrypt hash", "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"refuses argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"refuses argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"refuses an upper-case algorithm name", "$ARGON2ID$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"refuses Argon2 1.0 hashes without a version field", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"refuses version 16", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"refuses a missing key field", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"refuses an extra field", costs("m=64,t=1,p=1") + "$"},
		{"refuses a missing cost", costs("m=64,t=1")},
		{"refuses costs out of order", costs("t=1,m=64,p=1")},
		{"refuses the optional keyid parameter", costs("m=64,t=1,p=1,keyid=abc")},
		{"refuses spaces in the costs", costs("m=64, t=1, p=1")},
		{"refuses a signed number", costs("m=+64,t=1,p=1")},
		{"refuses a negative number", costs("m=-64,t=1,p=1")},
		{"refuses a leading zero", costs("m=064,t=1,p=1")},
		{"refuses an empty number", costs("m=,t=1,p=1")},
		{"refuses a hexadecimal number", costs("m=0x40,t=1,p=1")},
		{"refuses memory that overflows 32 bits", costs("m=4294967296,t=1,p=1")},
		{"refuses memory over 4 GiB", costs("m=4194305,t=1,p=1")},
		{"refuses the largest 32-bit memory", costs("m=4294967295,t=1,p=1")},
		{"refuses memory below 8 KiB per lane", costs("m=15,t=1,p=2")},
		{"refuses zero iterations", costs("m=64,t=0,p=1")},
		{"refuses more than 100 iterations", costs("m=64,t=101,p=1")},
		{"refuses zero parallelism", costs("m=64,t=1,p=0")},
		{"refuses parallelism above 255", costs("m=4096,t=1,p=256")},
		{"refuses an empty salt", sized("", key)},
		{"refuses a salt shorter than 8 bytes", sized(b64Of(7), key)},
		{"refuses a salt over 1 KiB", sized(b64Of(1025), key)},
		{"refuses an empty key", sized(salt, "")},
		{"refuses a key shorter than 4 bytes", sized(salt, b64Of(3))},
		{"refuses a key over 1 KiB", sized(salt, b64Of(1025))},
		{"refuses base64 padding", sized("c29tZXNhbHQ=", key)},
		{"refuses non-zero trailing bits", sized("c29tZXNhbHR", key)},
		{"refuses URL-safe base64", sized("c29tZXNhbHQ-_w", key)},
		{"refuses a line break inside base64", sized("c29tZXNh\nbHQ", key)},
		{"refuses an impossible base64 length", sized("c29tZXNhbHQAA", key)},
		{"refuses a huge number of fields", strings.Repeat("$", 10000)},
	}
	h := newTestHasher(t, testParams())
	var derived atomic.Int32
	next := h.derive
	h.derive = func(pw, salt []byte, p Params) []byte { derived.Add(1); return next(pw, salt, p) }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := h.Verify(t.Context(), "password", tt.encoded, "argon2id")
			if !errors.Is(err, ErrMalformedHash) || ok || rehash {
				t.Errorf("Verify = (%v, %v, %v), want an ErrMalformedHash", ok, rehash, err)
			}
		})
	}
	t.Cleanup(func() {
		if n := derived.Load(); n != 0 {
			t.Errorf("%d malformed hashes reached Argon2", n)
		}
	})
}

func TestDecodeAcceptsLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		encoded string
	}{
		{"accepts 4 GiB of memory", "$argon2id$v=19$m=4194304,t=1,p=1$" + b64Of(16) + "$" + b64Of(32)},
		{"accepts 100 iterations", "$argon2id$v=19$m=64,t=100,p=1$" + b64Of(16) + "$" + b64Of(32)},
		{"accepts 255 lanes with enough memory", "$argon2id$v=19$m=2040,t=1,p=255$" + b64Of(16) + "$" + b64Of(32)},
		{"accepts the shortest salt and key", "$argon2id$v=19$m=8,t=1,p=1$" + b64Of(8) + "$" + b64Of(4)},
		{"accepts a 1 KiB salt and key", "$argon2id$v=19$m=64,t=1,p=1$" + b64Of(1024) + "$" + b64Of(1024)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stored, err := decodePHC(tt.encoded)
			if err != nil {
				t.Fatalf("decodePHC: %v", err)
			}
			if got := encodePHC(stored.params, stored.salt, stored.key); got != tt.encoded {
				t.Errorf("re-encoded as %q", got)
			}
		})
	}
}

// FuzzVerify feeds arbitrary stored hashes and passwords to Verify. It must
// never panic; whatever it accepts must be canonical (re-encode to itself)
// and within the limits; and it must never hand Argon2 parameters that make
// x/crypto panic. To keep the fuzzer's memory bounded, derivations costlier
// than a few hundred KiB are checked but not run.
func FuzzVerify(f *testing.F) {
	for _, s := range []string{
		refVector, cliDefaults, cliTwoLanesASCII,
		"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=4294967295,t=0,p=0$$",
		"$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$AAAAAA",
		"$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"",
	} {
		f.Add(s, "password")
	}
	h := NewHasher(testParams(), NewGate(4, time.Minute))
	h.derive = func(pw, salt []byte, p Params) []byte {
		if p.Iterations < 1 || p.Parallelism < 1 || p.MemoryKiB < 8*uint32(p.Parallelism) ||
			len(salt) < minSaltLen || p.KeyLen < minKeyLen {
			panic("unvalidated parameters reached Argon2")
		}
		if p.MemoryKiB > 256 || p.Iterations > 2 {
			return make([]byte, p.KeyLen)
		}
		return deriveArgon2id(pw, salt, p)
	}
	f.Fuzz(func(t *testing.T, encoded, password string) {
		ok, rehash, err := h.Verify(t.Context(), password, encoded, "argon2id")
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) || ok || rehash {
				t.Fatalf("Verify = (%v, %v, %v)", ok, rehash, err)
			}
			return
		}
		stored, err := decodePHC(encoded)
		if err != nil {
			t.Fatalf("Verify accepted what decodePHC refuses: %v", err)
		}
		if again := encodePHC(stored.params, stored.salt, stored.key); again != encoded {
			t.Fatalf("accepted %q, which re-encodes as %q", encoded, again)
		}
	})
}
