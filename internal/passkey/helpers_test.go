package passkey

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/keyshift/keyshift/internal/aaguid"
	"github.com/keyshift/keyshift/internal/account"
)

func TestCleanName(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"keeps a plain name", "Work laptop", "Work laptop", true},
		{"trims space around it", " \t Phone \n", "Phone", true},
		{"keeps typographic punctuation", "Ada’s iPhone — “main”", "Ada’s iPhone — “main”", true},
		{"keeps 64 characters of two bytes each", strings.Repeat("é", 64), strings.Repeat("é", 64), true},
		{"keeps a format character (zero-width space)", "a\u200bb", "a\u200bb", true},
		{"refuses an empty name", "", "", false},
		{"refuses a blank name", " \t\n ", "", false},
		{"refuses 65 characters", strings.Repeat("é", 65), "", false},
		{"refuses a NUL", "a\x00b", "", false},
		{"refuses a tab inside", "a\tb", "", false},
		{"refuses a newline inside", "a\nb", "", false},
		{"refuses DEL", "a\x7fb", "", false},
		{"refuses a C1 control", "a\u0085b", "", false},
		{"refuses invalid UTF-8", "a\xffb", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cleanName(tt.in)
			if tt.ok {
				if err != nil || got != tt.want {
					t.Errorf("cleanName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
				}
				return
			}
			e, isCoded := err.(*account.Error)
			if !isCoded || e.Code != account.EInvalidRequest || e.Field != "name" || e.Reason != "invalid_name" {
				t.Errorf("cleanName(%q) = %q, %#v; want EInvalidRequest on field name", tt.in, got, err)
			}
		})
	}
}

func TestReasonWord(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"keeps a snake_case word", "invalid_request", "invalid_request"},
		{"turns kebab-case into snake_case", "verification-error", "verification_error"},
		{"lowers capitals", "InvalidStateError", "invalidstateerror"},
		{"keeps digits", "es256", "es256"},
		{"replaces spaces and dots", "a b.c", "a_b_c"},
		{"replaces each non-ASCII character once", "é€", "__"},
		{"replaces control characters", "a\x00\nb", "a__b"},
		{"replaces each byte of invalid UTF-8", "a\xff", "a_"},
		{"keeps empty empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reasonWord(tt.in); got != tt.want {
				t.Errorf("reasonWord(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDecoys(t *testing.T) {
	svc := func(key string) *Service { return &Service{cfg: Config{DecoyKey: []byte(key)}} }
	a := svc("key one")
	sh := Shapes{
		Counts: []Weighted[int]{{1, 60}, {2, 30}, {3, 10}},
		Creds:  []Weighted[CredShape]{{CredShape{16, "hybrid,internal"}, 50}, {CredShape{20, "internal"}, 30}, {CredShape{64, "nfc,usb"}, 20}},
	}
	ids := func(ds []protocol.CredentialDescriptor) string {
		var b strings.Builder
		for _, d := range ds {
			b.Write(d.CredentialID)
			b.WriteByte(0)
		}
		return b.String()
	}
	first := a.decoys("ada@example.com", sh)
	t.Run("is stable per address", func(t *testing.T) {
		if again := a.decoys("ada@example.com", sh); ids(again) != ids(first) {
			t.Errorf("decoys %x then %x", ids(first), ids(again))
		}
		if other := svc("key one").decoys("ada@example.com", sh); ids(other) != ids(first) {
			t.Error("another service with the same key gives other decoys")
		}
	})
	t.Run("differs across addresses", func(t *testing.T) {
		seen := map[string]string{}
		for _, email := range []string{"ada@example.com", "bob@example.com", "ada@example.co", "", "ada@example.com\x00"} {
			id := ids(a.decoys(email, sh))
			if prev, ok := seen[id]; ok {
				t.Errorf("%q and %q share a decoy", prev, email)
			}
			seen[id] = email
		}
	})
	t.Run("differs across keys", func(t *testing.T) {
		if other := svc("key two").decoys("ada@example.com", sh); ids(other) == ids(first) {
			t.Error("two decoy keys give the same decoy")
		}
	})
	t.Run("follows the distribution of real answers", func(t *testing.T) {
		const n = 20000
		counts := map[int]int{}
		shapes := map[CredShape]int{}
		total := 0
		for i := range n {
			ds := a.decoys(fmt.Sprintf("member%d@example.com", i), sh)
			counts[len(ds)]++
			for _, d := range ds {
				var tr []string
				for _, x := range d.Transport {
					tr = append(tr, string(x))
				}
				if d.Type != protocol.PublicKeyCredentialType {
					t.Fatalf("type %q", d.Type)
				}
				shapes[CredShape{len(d.CredentialID), strings.Join(tr, ",")}]++
				total++
			}
		}
		near := func(what string, got, of int, weight, sum int64) {
			want := float64(weight) / float64(sum)
			if share := float64(got) / float64(of); share < want-0.02 || share > want+0.02 {
				t.Errorf("%s: share %.3f, want %.3f ± 0.02", what, share, want)
			}
		}
		for _, w := range sh.Counts {
			near(fmt.Sprintf("%d passkeys", w.Value), counts[w.Value], n, w.Weight, 100)
		}
		for _, w := range sh.Creds {
			near(fmt.Sprintf("shape %+v", w.Value), shapes[w.Value], total, w.Weight, 100)
		}
		if len(counts) != len(sh.Counts) || len(shapes) != len(sh.Creds) {
			t.Errorf("decoys took counts %v and shapes %v outside the distribution", counts, shapes)
		}
	})
}

func TestMethodOf(t *testing.T) {
	tests := []struct {
		name      string
		username  bool
		mediation string
		want      account.AuthMethod
	}{
		{"counts username-first apart, whatever the page says", true, "conditional", account.MethodPasskeyUsername},
		{"counts username-first with a modal", true, "modal", account.MethodPasskeyUsername},
		{"counts conditional UI", false, "conditional", account.MethodPasskeyConditional},
		{"counts the button as modal", false, "modal", account.MethodPasskeyModal},
		{"counts no mediation as modal", false, "", account.MethodPasskeyModal},
		{"counts an unknown mediation as modal", false, "Conditional", account.MethodPasskeyModal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MethodOf(tt.username, tt.mediation); got != tt.want {
				t.Errorf("MethodOf(%v, %q) = %q, want %q", tt.username, tt.mediation, got, tt.want)
			}
		})
	}
}

