package password

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// testParams are tiny Argon2id costs so tests run fast; only the tests about
// defaults and the reference vectors pay for real costs.
func testParams() Params {
	return Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}
}

// newTestHasher returns a hasher with p behind a roomy gate of its own.
func newTestHasher(t testing.TB, p Params) *Hasher {
	t.Helper()
	return NewHasher(p, NewGate(2, 10*time.Second))
}

// Known answers. Each was produced outside this package, so together they
// pin the PHC encoding and the Argon2id computation to the reference:
//
//   - refVector is the Argon2id case of the reference implementation's test
//     suite (P-H-C/phc-winner-argon2, src/test.c: version 0x13, t=2, m=2^16,
//     p=1, password "password", salt "somesalt"); the Debian argon2 CLI
//     (0~20171227) prints the same for
//     `echo -n password | argon2 somesalt -id -t 2 -m 16 -p 1 -l 32 -e`.
//   - The others were made with that CLI as shown beside each.
const (
	refVector = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	// echo -n password | argon2 somesalt -id -t 2 -k 19456 -p 1 -l 32 -e
	cliDefaultsShortSalt = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$PL01amPyeUuxG7H0vIr5X+qHkZvWnHmGBGXFYvh8z2E"
	// echo -n password | argon2 somesaltsomesalt -id -t 2 -k 19456 -p 1 -l 32 -e
	cliDefaults = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$K13EBUiG7JV+9ZxztmHFTdb7J0WQsnj2V8bZaqyPptE"
	// echo -n 'financial-report' | argon2 saltsaltsaltsalt -id -t 1 -k 64 -p 2 -l 32 -e
	cliTwoLanesASCII = "$argon2id$v=19$m=64,t=1,p=2$c2FsdHNhbHRzYWx0c2FsdA$HY13b7TcdYggfIU9DlTsPU2cd2+gYBEcgwzpzKNwv98"
	// echo -n 'ﬁnancial-report' | argon2 saltsaltsaltsalt -id -t 1 -k 64 -p 2 -l 32 -e
	// (the raw U+FB01 ligature bytes, not normalised)
	cliTwoLanesLigature = "$argon2id$v=19$m=64,t=1,p=2$c2FsdHNhbHRzYWx0c2FsdA$/2CPQPPKAuVph+UGQaIAaNYqOKRiBSbNZE4YZYI1HMY"
)

func TestVerifyKnownAnswers(t *testing.T) {
	t.Parallel()
	defaults := newTestHasher(t, DefaultParams())
	small := newTestHasher(t, testParams())
	tests := []struct {
		name       string
		h          *Hasher
		encoded    string
		password   string
		wantOK     bool
		wantRehash bool
	}{
		{"accepts the reference test vector with its password", small, refVector, "password", true, true},
		{"refuses the reference test vector with another password", small, refVector, "Password", false, true},
		{"accepts a CLI hash at the default costs", defaults, cliDefaults, "password", true, false},
		{"refuses a CLI hash at the default costs with a wrong password", defaults, cliDefaults, "passwort", false, false},
		{"asks for a rehash when only the salt length differs", defaults, cliDefaultsShortSalt, "password", true, true},
		{"accepts a two-lane CLI hash", small, cliTwoLanesASCII, "financial-report", true, true},
		{"accepts the ligature form of a password hashed as plain letters", small, cliTwoLanesASCII, "ﬁnancial-report", true, true},
		{"accepts a foreign hash of unnormalised ligature bytes and asks for a rehash", defaults, cliTwoLanesLigature, "ﬁnancial-report", true, true},
		{"refuses the plain letters against a hash of unnormalised ligature bytes", small, cliTwoLanesLigature, "financial-report", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := tt.h.Verify(t.Context(), tt.password, tt.encoded, "argon2id")
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if ok != tt.wantOK || rehash != tt.wantRehash {
				t.Errorf("Verify = (ok %v, needsRehash %v), want (%v, %v)", ok, rehash, tt.wantOK, tt.wantRehash)
			}
		})
	}
}

func TestHashMatchesReferenceEncoding(t *testing.T) {
	t.Parallel()
	h := newTestHasher(t, DefaultParams())
	h.rand = bytes.NewReader([]byte("somesaltsomesalt"))
	got, err := h.Hash(t.Context(), "password")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if got != cliDefaults {
		t.Errorf("Hash = %s\nwant  %s (reference argon2 CLI)", got, cliDefaults)
	}
}

