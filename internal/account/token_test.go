package account_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

func TestNewTokenIs256RandomBitsThatHashTokenStores(t *testing.T) {
	s := account.Random{Rand: bytes.NewReader(bytes.Repeat([]byte{0xab}, 64))}
	a, b := s.NewToken(), account.Random{}.NewToken()
	raw, err := base64.RawURLEncoding.DecodeString(a)
	if err != nil || len(raw) != 32 || !bytes.Equal(raw, bytes.Repeat([]byte{0xab}, 32)) {
		t.Fatalf("token %q decodes to %x, %v: want the 32 bytes drawn", a, raw, err)
	}
	if !account.PlausibleToken(a) || !account.PlausibleToken(b) {
		t.Errorf("PlausibleToken refuses tokens NewToken made: %q %q", a, b)
	}
	if a == b {
		t.Error("crypto/rand gave the fixed test bytes")
	}
	want := sha256.Sum256([]byte(a))
	if got := account.HashToken(a); !bytes.Equal(got, want[:]) {
		t.Errorf("HashToken = %x, want SHA-256 %x (stored hashes must keep matching)", got, want)
	}
}

func TestPlausibleToken(t *testing.T) {
	for _, tc := range []struct {
		name  string
		token string
		ok    bool
	}{
		{"accepts base64url", "abcXYZ019-_", true},
		{"refuses an empty token", "", false},
		{"refuses padding", "abc=", false},
		{"refuses standard base64's slash and plus", "ab/c+d", false},
		{"refuses a token over 128 bytes", string(bytes.Repeat([]byte{'a'}, 129)), false},
		{"accepts exactly 128 bytes", string(bytes.Repeat([]byte{'a'}, 128)), true},
		{"refuses non-ASCII", "abcé", false},
		{"refuses a NUL", "ab\x00c", false},
	} {
		if got := account.PlausibleToken(tc.token); got != tc.ok {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
}

// TestNewTimeIDIsAVersion7UUIDThatSortsByTime: NewTimeID's text has NewID's
// form, says version 7 with the RFC 9562 variant, carries the millisecond
// time first — so ids made later sort later as text, which is what keeps
// their index appends on the last page — and random bits after it.
func TestNewTimeIDIsAVersion7UUIDThatSortsByTime(t *testing.T) {
	at := time.UnixMilli(0x0190_1234_5678).UTC()
	fixed := account.Random{Rand: bytes.NewReader(bytes.Repeat([]byte{0xff}, 16))}
	if got, want := fixed.NewTimeID(at), "01901234-5678-7fff-bfff-ffffffffffff"; got != want {
		t.Errorf("NewTimeID = %s, want %s (time, version 7, variant 10, the drawn bits)", got, want)
	}
	form := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	var r account.Random
	prev, seen := "", map[string]bool{}
	for i := range 1000 {
		id := r.NewTimeID(at.Add(time.Duration(i) * time.Millisecond))
		if !form.MatchString(id) || !account.PlausibleID(id) || len(id) != len(r.NewID()) {
			t.Fatalf("id %q is not a version-7 UUID in NewID's form", id)
		}
		if id <= prev {
			t.Fatalf("id %s made a millisecond after %s sorts before it", id, prev)
		}
		if seen[id[14:]] {
			t.Fatalf("random part of %s repeated", id)
		}
		prev, seen[id[14:]] = id, true
	}
}