func TestValidFlowID(t *testing.T) {
	for range 100 {
		if id := newFlowID(); !validFlowID(id) || len(id) != 22 {
			t.Fatalf("newFlowID() = %q, not valid", id)
		}
	}
	for _, id := range []string{"", strings.Repeat("A", 65), "abc\x00", "abc\xff", strings.Repeat("A", 10<<10)} {
		if validFlowID(id) {
			t.Errorf("validFlowID(%q) = true", id)
		}
	}
}

func TestTransports(t *testing.T) {
	tests := []struct {
		name string
		in   []protocol.AuthenticatorTransport
		want []string
	}{
		{"keeps every known transport in order", []protocol.AuthenticatorTransport{"usb", "nfc", "ble", "smart-card", "hybrid", "internal"},
			[]string{"usb", "nfc", "ble", "smart-card", "hybrid", "internal"}},
		{"drops unknown ones", []protocol.AuthenticatorTransport{"internal", "carrier-pigeon", "USB", ""}, []string{"internal"}},
		{"drops what could not be stored or read back", []protocol.AuthenticatorTransport{"usb,nfc", "usb\x00", "hybrid"}, []string{"hybrid"}},
		{"keeps each once", []protocol.AuthenticatorTransport{"hybrid", "internal", "hybrid"}, []string{"hybrid", "internal"}},
		{"gives nothing for nothing", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := transports(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("transports(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDefaultName(t *testing.T) {
	apple, err := aaguid.Parse("fbfc3007-154e-4ecc-8c0b-6e020557d7bd")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		id   []byte
		want string
	}{
		{"names a known provider", apple, "Apple Passwords"},
		{"says Passkey for the zero AAGUID", make([]byte, 16), "Passkey"},
		{"says Passkey for an unknown AAGUID", bytes.Repeat([]byte{7}, 16), "Passkey"},
		{"says Passkey for none", nil, "Passkey"},
	} {
		if got := defaultName(tt.id); got != tt.want {
			t.Errorf("%s: defaultName(%x) = %q, want %q", tt.name, tt.id, got, tt.want)
		}
	}
}

func TestCredentialParameters(t *testing.T) {
	got, err := credentialParameters([]string{"ES256", "EdDSA", "RS256"})
	if err != nil {
		t.Fatal(err)
	}
	var algs []webauthncose.COSEAlgorithmIdentifier
	for _, p := range got {
		if p.Type != protocol.PublicKeyCredentialType {
			t.Errorf("type %q", p.Type)
		}
		algs = append(algs, p.Algorithm)
	}
	if want := []webauthncose.COSEAlgorithmIdentifier{-7, -8, -257}; !slices.Equal(algs, want) {
		t.Errorf("algorithms %v, want %v", algs, want)
	}
	if _, err := credentialParameters([]string{"ES256", "HS256"}); err == nil {
		t.Error("an unknown algorithm was accepted")
	}
}

// TestAFlowStoredWithoutAnOriginIsThePrimarys: registration and step-up
// flows stored before ceremonies carried their origin finish on the
// primary origin only.
func TestAFlowStoredWithoutAnOriginIsThePrimarys(t *testing.T) {
	s := &Service{cfg: Config{Origin: "https://login.example.com", Origins: []string{"https://login.example.org"}}}
	if err := s.checkOrigin(&flowData{}, "https://login.example.com", account.EInvalidCredential); err != nil {
		t.Errorf("the primary origin is refused: %v", err)
	}
	err := s.checkOrigin(&flowData{}, "https://login.example.org", account.EInvalidCredential)
	if e, ok := err.(*account.Error); !ok || e.Code != account.EInvalidCredential || e.Reason != "wrong_origin" {
		t.Errorf("the further origin: %v, want invalid_credential/wrong_origin", err)
	}
	if o, err := s.beginOrigin(nil); err != nil || o != "https://login.example.com" {
		t.Errorf("a ceremony begun without an origin is bound to %q (%v), want the primary", o, err)
	}
}
