package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/keyshift/keyshift/internal/password"
	"github.com/keyshift/keyshift/internal/password/legacy"
	"github.com/keyshift/keyshift/internal/userfile"
	"golang.org/x/crypto/bcrypt"
)

func gen(t *testing.T, n int, seed uint64) ([]byte, GenSummary) {
	t.Helper()
	var b bytes.Buffer
	sum, err := GenUsers(context.Background(), &b, n, seed)
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), sum
}

func TestGenUsersIsDeterministic(t *testing.T) {
	t.Parallel()
	a, _ := gen(t, 500, 7)
	b, _ := gen(t, 500, 7)
	c, _ := gen(t, 500, 8)
	if !bytes.Equal(a, b) {
		t.Error("the same seed gave two different files")
	}
	if bytes.Equal(a, c) {
		t.Error("two seeds gave the same file")
	}
}

func TestGenUsersWritesRealisticUniqueMembers(t *testing.T) {
	t.Parallel()
	const n = 20000
	out, sum := gen(t, n, 1)
	emails, external, creds := map[string]bool{}, map[string]bool{}, map[string]bool{}
	noPassword, withPasskeys, passkeys := 0, 0, 0
	formats := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var r userfile.Row
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("line %d: %v", lines, err)
		}
		if emails[strings.ToLower(r.Email)] || external[r.ExternalID] {
			t.Fatalf("line %d repeats an email or external id: %s %s", lines, r.Email, r.ExternalID)
		}
		emails[strings.ToLower(r.Email)], external[r.ExternalID] = true, true
		if r.CreatedAt == nil || r.CreatedAt.After(genEpoch) || r.Name == "" {
			t.Fatalf("line %d: %+v", lines, r)
		}
		if r.PasswordHash == "" {
			noPassword++
		} else {
			formats[r.PasswordFormat+" "+r.PasswordHash[:4]]++
		}
		if len(r.Passkeys) > 0 {
			withPasskeys++
		}
		for _, p := range r.Passkeys {
			passkeys++
			if creds[p.CredentialID] {
				t.Fatalf("line %d repeats credential id %s", lines, p.CredentialID)
			}
			creds[p.CredentialID] = true
			if p.UserHandle != r.Passkeys[0].UserHandle || p.UserHandle == "" || p.CreatedAt == nil || p.CreatedAt.Before(*r.CreatedAt) {
				t.Fatalf("line %d: passkey %+v", lines, p)
			}
		}
	}
	if lines != n || sum.Members != n || sum.Passwords != n-noPassword || sum.Passkeys != passkeys || sum.WithPasskeys != withPasskeys {
		t.Fatalf("%d lines; summary %+v; counted %d without password, %d with passkeys, %d passkeys", lines, sum, noPassword, withPasskeys, passkeys)
	}
	within := func(what string, got int, share float64) {
		if f := float64(got) / n; f < share-0.02 || f > share+0.02 {
			t.Errorf("%s: %.3f of members, want about %.2f", what, f, share)
		}
	}
	within("without password", noPassword, 0.10)
	within("with passkeys", withPasskeys, 1.0/3)
	within("with two passkeys", passkeys-withPasskeys, 1.0/3/4)
	for _, h := range genHashes {
		within("format "+h.format+" "+h.hash[:4], formats[h.format+" "+h.hash[:4]], float64(h.share)/100)
	}
}

