package aaguid

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
)

// mustParse is Parse for AAGUIDs written in the tests.
func mustParse(t *testing.T, s string) []byte {
	t.Helper()
	b, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return b
}

func TestNameResolvesTheRequiredProviders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		aaguid string
		want   string
	}{
		{"names iCloud Keychain by its current name", "fbfc3007-154e-4ecc-8c0b-6e020557d7bd", "Apple Passwords"},
		{"names managed iCloud Keychain", "dd4ec289-e01d-41c9-bb89-70fa845d4bf2", "iCloud Keychain (Managed)"},
		{"names Google Password Manager", "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4", "Google Password Manager"},
		{"names Windows Hello", "08987058-cadc-4b81-b6e1-30de50dcbe96", "Windows Hello"},
		{"names Windows Hello's other AAGUIDs too", "6028b017-b1d4-4c02-b4b3-afcdafc96bb2", "Windows Hello"},
		{"names 1Password", "bada5566-a7aa-401f-bd96-45619a55120d", "1Password"},
		{"names Bitwarden", "d548826e-79b4-db40-a3d8-11116f7e8349", "Bitwarden"},
		{"names Dashlane", "531126d6-e717-415c-9320-3d9aa6981239", "Dashlane"},
		{"names Proton Pass", "50726f74-6f6e-5061-7373-50726f746f6e", "Proton Pass"},
		{"names KeePassXC", "fdb141b2-5d84-443e-8a35-4698c205a502", "KeePassXC"},
		{"names Samsung Pass", "53414d53-554e-4700-0000-000000000000", "Samsung Pass"},
		{"names Chrome on Mac", "adce0002-35bc-c60a-648b-0b25f1f05503", "Chrome on Mac"},
		{"names a YubiKey 5 (firmware 5.2)", "ee882879-721c-4913-9775-3dfcce97072a", "YubiKey 5 Series"},
		{"names a YubiKey 5C Nano (firmware 5.7)", "19083c3d-8383-4b18-bc03-8f1c9ab2fd1b", "YubiKey 5 Series"},
		{"names a YubiKey 5 NFC (firmware 5.2)", "2fc0579f-8113-47ea-b116-bb5a8db9202a", "YubiKey 5 NFC"},
		{"names a YubiKey 5 NFC (firmware 5.7)", "d7781e5d-e353-46aa-afe2-3ca49f13332a", "YubiKey 5 NFC"},
		{"names a YubiKey 5 NFC with enterprise attestation", "6ab56fad-881f-4a43-acb2-0be065924522", "YubiKey 5 NFC"},
		{"names a YubiKey 5Ci", "c5ef55ff-ad9a-4b9f-b580-adebafe026d0", "YubiKey 5Ci"},
		{"names a YubiKey 5 FIPS", "73bb0cd4-e502-49b8-9c6f-b59445bf720b", "YubiKey 5 FIPS Series"},
		{"names a YubiKey 5 NFC FIPS", "c1f9a0bc-1dd2-404a-b27f-8e29047a43fd", "YubiKey 5 NFC FIPS"},
		{"names a YubiKey 5Ci FIPS", "85203421-48f9-4355-9bc8-8a53846e5083", "YubiKey 5Ci FIPS"},
		{"names a YubiKey Bio FIDO Edition", "d8522d9f-575b-4866-88a9-ba99fa02f35b", "YubiKey Bio Series - FIDO Edition"},
		{"names a YubiKey Bio Multi-protocol Edition", "90636e1f-ef82-43bf-bdcf-5255f139d12f", "YubiKey Bio Series - Multi-protocol Edition"},
		{"names a Security Key by Yubico", "f8a011f3-8c0a-4d15-8006-17111f9edc7d", "Security Key by Yubico"},
		{"names a Security Key NFC", "149a2021-8ef6-4133-96b8-81f8d5b7f1f5", "Security Key NFC by Yubico"},
		{"names a Security Key NFC Enterprise Edition", "47ab2fb4-66ac-4184-9ae1-86be814012d5", "Security Key NFC by Yubico - Enterprise Edition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustParse(t, tt.aaguid)
			if got := Name(b); got != tt.want {
				t.Errorf("Name(%s) = %q, want %q", tt.aaguid, got, tt.want)
			}
			got, ok := Lookup(b)
			if !ok || got != tt.want {
				t.Errorf("Lookup(%s) = %q, %v; want %q, true", tt.aaguid, got, ok, tt.want)
			}
		})
	}
}

