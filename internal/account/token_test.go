package account_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"testing"

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