func TestHashAndVerify(t *testing.T) {
	t.Parallel()
	h := newTestHasher(t, testParams())
	tests := []struct {
		name     string
		hashed   string
		verified string
		wantOK   bool
	}{
		{"accepts the same ASCII password", "correct horse battery staple", "correct horse battery staple", true},
		{"refuses a wrong password", "correct horse battery staple", "correct horse battery stapler", false},
		{"refuses a password differing only in case", "Tr0ub4dour&3", "tr0ub4dour&3", false},
		{"refuses an empty password against a real hash", "something long enough", "", false},
		{"accepts a non-Latin password", "пароль-на-зиму-2024", "пароль-на-зиму-2024", true},
		{"accepts plain letters for a password hashed with the ﬁ ligature", "ﬁnancial-report", "financial-report", true},
		{"accepts the ﬁ ligature for a password hashed with plain letters", "financial-report", "ﬁnancial-report", true},
		{"accepts a combining accent for a precomposed one", "caf\u00e9 au lait", "cafe\u0301 au lait", true},
		{"accepts a fullwidth password for its ASCII form", "ＳＥＣＲＥＴ-ｐａｓｓ", "SECRET-pass", true},
		{"refuses a look-alike that NFKC keeps apart", "pаssword-cyrillic-a", "password-cyrillic-a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			encoded, err := h.Hash(t.Context(), tt.hashed)
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			ok, rehash, err := h.Verify(t.Context(), tt.verified, encoded, "argon2id")
			if err != nil || ok != tt.wantOK || rehash {
				t.Errorf("Verify = (%v, %v, %v), want (%v, false, nil)", ok, rehash, err, tt.wantOK)
			}
		})
	}
}

func TestHashFormat(t *testing.T) {
	t.Parallel()
	h := newTestHasher(t, testParams())
	a, err := h.Hash(t.Context(), "same password")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash(t.Context(), "same password")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("writes the PHC prefix with the hasher's costs", func(t *testing.T) {
		if want := "$argon2id$v=19$m=64,t=1,p=1$"; !strings.HasPrefix(a, want) {
			t.Errorf("Hash = %q, want prefix %q", a, want)
		}
	})
	t.Run("uses unpadded standard base64 of the configured sizes", func(t *testing.T) {
		fields := strings.Split(a, "$")
		if len(fields[4]) != 22 || len(fields[5]) != 43 || strings.ContainsAny(fields[4]+fields[5], "=-_") {
			t.Errorf("salt %q and key %q are not 16 and 32 bytes of unpadded base64", fields[4], fields[5])
		}
	})
	t.Run("salts each hash afresh", func(t *testing.T) {
		if a == b {
			t.Errorf("two hashes of one password are equal: %s", a)
		}
	})
}