// TestGenHashesAreHashesOfGenPassword checks every reused hash against the
// known password with an implementation of its format's published
// algorithm, so generated members can really sign in after import.
func TestGenHashesAreHashesOfGenPassword(t *testing.T) {
	t.Parallel()
	hasher := password.NewHasher(password.Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}, password.NewGate(1, time.Minute))
	for _, h := range genHashes {
		t.Run(h.hash[:4], func(t *testing.T) {
			var ok bool
			switch {
			case strings.HasPrefix(h.hash, "$2"):
				ok = bcrypt.CompareHashAndPassword([]byte(h.hash), []byte(GenPassword)) == nil
			case strings.HasPrefix(h.hash, "$argon2id$"):
				var err error
				if ok, _, err = hasher.Verify(context.Background(), GenPassword, h.hash, "argon2id"); err != nil {
					t.Fatal(err)
				}
			case strings.HasPrefix(h.hash, "pbkdf2_sha256$"):
				f := strings.Split(h.hash, "$")
				iter, _ := strconv.Atoi(f[1])
				dk, err := pbkdf2.Key(sha256.New, GenPassword, []byte(f[2]), iter, 32)
				ok = err == nil && base64.StdEncoding.EncodeToString(dk) == f[3]
			case strings.HasPrefix(h.hash, "$P$"):
				ok = phpass(GenPassword, h.hash) == h.hash
			case h.format == "md5":
				sum := md5.Sum([]byte(GenPassword))
				ok = hex.EncodeToString(sum[:]) == h.hash
			default:
				t.Fatalf("no check for %s", h.hash)
			}
			if !ok {
				t.Errorf("%s is not a hash of GenPassword", h.hash)
			}
			// And keyshift's own verifier, which imported members meet at
			// sign-in, agrees, with the format named or detected.
			f, err := legacy.Detect(h.hash)
			if h.format != "" {
				f, err = legacy.ParseFormat(h.format)
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := legacy.Verify(f, h.hash, []byte(GenPassword)); !ok || err != nil {
				t.Errorf("legacy.Verify(%s, %s) = %v, %v", f, h.hash, ok, err)
			}
		})
	}
}

// phpass computes a portable PHPass hash with setting's cost and salt
// (openwall phpass 0.5, HashPassword's portable branch).
func phpass(pw, setting string) string {
	const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	salt := setting[4:12]
	h := md5.Sum([]byte(salt + pw))
	for range 1 << strings.IndexByte(itoa64, setting[3]) {
		h = md5.Sum(append(h[:], pw...))
	}
	out := []byte(setting[:12])
	for i := 0; i < len(h); {
		v := int(h[i])
		i++
		out = append(out, itoa64[v&0x3f])
		if i < len(h) {
			v |= int(h[i]) << 8
		}
		out = append(out, itoa64[(v>>6)&0x3f])
		if i++; i > len(h) {
			break
		}
		if i < len(h) {
			v |= int(h[i]) << 16
		}
		out = append(out, itoa64[(v>>12)&0x3f])
		if i++; i > len(h) {
			break
		}
		out = append(out, itoa64[(v>>18)&0x3f])
	}
	return string(out)
}

func TestPHPassReferenceMatchesTheOpenwallVector(t *testing.T) {
	t.Parallel()
	// From openwall phpass 0.5's test.php (portable hashes, cost 2^11).
	const want = "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0"
	if got := phpass("test12345", want); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// TestGenPasskeysAreRealKeysOfThePool checks that each generated public key
// parses as an ES256 COSE key of the pool, which verifies a signature made
// with GenKey's private key: a generated passkey could sign in.
func TestGenPasskeysAreRealKeysOfThePool(t *testing.T) {
	t.Parallel()
	out, _ := gen(t, 300, 3)
	pool := map[string]*ecdsa.PrivateKey{}
	for k := range GenKeyPool {
		key, err := GenKey(3, k)
		if err != nil {
			t.Fatal(err)
		}
		cose, err := coseES256(&key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		pool[b64(cose)] = key
	}
	if len(pool) != GenKeyPool {
		t.Fatalf("pool has %d distinct keys, want %d", len(pool), GenKeyPool)
	}
	checked := 0
	for line := range bytes.Lines(out) {
		var r userfile.Row
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		for _, p := range r.Passkeys {
			key, ok := pool[p.PublicKey]
			if !ok {
				t.Fatalf("passkey %s has a key outside the pool", p.CredentialID)
			}
			raw, _ := base64.RawURLEncoding.DecodeString(p.PublicKey)
			parsed, err := webauthncose.ParsePublicKey(raw)
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte("assertion " + p.CredentialID)
			digest := sha256.Sum256(msg)
			sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
			if err != nil {
				t.Fatal(err)
			}
			ec := parsed.(webauthncose.EC2PublicKeyData)
			if valid, err := ec.Verify(msg, sig); !valid || err != nil {
				t.Fatalf("passkey %s: signature does not verify (%v)", p.CredentialID, err)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no passkey generated")
	}
}
