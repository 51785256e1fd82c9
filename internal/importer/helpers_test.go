package importer_test

import (
	"bufio"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"golang.org/x/crypto/bcrypt"

	"github.com/keyshift/keyshift/internal/importer"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/userfile"
)

func openDB(t *testing.T, database string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), database)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// hashes are one valid stored hash per format the mixed file uses, made
// once (bcrypt at cost 4: tests stay fast).
var hashes = func() (h struct{ bcrypt, md5, django, sha256Salted, sha256Salt string }) {
	b, err := bcrypt.GenerateFromPassword([]byte("correct horse"), 4)
	if err != nil {
		panic(err)
	}
	h.bcrypt = string(b)
	m := md5.Sum([]byte("correct horse"))
	h.md5 = hex.EncodeToString(m[:])
	dk, err := pbkdf2.Key(sha256.New, "correct horse", []byte("saltsalt"), 1000, 32)
	if err != nil {
		panic(err)
	}
	h.django = "pbkdf2_sha256$1000$saltsalt$" + base64.StdEncoding.EncodeToString(dk)
	s := sha256.Sum256([]byte("pepper" + "correct horse"))
	h.sha256Salted, h.sha256Salt = hex.EncodeToString(s[:]), "pepper"
	return h
}()

// coseKeys are a few real COSE public keys; rows share them under their
// own credential ids (nothing requires public keys to be unique).
var coseKeys = func() [][]byte {
	out := make([][]byte, 4)
	for i := range out {
		c := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		out[i] = c.Key.AttestationData()
	}
	return out
}()

func passkey(i int, handle []byte) userfile.Passkey {
	return userfile.Passkey{CredentialID: b64(randBytes(32)), PublicKey: b64(coseKeys[i%len(coseKeys)]),
		SignCount: uint32(i), AAGUID: "ee882879-721c-4913-9775-3dfcce97072a", Transports: []string{"internal", "hybrid"},
		UserHandle: b64(handle), BackupEligible: true, BackupState: true}
}

// mixedCycle is how many rows one cycle of the mixed file has, and what
// each kind of row in it does. A cycle has 13 good rows (one of them
// without any credential) and 7 bad ones, one per reason.
const mixedCycle = 20

var mixedReasons = map[int]string{
	13: importer.ReasonInvalidEmail, 14: importer.ReasonUnknownHashFormat, 15: userfile.ReasonMalformed,
	16: importer.ReasonDuplicateEmail, 17: importer.ReasonInvalidPasskey, 18: importer.ReasonUserHandleMismatch,
	19: importer.ReasonDuplicateExternalID,
}

