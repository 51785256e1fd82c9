package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/keyshift/keyshift/internal/userfile"
)

// GenPassword is the password of every generated member who has one: each
// hash in the generated file is a real hash of it, so any of those members
// can sign in after the file is imported.
const GenPassword = "correct horse battery staple"

// genHash is one password format the generator writes, with a real hash of
// GenPassword in it. The hashes were computed once (bcrypt with
// golang.org/x/crypto, the rest by their published algorithms, PHPass
// checked against the openwall test vector) and are reused for every
// member: a million real hashes would take hours, and an import stores
// hashes as given anyway. users_test.go verifies each one.
type genHash struct {
	format string // password_format as docs/import.md names it; "" leaves it to detection
	hash   string
	share  int // members per 100
}

var genHashes = []genHash{
	{"bcrypt", "$2a$10$iv55LAMNTaynJQ4ANy3mueHSDf/zBe0BDDI8S/qp./wV/51769vs.", 20},
	{"", "$2y$10$iv55LAMNTaynJQ4ANy3mueHSDf/zBe0BDDI8S/qp./wV/51769vs.", 15}, // PHP's bcrypt, format from the prefix
	{"argon2id", "$argon2id$v=19$m=19456,t=2,p=1$a2V5c2hpZnRiZW5jaDAxNg$fesLrbQSqLYpOUrcGBw+laVz2b49EV7nLUyn9g8SPK4", 15},
	{"pbkdf2-sha256", "pbkdf2_sha256$260000$kS7bEnchSalt2026$abc2D0AIc0cXjneqPAbalPv60vZ1JGncm4Y3weTGRuE=", 20}, // Django
	{"", "$P$BkEyShIfTKzwDUVDWD3aB3EJ1c6CXM0", 15},                                                              // WordPress PHPass
	{"md5", "9cc2ae8a1ba7a93da39b46fc1019c481", 5},                                                              // an old system's unsalted hex MD5
	// The remaining 10 in 100 have no password: email sign-in only.
}

// genAAGUIDs are real passkey providers (internal/aaguid): whether their
// passkeys are synced (BE/BS) follows the provider.
var genAAGUIDs = []struct {
	aaguid string
	synced bool
}{
	{"fbfc3007-154e-4ecc-8c0b-6e020557d7bd", true},  // Apple Passwords
	{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4", true},  // Google Password Manager
	{"bada5566-a7aa-401f-bd96-45619a55120d", true},  // 1Password
	{"d548826e-79b4-db40-a3d8-11116f7e8349", true},  // Bitwarden
	{"08987058-cadc-4b81-b6e1-30de50dcbe96", false}, // Windows Hello
}

// GenKeyPool is how many distinct P-256 keys generated passkeys share.
const GenKeyPool = 64

var (
	genFirst = []string{"Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Radia", "Tim", "Frances", "Whitfield", "Hedy", "Edsger", "Mary", "Sophie", "John", "Yukihiro", "Shafi"}
	genLast  = []string{"Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Perlman", "Berners-Lee", "Allen", "Diffie", "Lamarr", "Dijkstra", "Keller", "Wilson", "McCarthy", "Matsumoto", "Goldwasser"}
	// genEpoch is the newest account's creation: fixed, so a seed gives the
	// same file on any day.
	genEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// GenSummary counts what GenUsers wrote.
type GenSummary struct {
	Members, Passwords, Passkeys, WithPasskeys int
	// Formats counts members per password_format ("" for those whose
	// format is left to detection, keyed by the hash's prefix then).
	Formats map[string]int
}

// GenUsers writes count realistic members to w as JSON Lines, the format
// `keyshift import` reads: unique emails and external ids, a mix of
// password formats (genHashes, all hashes of GenPassword), one in ten
// without a password, about a third with one or two passkeys (real ES256
// COSE keys from a pool of GenKeyPool, unique credential ids). The same
// seed gives the same file, byte for byte.
func GenUsers(ctx context.Context, w io.Writer, count int, seed uint64) (GenSummary, error) {
	sum := GenSummary{Formats: map[string]int{}}
	keys, _, err := genPool(seed)
	if err != nil {
		return sum, err
	}
	fw, err := userfile.NewWriter(w, userfile.FormatJSONL)
	if err != nil {
		return sum, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x6b657973686966)) // "keyshif"
	for i := range count {
		if i%4096 == 0 && ctx.Err() != nil {
			return sum, ctx.Err()
		}
		r := genRow(rng, i, keys)
		if err := fw.Write(&r); err != nil {
			return sum, err
		}
		sum.Members++
		if r.PasswordHash != "" {
			sum.Passwords++
			f := r.PasswordFormat
			if f == "" {
				f = r.PasswordHash[:4]
			}
			sum.Formats[f]++
		}
		if len(r.Passkeys) > 0 {
			sum.WithPasskeys++
			sum.Passkeys += len(r.Passkeys)
		}
	}
	return sum, fw.Flush()
}

// genPool returns the COSE keys (base64url) of seed's key pool, and the
// private key of each by its COSE key.
func genPool(seed uint64) ([]string, map[string]*ecdsa.PrivateKey, error) {
	keys := make([]string, GenKeyPool)
	priv := make(map[string]*ecdsa.PrivateKey, GenKeyPool)
	for k := range keys {
		key, err := GenKey(seed, k)
		if err != nil {
			return nil, nil, err
		}
		cose, err := coseES256(&key.PublicKey)
		if err != nil {
			return nil, nil, err
		}
		keys[k] = b64(cose)
		priv[keys[k]] = key
	}
	return keys, priv, nil
}

// GenMembers returns the first count members GenUsers writes for seed, as
// rows: the same members, without the file.
func GenMembers(count int, seed uint64) ([]userfile.Row, error) {
	keys, _, err := genPool(seed)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x6b657973686966)) // as GenUsers
	rows := make([]userfile.Row, count)
	for i := range rows {
		rows[i] = genRow(rng, i, keys)
	}
	return rows, nil
}

