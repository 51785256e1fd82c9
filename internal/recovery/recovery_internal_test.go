package recovery

import (
	"bytes"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/account"
)

func TestNormalizeCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"shown form", "0A1B2-C3D4E", "0A1B2C3D4E", true},
		{"without the dash", "0A1B2C3D4E", "0A1B2C3D4E", true},
		{"lower case and spaces", " 0a1b2 c3d4e ", "0A1B2C3D4E", true},
		{"look-alikes map to digits", "oAiB2-C3Dle", "0A1B2C3D1E", true},
		{"too short", "0A1B2-C3D4", "", false},
		{"too long", "0A1B2-C3D4E5", "", false},
		{"U is not in the alphabet", "UA1B2-C3D4E", "", false},
		{"punctuation", "0A1B2_C3D4E", "", false},
		{"non-ASCII", "0A1B2-C3D4É", "", false},
		{"empty", "", "", false},
		{"huge", strings.Repeat("-", 1000) + "0A1B2C3D4E", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NormalizeCode(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("NormalizeCode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// Every byte value maps into the alphabet, and the shown form normalises
// back to what is hashed.
func TestNewCodeUsesTheWholeAlphabet(t *testing.T) {
	t.Parallel()
	all := make([]byte, 320)
	for i := range all {
		all[i] = byte(i)
	}
	s := &Service{d: Deps{Random: account.Random{Rand: bytes.NewReader(all)}}}
	seen := map[rune]bool{}
	for range 32 {
		raw := s.newCode()
		shown := raw[:5] + "-" + raw[5:]
		if back, ok := NormalizeCode(shown); !ok || back != raw {
			t.Fatalf("%q normalises to %q, %v", shown, back, ok)
		}
		for _, r := range raw {
			seen[r] = true
		}
	}
	if len(seen) != 32 {
		t.Errorf("codes use %d characters, want all 32", len(seen))
	}
}