func TestVerifyReportsNeedsRehash(t *testing.T) {
	t.Parallel()
	base := testParams()
	old := newTestHasher(t, base)
	encoded, err := old.Hash(t.Context(), "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	change := func(f func(*Params)) Params { p := base; f(&p); return p }
	tests := []struct {
		name   string
		params Params
		want   bool
	}{
		{"keeps a hash made with the same params", base, false},
		{"asks for a rehash when memory changes", change(func(p *Params) { p.MemoryKiB = 128 }), true},
		{"asks for a rehash when iterations change", change(func(p *Params) { p.Iterations = 2 }), true},
		{"asks for a rehash when parallelism changes", change(func(p *Params) { p.Parallelism = 2 }), true},
		{"asks for a rehash when the salt length changes", change(func(p *Params) { p.SaltLen = 32 }), true},
		{"asks for a rehash when the key length changes", change(func(p *Params) { p.KeyLen = 64 }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHasher(t, tt.params)
			ok, rehash, err := h.Verify(t.Context(), "a long enough password", encoded, "argon2id")
			if err != nil || !ok || rehash != tt.want {
				t.Errorf("Verify = (%v, %v, %v), want (true, %v, nil)", ok, rehash, err, tt.want)
			}
			if !tt.want {
				return
			}
			fresh, err := h.Hash(t.Context(), "a long enough password")
			if err != nil {
				t.Fatal(err)
			}
			if ok, rehash, err := h.Verify(t.Context(), "a long enough password", fresh, "argon2id"); err != nil || !ok || rehash {
				t.Errorf("after rehash Verify = (%v, %v, %v), want (true, false, nil)", ok, rehash, err)
			}
		})
	}
}

// recorder wraps a hasher's key derivation to see what each hash used and
// what the gate looked like meanwhile.
type recorder struct {
	mu     sync.Mutex
	params []Params
	inUse  []int
}

func (r *recorder) install(h *Hasher, g *Gate) {
	next := h.derive
	h.derive = func(password, salt []byte, p Params) []byte {
		r.mu.Lock()
		r.params = append(r.params, p)
		r.inUse = append(r.inUse, g.InUse())
		r.mu.Unlock()
		return next(password, salt, p)
	}
}

func TestVerifyDummy(t *testing.T) {
	t.Parallel()
	gate := NewGate(1, time.Second)
	h := NewHasher(testParams(), gate)
	rec := &recorder{}
	rec.install(h, gate)
	real, err := h.Hash(t.Context(), "a real password")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Verify(t.Context(), "a wrong password", real, "argon2id"); err != nil {
		t.Fatal(err)
	}
	if err := h.VerifyDummy(t.Context(), "a wrong password"); err != nil {
		t.Fatalf("VerifyDummy: %v", err)
	}
	t.Run("derives with exactly the params of a real verify", func(t *testing.T) {
		if len(rec.params) != 3 {
			t.Fatalf("%d derivations, want 3 (hash, verify, dummy)", len(rec.params))
		}
		if rec.params[2] != rec.params[1] || rec.params[2] != h.Params() {
			t.Errorf("dummy used %+v, real verify %+v, hasher %+v", rec.params[2], rec.params[1], h.Params())
		}
	})
	t.Run("holds a gate slot while hashing", func(t *testing.T) {
		if rec.inUse[2] != 1 {
			t.Errorf("gate InUse during dummy verify = %d, want 1", rec.inUse[2])
		}
		if gate.InUse() != 0 {
			t.Errorf("gate InUse after = %d, want 0", gate.InUse())
		}
	})
	t.Run("is refused by a full gate like a real verify", func(t *testing.T) {
		release, err := gate.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := h.VerifyDummy(ctx, "x"); !errors.Is(err, context.Canceled) {
			t.Errorf("VerifyDummy with a full gate and cancelled ctx = %v, want context.Canceled", err)
		}
	})
}

func TestHashingPassesThroughTheGate(t *testing.T) {
	t.Parallel()
	gate := NewGate(1, 0)
	h := NewHasher(testParams(), gate)
	encoded, err := h.Hash(t.Context(), "some password")
	if err != nil {
		t.Fatal(err)
	}
	release, err := gate.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	calls := map[string]func() error{
		"Hash is refused when the gate is full": func() error {
			_, err := h.Hash(t.Context(), "some password")
			return err
		},
		"Verify is refused when the gate is full": func() error {
			_, _, err := h.Verify(t.Context(), "some password", encoded, "argon2id")
			return err
		},
		"VerifyDummy is refused when the gate is full": func() error {
			return h.VerifyDummy(t.Context(), "some password")
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			var busy *BusyError
			if err := call(); !errors.Is(err, ErrBusy) || !errors.As(err, &busy) {
				t.Errorf("err = %v, want a *BusyError", err)
			}
		})
	}
}

func TestHashFailsWhenSaltCannotBeRead(t *testing.T) {
	t.Parallel()
	h := newTestHasher(t, testParams())
	h.rand = bytes.NewReader([]byte("short"))
	if got, err := h.Hash(t.Context(), "password"); err == nil {
		t.Errorf("Hash = %q, nil; want an error", got)
	}
}

func TestNewHasherPanicsOnBadConfiguration(t *testing.T) {
	t.Parallel()
	gate := NewGate(1, time.Second)
	change := func(f func(*Params)) Params { p := testParams(); f(&p); return p }
	tests := []struct {
		name   string
		params Params
		gate   *Gate
	}{
		{"panics without a gate", testParams(), nil},
		{"panics on zero iterations", change(func(p *Params) { p.Iterations = 0 }), gate},
		{"panics on zero parallelism", change(func(p *Params) { p.Parallelism = 0 }), gate},
		{"panics on memory below 8 KiB per lane", change(func(p *Params) { p.MemoryKiB = 15; p.Parallelism = 2 }), gate},
		{"panics on a salt shorter than 8 bytes", change(func(p *Params) { p.SaltLen = 4 }), gate},
		{"panics on a key shorter than 4 bytes", change(func(p *Params) { p.KeyLen = 2 }), gate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Errorf("NewHasher(%+v) did not panic", tt.params)
				}
			}()
			NewHasher(tt.params, tt.gate)
		})
	}
}

func TestDefaultParams(t *testing.T) {
	t.Parallel()
	want := Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}
	if got := DefaultParams(); got != want {
		t.Errorf("DefaultParams() = %+v, want OWASP's %+v", got, want)
	}
	if err := DefaultParams().validate(); err != nil {
		t.Errorf("DefaultParams() fails its own limits: %v", err)
	}
}

func BenchmarkHashDefault(b *testing.B) {
	h := newTestHasher(b, DefaultParams())
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyParallel(b *testing.B) {
	h := NewHasher(DefaultParams(), NewGate(2, time.Minute))
	ctx := context.Background()
	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _, err := h.Verify(ctx, "correct horse battery staple", encoded, "argon2id"); err != nil || !ok {
				b.Errorf("Verify = %v, %v", ok, err)
				return
			}
		}
	})
}