// GenPasskeys returns, for the keyshift at origin, the passkeys of rows
// (GenMembers of seed) that a load client can sign in with again and again:
// the synced ones, whose sign count stays 0 (a device-bound one starts
// above 0, and a client that signs concurrently cannot keep its count
// going up).
func GenPasskeys(rows []userfile.Row, seed uint64, origin string) ([]*Passkey, error) {
	_, priv, err := genPool(seed)
	if err != nil {
		return nil, err
	}
	var out []*Passkey
	for _, r := range rows {
		for _, p := range r.Passkeys {
			if !p.BackupState || p.SignCount != 0 {
				continue
			}
			key, ok := priv[p.PublicKey]
			if !ok {
				return nil, fmt.Errorf("bench: passkey of %s is not from seed %d's pool", r.Email, seed)
			}
			id, err1 := base64.RawURLEncoding.DecodeString(p.CredentialID)
			handle, err2 := base64.RawURLEncoding.DecodeString(p.UserHandle)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("bench: passkey of %s: bad base64url", r.Email)
			}
			pk, err := PasskeyFor(origin, id, handle, key)
			if err != nil {
				return nil, err
			}
			out = append(out, pk)
		}
	}
	return out, nil
}

// genRow makes member i. Its unique fields come from i; the rest from rng.
func genRow(rng *rand.Rand, i int, keys []string) userfile.Row {
	first, last := genFirst[rng.IntN(len(genFirst))], genLast[rng.IntN(len(genLast))]
	created := genEpoch.Add(-time.Duration(rng.Int64N(int64(10 * 365 * 24 * time.Hour)))).Truncate(time.Second)
	r := userfile.Row{
		Email:         fmt.Sprintf("%s.%s.%d@example.com", first, last, i),
		EmailVerified: rng.IntN(100) < 85,
		ExternalID:    fmt.Sprintf("legacy-%d", i),
		Name:          first + " " + last,
		CreatedAt:     &created,
	}
	pick := rng.IntN(100)
	for _, h := range genHashes {
		if pick < h.share {
			r.PasswordHash, r.PasswordFormat = h.hash, h.format
			break
		}
		pick -= h.share
	}
	if rng.IntN(3) != 0 {
		return r
	}
	handle := make([]byte, 16)
	binary.BigEndian.PutUint64(handle, rng.Uint64())
	binary.BigEndian.PutUint64(handle[8:], rng.Uint64())
	n := 1 + rng.IntN(4)/3 // a quarter of them have a second passkey
	for j := range n {
		// Unique by construction: the member's number and the passkey's,
		// then random bytes so ids do not look sequential.
		id := make([]byte, 20)
		binary.BigEndian.PutUint64(id, uint64(i))
		id[8] = byte(j)
		binary.BigEndian.PutUint64(id[9:], rng.Uint64())
		binary.BigEndian.PutUint16(id[17:], uint16(rng.Uint32()))
		a := genAAGUIDs[rng.IntN(len(genAAGUIDs))]
		pkCreated := created.Add(time.Duration(rng.Int64N(int64(genEpoch.Sub(created))))).Truncate(time.Second)
		p := userfile.Passkey{
			CredentialID:   b64(id),
			PublicKey:      keys[rng.IntN(len(keys))],
			AAGUID:         a.aaguid,
			Transports:     []string{"internal", "hybrid"},
			UserHandle:     b64(handle),
			BackupEligible: a.synced,
			BackupState:    a.synced,
			Attachment:     "platform",
			Name:           "Passkey " + first,
			CreatedAt:      &pkCreated,
		}
		if !a.synced {
			p.SignCount = uint32(rng.IntN(500))
			p.Transports = []string{"internal"}
		}
		if rng.IntN(2) == 0 {
			used := pkCreated.Add(time.Duration(rng.Int64N(int64(genEpoch.Sub(pkCreated)) + 1))).Truncate(time.Second)
			p.LastUsedAt = &used
		}
		r.Passkeys = append(r.Passkeys, p)
	}
	return r
}

// GenKey returns key k of the pool GenUsers draws passkeys from for seed,
// so a test or a load run can sign in with a generated member's passkey.
func GenKey(seed uint64, k int) (*ecdsa.PrivateKey, error) {
	rng := rand.New(rand.NewPCG(seed, uint64(k)))
	for {
		d := make([]byte, 32)
		for i := 0; i < 32; i += 8 {
			binary.BigEndian.PutUint64(d[i:], rng.Uint64())
		}
		// A scalar at or above the group order (about 2^-32 of draws) is
		// refused: draw again.
		if key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d); err == nil {
			return key, nil
		}
	}
}

// coseES256 is pub as a COSE_Key (RFC 9053 §7.1.1), as an authenticator
// reports it at registration.
func coseES256(pub *ecdsa.PublicKey) ([]byte, error) {
	raw, err := pub.Bytes() // 0x04 ‖ X ‖ Y, each padded to 32 bytes
	if err != nil {
		return nil, err
	}
	return webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256), XCoord: raw[1:33], YCoord: raw[33:65],
	})
}
