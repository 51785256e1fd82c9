package legacy

import (
	"errors"
	"testing"
)

// cheap reports whether verifying h is quick enough for the fuzzer to do on
// every input; costly but legal parameters are checked by Check alone.
func cheap(h parsed) bool {
	switch h := h.(type) {
	case *bcryptHash:
		return h.cost <= 5
	case *wordpressHash:
		return h.cost <= 5
	case *argon2Hash:
		return h.memory*h.time <= 4096
	case *scryptHash:
		return h.n*h.r*h.p <= 1<<12
	case *firebaseHash:
		return (1<<h.memCost)*h.rounds <= 1<<12
	case *pbkdf2Hash:
		return h.iterations <= 10_000
	case *shaCryptHash:
		return h.rounds <= 10_000
	case *phpassHash:
		return h.log2 <= 14
	}
	return true
}

// FuzzParse feeds arbitrary stored strings and format names to every entry
// point that reads outside input: none may panic, Check and Verify must
// agree, and Compose must be idempotent on whatever it accepts.
func FuzzParse(f *testing.F) {
	for _, v := range vectors {
		stored, err := Compose(v.f, v.hash, v.salt, Options{Firebase: v.firebase})
		if err != nil {
			f.Fatalf("%s: %v", v.name, err)
		}
		f.Add(string(v.f), stored, v.password)
		f.Add(string(v.f), v.hash, v.password)
	}
	f.Fuzz(func(t *testing.T, name, stored, password string) {
		Detect(stored)
		fm, err := ParseFormat(name)
		if err != nil {
			fm = Format(name)
		}
		WeakHash(fm, stored)
		h, perr := parse(fm, stored)
		if cerr := Check(fm, stored); (cerr == nil) != (perr == nil) {
			t.Fatalf("Check = %v but parse = %v", cerr, perr)
		}
		if perr != nil {
			if !errors.Is(perr, ErrMalformed) && !errors.Is(perr, ErrUnknownFormat) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrUnknownFormat", perr)
			}
			return
		}
		once, err := Compose(fm, stored, "", Options{})
		if err == nil {
			if twice, err := Compose(fm, once, "", Options{}); err != nil || twice != once {
				t.Fatalf("Compose(%q) = %q, then %q, %v", stored, once, twice, err)
			}
		}
		if cheap(h) {
			if _, err := Verify(fm, stored, []byte(password)); err != nil {
				t.Fatalf("Verify after Check passed: %v", err)
			}
		}
	})
}
