// Package aaguid names passkey providers by AAGUID, for the member's list of
// passkeys ("iCloud Keychain", "Google Password Manager", "YubiKey 5 NFC", …).
//
// An AAGUID is the 16-byte authenticator model identifier in a credential's
// attested credential data (WebAuthn, "Attested Credential Data"). It is what
// the authenticator claims about itself: without verified attestation it
// proves nothing, so use these names for display only, never for policy. An
// authenticator or client that hides the model sends sixteen zero bytes,
// which this package never names.
//
// The names come from providers.json, embedded in the binary; its sources
// and licence are in providers.LICENSE beside it.
package aaguid

import (
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
)

// Unknown is the name Name gives an AAGUID it cannot name: one not in the
// table, the all-zero AAGUID, or a value that is not 16 bytes long.
const Unknown = "Unknown provider"

// ErrSyntax is wrapped by every error Parse returns.
var ErrSyntax = errors.New("aaguid: not a canonical 8-4-4-4-12 hex AAGUID")

// size is the length of an AAGUID in bytes; textLen that of its canonical
// text form.
const (
	size    = 16
	textLen = 36
)

// providersJSON maps canonical AAGUID strings to provider names; see
// providers.LICENSE beside it for where each entry comes from.
//
//go:embed providers.json
var providersJSON []byte

// table parses the embedded file once, on first use. A malformed entry is
// left out rather than stopping the server: TestProvidersFileIsValid fails
// the build for every problem parseTable reports.
var table = sync.OnceValue(func() map[[size]byte]string {
	m, _ := parseTable(providersJSON)
	return m
})

// Name returns the provider's name for a 16-byte AAGUID, or Unknown when it
// is not in the table, is all zeros, or is not 16 bytes long.
func Name(aaguid []byte) string {
	if name, ok := Lookup(aaguid); ok {
		return name
	}
	return Unknown
}

// Lookup reports the provider's name for a 16-byte AAGUID and whether the
// AAGUID is known. It reports ("", false) for the all-zero AAGUID and for
// values that are not 16 bytes long.
func Lookup(aaguid []byte) (name string, ok bool) {
	if len(aaguid) != size {
		return "", false
	}
	key := [size]byte(aaguid)
	if key == ([size]byte{}) {
		return "", false
	}
	name, ok = table()[key]
	return name, ok
}

// Parse parses the canonical 8-4-4-4-12 hexadecimal form of an AAGUID, such
// as "ee882879-721c-4913-9775-3dfcce97072a", in either case, into 16 bytes.
// Any other form (no dashes, braces, a "urn:uuid:" prefix, surrounding
// space) is an error wrapping ErrSyntax.
func Parse(s string) ([]byte, error) {
	b, err := parse(s)
	if err != nil {
		return nil, err
	}
	return b[:], nil
}

// parse is Parse into an array, for the table's keys.
func parse(s string) ([size]byte, error) {
	var b [size]byte
	if len(s) != textLen {
		return b, fmt.Errorf("%w: %d characters, want %d", ErrSyntax, len(s), textLen)
	}
	for _, i := range [...]int{8, 13, 18, 23} {
		if s[i] != '-' {
			return b, fmt.Errorf("%w: no dash at offset %d", ErrSyntax, i)
		}
	}
	// Each group is decoded straight into its place in b.
	groups := [...]struct{ from, to, at int }{{0, 8, 0}, {9, 13, 4}, {14, 18, 6}, {19, 23, 8}, {24, 36, 10}}
	for _, g := range groups {
		if _, err := hex.Decode(b[g.at:], []byte(s[g.from:g.to])); err != nil {
			return b, fmt.Errorf("%w: group at offset %d is not hexadecimal", ErrSyntax, g.from)
		}
	}
	return b, nil
}

// Format returns the canonical lower-case 8-4-4-4-12 form of a 16-byte
// AAGUID, or "" when b is not 16 bytes long.
func Format(b []byte) string {
	if len(b) != size {
		return ""
	}
	var buf [textLen]byte
	hex.Encode(buf[0:8], b[0:4])
	hex.Encode(buf[9:13], b[4:6])
	hex.Encode(buf[14:18], b[6:8])
	hex.Encode(buf[19:23], b[8:10])
	hex.Encode(buf[24:36], b[10:16])
	buf[8], buf[13], buf[18], buf[23] = '-', '-', '-', '-'
	return string(buf[:])
}
