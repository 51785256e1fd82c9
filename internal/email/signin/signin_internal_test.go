package signin

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/keyshift/keyshift/internal/account"
)

func TestNewCodeIsSixDigits(t *testing.T) {
	s := &Service{}
	for range 1000 {
		if c := s.newCode(); !plausibleCode(c) {
			t.Fatalf("code %q is not six digits", c)
		}
	}
}

func TestNewCodeRejectsBiasedDraws(t *testing.T) {
	// 0xFFFFFFFF is above the last multiple of 10⁶ and must be redrawn;
	// 0x00000007 then gives "000007".
	s := &Service{d: Deps{Random: account.Random{Rand: bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 7})}}}
	if c := s.newCode(); c != "000007" {
		t.Errorf("code %q, want 000007", c)
	}
}

func TestCodeHashIsSaltedWithTheFlow(t *testing.T) {
	s := &Service{cfg: Config{CodeKey: []byte(rand.Text())}}
	if bytes.Equal(s.hashCode("flow-a", "123456"), s.hashCode("flow-b", "123456")) {
		t.Error("one code hashes alike in two flows")
	}
	other := &Service{cfg: Config{CodeKey: []byte(rand.Text())}}
	if bytes.Equal(s.hashCode("flow-a", "123456"), other.hashCode("flow-a", "123456")) {
		t.Error("the hash does not depend on the server key")
	}
}

func TestPlausibleInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
		got  bool
	}{
		{"accepts six digits", true, plausibleCode("012345")},
		{"refuses five digits", false, plausibleCode("01234")},
		{"refuses letters", false, plausibleCode("01234a")},
		{"refuses non-ASCII digits", false, plausibleCode("٠١٢٣٤٥")},
		{"refuses a NUL in an id", false, account.PlausibleID("a\x00b")},
		{"refuses invalid UTF-8 in an id", false, account.PlausibleID("\xff")},
	} {
		if tc.got != tc.ok {
			t.Errorf("%s: got %v", tc.name, tc.got)
		}
	}
}
