package legacy

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// Bounds on a stored scrypt hash. scrypt allocates 128·N·r bytes and its
// time grows with N·r·p. Django's default (N=2^14, r=8: 16 MiB), passlib's
// (N=2^16, r=8: 64 MiB) and Firebase's (N=2^14, r=8) fit well inside; a row
// asking for gigabytes or minutes does not.
const (
	scryptMaxMemory = 256 << 20 // bytes, 128·N·r
	scryptMaxWork   = 1 << 22   // N·r·p: 8× passlib's default, about a second
	scryptMinSalt   = 1
	scryptMaxBytes  = 1024
)

// scryptHash is a checked scrypt hash.
type scryptHash struct {
	n, r, p int
	salt    []byte
	derived []byte
}

// parseScrypt checks a scrypt hash in one of two shapes:
//
//	$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>   passlib and PHC: salt and hash in
//	                                               standard base64 without padding
//	scrypt$<N>$<salt>$<r>$<p>$<hash>               Django: the salt's text is the salt,
//	                                               hash in standard base64 with padding
func parseScrypt(stored string) (parsed, error) {
	if strings.HasPrefix(stored, "$scrypt$") {
		return parseScryptPHC(stored)
	}
	if strings.HasPrefix(stored, "scrypt$") {
		return parseScryptDjango(stored)
	}
	return nil, malformed("scrypt: want $scrypt$ln=…,r=…,p=…$<salt>$<hash> or Django's scrypt$<N>$<salt>$<r>$<p>$<hash>")
}

func parseScryptPHC(stored string) (parsed, error) {
	fields := strings.Split(stored, "$")
	if len(fields) != 5 {
		return nil, malformed("scrypt: want $scrypt$ln=…,r=…,p=…$<salt>$<hash>")
	}
	costs, err := parseCosts("scrypt", fields[2], "ln", "r", "p")
	if err != nil {
		return nil, err
	}
	if costs[0] < 1 || costs[0] > 30 {
		return nil, malformed("scrypt: ln=%d outside 1..30", costs[0])
	}
	salt, err := decodeB64(base64.RawStdEncoding.Strict(), Scrypt, "salt", fields[3], scryptMinSalt, scryptMaxBytes)
	if err != nil {
		return nil, err
	}
	derived, err := decodeB64(base64.RawStdEncoding.Strict(), Scrypt, "hash", fields[4], 16, scryptMaxBytes)
	if err != nil {
		return nil, err
	}
	return newScrypt(1<<costs[0], costs[1], costs[2], salt, derived)
}

func parseScryptDjango(stored string) (parsed, error) {
	fields := strings.Split(stored, "$")
	if len(fields) != 6 {
		return nil, malformed("scrypt: want Django's scrypt$<N>$<salt>$<r>$<p>$<hash>")
	}
	var vals [3]int
	for i, idx := range [3]int{1, 3, 4} {
		v, err := parseDecimal(fields[idx])
		if err != nil {
			return nil, malformed("scrypt: %s: %v", [3]string{"N", "r", "p"}[i], err)
		}
		vals[i] = v
	}
	if fields[2] == "" || len(fields[2]) > scryptMaxBytes {
		return nil, malformed("scrypt: salt empty or longer than %d bytes", scryptMaxBytes)
	}
	derived, err := decodeB64(base64.StdEncoding, Scrypt, "hash", fields[5], 16, scryptMaxBytes)
	if err != nil {
		return nil, err
	}
	return newScrypt(vals[0], vals[1], vals[2], []byte(fields[2]), derived)
}

// newScrypt checks scrypt's costs against the package's bounds.
func newScrypt(n, r, p int, salt, derived []byte) (*scryptHash, error) {
	if err := checkScryptCosts(n, r, p); err != nil {
		return nil, err
	}
	return &scryptHash{n: n, r: r, p: p, salt: salt, derived: derived}, nil
}

func checkScryptCosts(n, r, p int) error {
	switch {
	case n < 2 || bits.OnesCount(uint(n)) != 1:
		return malformed("scrypt: N=%d is not a power of two above 1", n)
	case r < 1 || p < 1:
		return malformed("scrypt: r=%d, p=%d; both must be at least 1", r, p)
	case int64(128)*int64(n)*int64(r) > scryptMaxMemory:
		return malformed("scrypt: N=%d, r=%d need %d MiB, above %d MiB", n, r, 128*int64(n)*int64(r)>>20, scryptMaxMemory>>20)
	case int64(n)*int64(r)*int64(p) > scryptMaxWork:
		return malformed("scrypt: N·r·p = %d above %d", int64(n)*int64(r)*int64(p), scryptMaxWork)
	}
	return nil
}

func (h *scryptHash) verify(password []byte) bool {
	got, err := scrypt.Key(password, h.salt, h.n, h.r, h.p, len(h.derived))
	if err != nil { // parameters were checked; x/crypto refuses nothing we accept
		return false
	}
	return subtle.ConstantTimeCompare(got, h.derived) == 1
}

// firebasePrefix starts every composed Firebase scrypt string.
const firebasePrefix = "$firebase-scrypt$"

// firebaseHash is a checked Firebase scrypt hash with its project's
// parameters.
type firebaseHash struct {
	memCost, rounds int
	saltSeparator   []byte
	signerKey       []byte
	salt            []byte
	derived         []byte
}