func TestNameGivesUnknownForWhatItCannotName(t *testing.T) {
	t.Parallel()
	known := mustParse(t, "bada5566-a7aa-401f-bd96-45619a55120d")
	tests := []struct {
		name   string
		aaguid []byte
	}{
		{"an AAGUID not in the table", mustParse(t, "01234567-89ab-cdef-0123-456789abcdef")},
		{"the all-zero AAGUID of an authenticator that hides its model", make([]byte, 16)},
		{"a nil AAGUID", nil},
		{"an empty AAGUID", []byte{}},
		{"a short AAGUID", known[:15]},
		{"a long AAGUID", append(bytes.Clone(known), 0)},
		{"the text form passed as bytes", []byte("bada5566-a7aa-401f-bd96-45619a55120d")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Name(tt.aaguid); got != Unknown {
				t.Errorf("Name(%x) = %q, want %q", tt.aaguid, got, Unknown)
			}
			if got, ok := Lookup(tt.aaguid); ok || got != "" {
				t.Errorf("Lookup(%x) = %q, %v; want \"\", false", tt.aaguid, got, ok)
			}
		})
	}
}

func TestNameIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	b := mustParse(t, "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got := Name(b); got != "Google Password Manager" {
				t.Errorf("Name = %q", got)
			}
		})
	}
	wg.Wait()
}

func TestParseAndFormatRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string // canonical form
	}{
		{"keeps a canonical lower-case AAGUID", "ee882879-721c-4913-9775-3dfcce97072a", "ee882879-721c-4913-9775-3dfcce97072a"},
		{"accepts upper case and formats it in lower case", "EE882879-721C-4913-9775-3DFCCE97072A", "ee882879-721c-4913-9775-3dfcce97072a"},
		{"accepts mixed case", "Ee882879-721c-4913-9775-3dfcCE97072a", "ee882879-721c-4913-9775-3dfcce97072a"},
		{"keeps the all-zero AAGUID", "00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"},
		{"keeps the all-ones AAGUID", "ffffffff-ffff-ffff-ffff-ffffffffffff", "ffffffff-ffff-ffff-ffff-ffffffffffff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if len(b) != 16 {
				t.Fatalf("Parse(%q) gave %d bytes, want 16", tt.in, len(b))
			}
			if got := Format(b); got != tt.want {
				t.Errorf("Format(Parse(%q)) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParsePlacesEachByte(t *testing.T) {
	t.Parallel()
	b := mustParse(t, "00010203-0405-0607-0809-0a0b0c0d0e0f")
	for i, v := range b {
		if int(v) != i {
			t.Fatalf("Parse gave % x, want 00 01 02 … 0f", b)
		}
	}
}

func TestParseRejectsMalformedStrings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{"rejects the empty string", ""},
		{"rejects a string one character short", "ee882879-721c-4913-9775-3dfcce97072"},
		{"rejects a string one character long", "ee882879-721c-4913-9775-3dfcce97072aa"},
		{"rejects the 32-digit form without dashes", "ee882879721c491397753dfcce97072a"},
		{"rejects dashes in the wrong places", "ee88287-9721c-4913-9775-3dfcce97072a"},
		{"rejects a missing dash replaced by a digit", "ee8828790721c-4913-9775-3dfcce97072a"},
		{"rejects underscores for dashes", "ee882879_721c_4913_9775_3dfcce97072a"},
		{"rejects a non-hex letter", "ee882879-721c-4913-9775-3dfcce97072g"},
		{"rejects a non-hex letter in the first group", "zz882879-721c-4913-9775-3dfcce97072a"},
		{"rejects a sign inside a group", "ee882879-+21c-4913-9775-3dfcce97072a"},
		{"rejects braces", "{ee882879-721c-4913-9775-3dfcce97072a}"},
		{"rejects a urn:uuid prefix", "urn:uuid:ee882879-721c-4913-9775-3dfcce97072a"},
		{"rejects surrounding space", " ee882879-721c-4913-9775-3dfcce97072a"},
		{"rejects multi-byte characters of the right byte length", "ee882879-721c-4913-9775-3dfcce9707é"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = % x, want an error", tt.in, b)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("Parse(%q) error %v does not wrap ErrSyntax", tt.in, err)
			}
			if b != nil {
				t.Errorf("Parse(%q) returned bytes with its error", tt.in)
			}
		})
	}
}

func TestFormatGivesEmptyForOtherLengths(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 15, 17, 36} {
		if got := Format(make([]byte, n)); got != "" {
			t.Errorf("Format(%d bytes) = %q, want \"\"", n, got)
		}
	}
	if got := Format(nil); got != "" {
		t.Errorf("Format(nil) = %q, want \"\"", got)
	}
}

