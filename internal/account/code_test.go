package account_test

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/keyshift/keyshift/internal/account"
)

func TestNewCodeIsSixDigits(t *testing.T) {
	for range 1000 {
		if c := (account.Random{}).NewCode(); !account.PlausibleCode(c) {
			t.Fatalf("code %q is not six digits", c)
		}
	}
}

func TestNewCodeRejectsBiasedDraws(t *testing.T) {
	// 0xFFFFFFFF is above the last multiple of 10⁶ and must be redrawn;
	// 0x00000007 then gives "000007".
	r := account.Random{Rand: bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 7})}
	if c := r.NewCode(); c != "000007" {
		t.Errorf("code %q, want 000007", c)
	}
}

func TestCodeHashIsSaltedWithItsID(t *testing.T) {
	key := []byte(rand.Text())
	if bytes.Equal(account.HashCode(key, "flow-a", "123456"), account.HashCode(key, "flow-b", "123456")) {
		t.Error("one code hashes alike under two ids")
	}
	if bytes.Equal(account.HashCode(key, "flow-a", "123456"), account.HashCode([]byte(rand.Text()), "flow-a", "123456")) {
		t.Error("the hash does not depend on the server key")
	}
}

func TestPlausibleInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
		got  bool
	}{
		{"accepts six digits", true, account.PlausibleCode("012345")},
		{"accepts a code typed with a space and a dash", true, account.PlausibleCode(account.CleanCode("012 3-45"))},
		{"refuses five digits", false, account.PlausibleCode("01234")},
		{"refuses letters", false, account.PlausibleCode("01234a")},
		{"refuses non-ASCII digits", false, account.PlausibleCode("٠١٢٣٤٥")},
		{"refuses a NUL in an id", false, account.PlausibleID("a\x00b")},
		{"refuses invalid UTF-8 in an id", false, account.PlausibleID("\xff")},
	} {
		if tc.got != tc.ok {
			t.Errorf("%s: got %v", tc.name, tc.got)
		}
	}
}
