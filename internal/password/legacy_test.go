package password

import (
	"errors"
	"sync/atomic"
	"testing"
)

// Imported hashes in legacy formats; each vector's source is cited in
// package legacy's tests, where every format is covered.
const (
	// htpasswd -nbB -C 5 (apache2-utils 2.4.71)
	legacyBcrypt = "$2y$05$bOvTpTACU36668qaq7okAu4juHzacUhXzxyNIB0UZ12wC4emoJYfi"
	// printf %s 'Tr0ub4dor&3' | md5sum
	legacyMD5 = "4ece57a61323b52ccffdbef021956754"
	// Django 3.2.25 make_password(…, hasher="argon2"), time_cost=1, memory_cost=256, parallelism=2
	legacyDjangoArgon2 = "argon2$argon2id$v=19$m=256,t=1,p=2$bkFjRE94bmZXdE55R3ZhUU5OUEhzeg$6MiWnaw5H1uPDxG0S5zm+Q"
	// printf %s 'Tr0ub4dor&3' | argon2 saltsaltsalt -i -t 3 -m 12 -p 2 -e
	legacyArgon2i  = "$argon2i$v=19$m=4096,t=3,p=2$c2FsdHNhbHRzYWx0$F7XyVSDk6+4zcXz+MWvop5mj8/0fsh7ykZnHSAhh2Qo"
	legacyPassword = "Tr0ub4dor&3"
)

func TestVerifyLegacyFormats(t *testing.T) {
	t.Parallel()
	h := newTestHasher(t, testParams())
	tests := []struct {
		name, format, encoded, password string
		wantOK                          bool
	}{
		{"accepts a bcrypt hash", "bcrypt", legacyBcrypt, legacyPassword, true},
		{"refuses a bcrypt hash with a wrong password", "bcrypt", legacyBcrypt, "Tr0ub4dor&4", false},
		{"accepts an unsalted MD5", "md5", legacyMD5, legacyPassword, true},
		{"refuses an unsalted MD5 with a wrong password", "md5", legacyMD5, "tr0ub4dor&3", false},
		{"accepts Argon2id in Django's wrapping", "argon2id", legacyDjangoArgon2, legacyPassword, true},
		{"accepts argon2i", "argon2i", legacyArgon2i, legacyPassword, true},
		{"refuses argon2i with a wrong password", "argon2i", legacyArgon2i, "Tr0ub4dor", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := h.Verify(t.Context(), tt.password, tt.encoded, tt.format)
			if ok != tt.wantOK || !rehash || err != nil {
				t.Errorf("Verify = (%v, %v, %v), want (%v, true, nil): legacy hashes are always replaced", ok, rehash, err, tt.wantOK)
			}
		})
	}
}

// A wrong password against a fast legacy hash costs the same Argon2id as an
// unknown address, so timing does not reveal that the account exists; a
// right one does not pay it (the caller re-hashes right after).
func TestVerifyLegacyWrongPasswordCostsADummyHash(t *testing.T) {
	t.Parallel()
	h := newTestHasher(t, testParams())
	var derived atomic.Int32
	next := h.derive
	h.derive = func(pw, salt []byte, p Params) []byte {
		if p != h.params || h.gate.InUse() != 1 {
			t.Errorf("dummy derivation with %+v and %d slots held, want %+v inside one slot", p, h.gate.InUse(), h.params)
		}
		derived.Add(1)
		return next(pw, salt, p)
	}
	if ok, _, err := h.Verify(t.Context(), "wrong", legacyMD5, "md5"); ok || err != nil {
		t.Fatalf("Verify(wrong) = %v, %v", ok, err)
	}
	if n := derived.Swap(0); n != 1 {
		t.Errorf("a wrong password derived %d Argon2id keys, want 1 like VerifyDummy", n)
	}
	if err := h.VerifyDummy(t.Context(), "wrong"); err != nil || derived.Swap(0) != 1 {
		t.Errorf("VerifyDummy = %v, and did not derive exactly once", err)
	}
	if ok, _, err := h.Verify(t.Context(), legacyPassword, legacyMD5, "md5"); !ok || err != nil {
		t.Fatalf("Verify(right) = %v, %v", ok, err)
	}
	if n := derived.Load(); n != 0 {
		t.Errorf("a right password derived %d Argon2id keys, want 0", n)
	}
}

// Bad rows are refused before a gate slot is taken or anything is hashed:
// with the only slot held, they still answer ErrMalformedHash at once.
func TestVerifyRefusesUnknownFormatsAndBadLegacyRows(t *testing.T) {
	t.Parallel()
	h := NewHasher(testParams(), NewGate(1, 0))
	release, err := h.gate.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	tests := []struct{ name, format, encoded string }{
		{"an empty format", "", legacyBcrypt},
		{"an unknown format", "ntlm", legacyMD5},
		{"a hash that is not of its format", "md5", legacyBcrypt},
		{"a bcrypt hash of absurd cost", "bcrypt", "$2y$31$bOvTpTACU36668qaq7okAu4juHzacUhXzxyNIB0UZ12wC4emoJYfi"},
		{"a bcrypt hash stored as argon2id", "argon2id", legacyBcrypt},
	}
	for _, tt := range tests {
		ok, rehash, err := h.Verify(t.Context(), legacyPassword, tt.encoded, tt.format)
		if !errors.Is(err, ErrMalformedHash) || ok || rehash {
			t.Errorf("%s: Verify = (%v, %v, %v), want ErrMalformedHash", tt.name, ok, rehash, err)
		}
	}
	// A good legacy row waits for the gate like Argon2id.
	if _, _, err := h.Verify(t.Context(), legacyPassword, legacyBcrypt, "bcrypt"); !errors.Is(err, ErrBusy) {
		t.Errorf("Verify(bcrypt) with the gate full = %v, want ErrBusy", err)
	}
}