// mixedFile writes n rows (a multiple of mixedCycle) of every kind and
// returns its path. Good rows of a cycle: 8 passwords of four formats,
// 2 passwords with a passkey, 2 with two passkeys and no password, 1 with
// nothing. So per cycle: 13 members, 10 passwords, 6 passkeys.
func mixedFile(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "members.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	created := time.Date(2019, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		r := userfile.Row{Email: fmt.Sprintf("member%d@example.com", i), ExternalID: fmt.Sprintf("legacy-%d", i),
			Name: fmt.Sprintf("Member %d", i), EmailVerified: i%2 == 0, CreatedAt: &created}
		switch k := i % mixedCycle; k {
		case 0, 4:
			r.PasswordHash = hashes.bcrypt
		case 1, 5:
			r.PasswordHash = hashes.md5
		case 2, 6:
			r.PasswordHash, r.PasswordFormat, r.PasswordSalt = hashes.sha256Salted, "sha256-salt-prefix", hashes.sha256Salt
		case 3, 7:
			r.PasswordHash = hashes.django
		case 8, 9:
			r.PasswordHash = hashes.bcrypt
			r.Passkeys = []userfile.Passkey{passkey(i, randBytes(16))}
		case 10, 11:
			h := randBytes(32)
			r.Passkeys = []userfile.Passkey{passkey(i, h), passkey(i+1, h)}
			r.Passkeys[1].UserHandle = "" // takes the member's one handle
		case 12:
			r.ExternalID = "" // matched by email alone
		case 13:
			r.Email = "member" + fmt.Sprint(i) + "-at-example.com"
		case 14:
			r.PasswordHash = "$zz$not-a-hash"
		case 15:
			fmt.Fprintf(w, "{\"email\": \"member%d@example.com\", oops}\n", i)
			continue
		case 16:
			r.Email = fmt.Sprintf("MEMBER%d@Example.com", i-16)
		case 17:
			r.Passkeys = []userfile.Passkey{passkey(i, randBytes(16))}
			r.Passkeys[0].PublicKey = b64([]byte("not a COSE key"))
		case 18:
			r.Passkeys = []userfile.Passkey{passkey(i, randBytes(16)), passkey(i+1, randBytes(16))}
		case 19:
			r.ExternalID = fmt.Sprintf("legacy-%d", i-19)
		}
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// mixedCounts are a first import's counts of mixedFile(n).
func mixedCounts(n int) importer.Counts {
	cycles := int64(n / mixedCycle)
	c := importer.Counts{Read: int64(n), Imported: 13 * cycles, Rejected: 7 * cycles, Reasons: map[string]int64{},
		Formats: map[string]int64{"bcrypt": 4 * cycles, "md5": 2 * cycles, "sha256-salt-prefix": 2 * cycles, "pbkdf2-sha256": 2 * cycles},
		// md5 and salted sha256 are weak formats, bcrypt at cost 4 and
		// PBKDF2 at 1,000 iterations are weak by cost.
		Weak: 10 * cycles, Passkeys: 6 * cycles}
	for _, r := range mixedReasons {
		c.Reasons[r] = cycles
	}
	return c
}

func run(t *testing.T, st importer.Store, opt importer.Options) *importer.Summary {
	t.Helper()
	sum, err := importer.Run(t.Context(), st, opt)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return sum
}

// rejectLine is a line of the reject file.
type rejectLine struct {
	Line    int    `json:"line"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Row     string `json:"row"`
}

func readRejects(t *testing.T, path string) []rejectLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []rejectLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r rejectLine
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("reject line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// checkMixedRejects checks that the reject file has exactly the bad rows of
// mixedFile(n), in line order, each with its reason and its row.
func checkMixedRejects(t *testing.T, path string, n int) {
	t.Helper()
	got := readRejects(t, path)
	var want []int
	for i := range n {
		if _, bad := mixedReasons[i%mixedCycle]; bad {
			want = append(want, i+1)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("reject file has %d lines, want %d", len(got), len(want))
	}
	for j, r := range got {
		if r.Line != want[j] || r.Reason != mixedReasons[(r.Line-1)%mixedCycle] || r.Message == "" || r.Row == "" {
			t.Fatalf("reject %d = %+v, want line %d reason %s with a message and the row", j, r, want[j], mixedReasons[(want[j]-1)%mixedCycle])
		}
	}
}

// tableCounts counts rows of the tables an import writes.
type tableCounts struct {
	Users, Passwords, Passkeys, Events, Imports int
}

// rawDB opens database with database/sql directly, to read what no store
// method returns. Queries through it take no parameters.
func rawDB(t *testing.T, database string) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", database
	if path, ok := strings.CutPrefix(database, "sqlite:"); ok {
		driver, dsn = "sqlite", path
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func countTables(t *testing.T, db *sql.DB) tableCounts {
	t.Helper()
	var c tableCounts
	for _, q := range []struct {
		dst   *int
		query string
	}{
		{&c.Users, `SELECT COUNT(*) FROM users`},
		{&c.Passwords, `SELECT COUNT(*) FROM credentials WHERE type = 'password'`},
		{&c.Passkeys, `SELECT COUNT(*) FROM credentials WHERE type = 'webauthn'`},
		{&c.Events, `SELECT COUNT(*) FROM events WHERE type = 'users_imported'`},
		{&c.Imports, `SELECT COUNT(*) FROM imports`},
	} {
		if err := db.QueryRow(q.query).Scan(q.dst); err != nil {
			t.Fatalf("%s: %v", q.query, err)
		}
	}
	return c
}