// verify follows github.com/firebase/scrypt (README, "Password Hashing"):
// key = scrypt(password, salt‖salt separator, N=2^mem_cost, r=rounds, p=1),
// and the hash is the project's signer key encrypted with AES-256-CTR under
// the first 32 bytes of key, counter starting at zero.
func (h *firebaseHash) verify(password []byte) bool {
	salt := append(bytes.Clone(h.salt), h.saltSeparator...)
	key, err := scrypt.Key(password, salt, 1<<h.memCost, h.rounds, 1, 32)
	if err != nil {
		return false
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return false
	}
	got := make([]byte, len(h.signerKey))
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(got, h.signerKey)
	return subtle.ConstantTimeCompare(got, h.derived) == 1
}

// parseFirebase checks the composed string
// "$firebase-scrypt$m=<mem cost>,r=<rounds>$<salt separator>$<signer key>$<salt>$<hash>".
func parseFirebase(stored string) (parsed, error) {
	if !strings.HasPrefix(stored, firebasePrefix) {
		return nil, malformed("firebase-scrypt: want %sm=…,r=…$<salt separator>$<signer key>$<salt>$<hash>; "+
			"import Firebase hashes with password_salt and the firebase options", firebasePrefix)
	}
	fields := strings.Split(stored, "$")
	if len(fields) != 7 {
		return nil, malformed("firebase-scrypt: want %sm=…,r=…$<salt separator>$<signer key>$<salt>$<hash>", firebasePrefix)
	}
	costs, err := parseCosts("firebase-scrypt", fields[2], "m", "r")
	if err != nil {
		return nil, err
	}
	h := &firebaseHash{memCost: costs[0], rounds: costs[1]}
	if err := checkFirebaseCosts(h.memCost, h.rounds); err != nil {
		return nil, err
	}
	for i, dst := range []*[]byte{&h.saltSeparator, &h.signerKey, &h.salt, &h.derived} {
		what := [4]string{"salt separator", "signer key", "salt", "hash"}[i]
		lo := 1
		if i == 0 {
			lo = 0 // a project may have an empty salt separator
		}
		if *dst, err = decodeB64(base64.StdEncoding, FirebaseScrypt, what, fields[3+i], lo, scryptMaxBytes); err != nil {
			return nil, err
		}
	}
	if len(h.derived) != len(h.signerKey) {
		return nil, malformed("firebase-scrypt: hash of %d bytes for a signer key of %d; the hash is the encrypted key",
			len(h.derived), len(h.signerKey))
	}
	return h, nil
}

// checkFirebaseCosts bounds a project's mem_cost and rounds like any scrypt.
func checkFirebaseCosts(memCost, rounds int) error {
	if memCost < 1 || memCost > 30 {
		return malformed("firebase-scrypt: mem_cost %d outside 1..30", memCost)
	}
	return checkScryptCosts(1<<memCost, rounds, 1)
}

// composeFirebase folds a Firebase export's hash and salt (both base64, as
// auth:export writes them) and the project's parameters into one string. A
// string already composed passes through when no salt is given; parameters
// given with it must match the ones it carries.
func composeFirebase(hash, salt string, p *FirebaseParams) (string, error) {
	if strings.HasPrefix(hash, firebasePrefix) {
		if salt != "" {
			return "", malformed("firebase-scrypt: the hash is already composed and password_salt is set too")
		}
		if p != nil {
			ph, err := parseFirebase(hash)
			if err != nil {
				return "", err
			}
			h := ph.(*firebaseHash)
			if h.memCost != p.MemCost || h.rounds != p.Rounds || !bytes.Equal(h.signerKey, p.SignerKey) ||
				!bytes.Equal(h.saltSeparator, p.SaltSeparator) {
				return "", malformed("firebase-scrypt: the composed hash carries other project parameters than the firebase options")
			}
		}
		return hash, nil
	}
	if p == nil {
		return "", malformed("firebase-scrypt needs the project's hash parameters (firebase import options)")
	}
	if err := checkFirebaseCosts(p.MemCost, p.Rounds); err != nil {
		return "", err
	}
	if len(p.SignerKey) == 0 {
		return "", malformed("firebase-scrypt: the signer key is empty")
	}
	if salt == "" {
		return "", malformed("firebase-scrypt needs password_salt (the exported account's salt)")
	}
	// Re-encode so each hash has one spelling whether or not the file
	// kept base64 padding.
	var parts [2][]byte
	for i, s := range [2]string{hash, salt} {
		b, err := base64.StdEncoding.DecodeString(padBase64(s))
		if err != nil || len(b) == 0 || len(b) > scryptMaxBytes {
			return "", malformed("firebase-scrypt: %s is not standard base64 of 1..%d bytes", [2]string{"hash", "salt"}[i], scryptMaxBytes)
		}
		parts[i] = b
	}
	enc := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("%sm=%s,r=%s$%s$%s$%s$%s", firebasePrefix, strconv.Itoa(p.MemCost), strconv.Itoa(p.Rounds),
		enc(p.SaltSeparator), enc(p.SignerKey), enc(parts[1]), enc(parts[0])), nil
}

// padBase64 adds the '=' padding a file may have dropped.
func padBase64(s string) string {
	if len(s) > 4*scryptMaxBytes || strings.ContainsAny(s, "\r\n") {
		return "!" // refused by the decoder
	}
	if r := len(s) % 4; r != 0 && !strings.HasSuffix(s, "=") {
		s += strings.Repeat("=", 4-r)
	}
	return s
}