// TestProvidersFileIsValid checks the whole embedded providers.json: the
// server skips a bad entry rather than failing, so this test is where a bad
// entry is caught.
func TestProvidersFileIsValid(t *testing.T) {
	t.Parallel()
	m, err := parseTable(providersJSON)
	if err != nil {
		t.Fatalf("providers.json:\n%v", err)
	}
	if n := bytes.Count(providersJSON, []byte(`":`)); len(m) != n {
		t.Errorf("providers.json has %d entries, the table %d", n, len(m))
	}
	if len(m) < 100 {
		t.Errorf("providers.json names only %d AAGUIDs; it was cut short?", len(m))
	}
	if got := len(table()); got != len(m) {
		t.Errorf("the table the server uses has %d entries, want %d", got, len(m))
	}
}

func TestEveryHardwareKeyHasItsSourceInTheNotice(t *testing.T) {
	t.Parallel()
	notice, err := os.ReadFile("providers.LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := parseTable(providersJSON)
	for key, name := range m {
		if !strings.HasPrefix(name, "YubiKey") && !strings.HasPrefix(name, "Security Key") {
			continue
		}
		if !bytes.Contains(notice, []byte(Format(key[:]))) {
			t.Errorf("%s (%s) has no source in providers.LICENSE", Format(key[:]), name)
		}
	}
}

func TestParseTableReportsEveryProblem(t *testing.T) {
	t.Parallel()
	const good = `"bada5566-a7aa-401f-bd96-45619a55120d": "1Password"`
	tests := []struct {
		name    string
		json    string
		want    []string // each must appear in the error
		entries int      // entries kept despite the problems
	}{
		{"accepts a well-formed table", `{` + good + `}`, nil, 1},
		{"accepts an empty object", `{}`, nil, 0},
		{"reports an upper-case key", `{"BADA5566-a7aa-401f-bd96-45619a55120d": "1Password"}`, []string{"not lower case"}, 0},
		{"reports a key without dashes", `{"bada5566a7aa401fbd9645619a55120d": "x"}`, []string{"32 characters"}, 0},
		{"reports a non-hex key", `{"bada5566-a7aa-401f-bd96-45619a55120g": "x"}`, []string{"not hexadecimal"}, 0},
		{"reports the all-zero AAGUID", `{"00000000-0000-0000-0000-000000000000": "x"}`, []string{"all-zero"}, 0},
		{"reports an empty name", `{"bada5566-a7aa-401f-bd96-45619a55120d": ""}`, []string{"empty name"}, 0},
		{"reports a blank name", `{"bada5566-a7aa-401f-bd96-45619a55120d": "  "}`, []string{"empty name"}, 0},
		{"reports a name with surrounding space", `{"bada5566-a7aa-401f-bd96-45619a55120d": "1Password "}`, []string{"surrounding space"}, 0},
		{"reports a duplicate key", `{` + good + `,` + good + `}`, []string{"named twice"}, 1},
		{"reports a value that is not a string", `{"bada5566-a7aa-401f-bd96-45619a55120d": {"name": "1Password"}}`, []string{"not a string"}, 0},
		{"reports an array", `[]`, []string{"not a JSON object"}, 0},
		{"reports an empty file", ``, []string{"not a JSON object"}, 0},
		{"reports data after the object", `{` + good + `} {}`, []string{"data after"}, 1},
		{"reports a truncated object", `{` + good + `,`, []string{"aaguid table"}, 1},
		{
			"reports every problem, not just the first",
			`{"BADA5566-a7aa-401f-bd96-45619a55120d": "x", ` + good + `, "00000000-0000-0000-0000-000000000000": "y"}`,
			[]string{"not lower case", "all-zero"}, 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parseTable([]byte(tt.json))
			if len(tt.want) == 0 && err != nil {
				t.Fatalf("parseTable: %v", err)
			}
			if len(tt.want) > 0 && err == nil {
				t.Fatalf("parseTable accepted %s", tt.json)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if len(m) != tt.entries {
				t.Errorf("kept %d entries, want %d", len(m), tt.entries)
			}
		})
	}
}

// FuzzParse checks that Parse never panics, and that whatever it accepts
// formats back to the same string in lower case and parses again to the
// same bytes.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"ee882879-721c-4913-9775-3dfcce97072a",
		"EE882879-721C-4913-9775-3DFCCE97072A",
		"00000000-0000-0000-0000-000000000000",
		"ee882879721c491397753dfcce97072a",
		"ee882879-721c-4913-9775-3dfcce97072",
		"ee882879-721c-4913-9775-3dfcce9707é",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrSyntax", s, err)
			}
			return
		}
		text := Format(b)
		if text != strings.ToLower(s) {
			t.Fatalf("Format(Parse(%q)) = %q", s, text)
		}
		again, err := Parse(text)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("Parse(%q) = % x, %v; want % x", text, again, err, b)
		}
		_ = Name(b) // must not panic
	})
}
