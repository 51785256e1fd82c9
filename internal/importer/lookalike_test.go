package importer_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/importer"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/userfile"
)

// TestImportKeysAddressesCanonically (T19): an import keys addresses as
// sign-up does (account.NormalizeEmail). Two rows that spell one address
// differently (NFD and NFC, punycode and Unicode) are one member, so the
// second is a duplicate; a later file's spelling finds the member it
// imported; a Kelvin sign or a zero-width character is refused with its
// reason in the reject file, and nothing is made of it.
func TestImportKeysAddressesCanonically(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := openDB(t, database)
		dir := t.TempDir()
		write := func(name string, rows ...userfile.Row) string {
			t.Helper()
			var data []byte
			for _, r := range rows {
				line, err := json.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				data = append(append(data, line...), '\n')
			}
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}

		path := write("legacy.jsonl",
			userfile.Row{Email: "jos\u00e9@bücher.de", EmailVerified: true, PasswordHash: hashes.bcrypt},
			userfile.Row{Email: "jose\u0301@xn--bcher-kva.de", PasswordHash: hashes.md5},
			userfile.Row{Email: "\u212Aate@example.com", PasswordHash: hashes.bcrypt},
			userfile.Row{Email: "ka\u200Bte@example.com", PasswordHash: hashes.bcrypt},
			userfile.Row{Email: "ÄRGER@Example.COM", PasswordHash: hashes.bcrypt},
		)
		sum := run(t, db, importer.Options{Path: path})
		c := sum.Counts
		if c.Imported != 2 || c.Rejected != 3 || c.Reasons[importer.ReasonDuplicateEmail] != 1 || c.Reasons[importer.ReasonInvalidEmail] != 2 {
			t.Fatalf("counts %+v: want 2 imported, one duplicate, two invalid addresses", c)
		}
		rejects := readRejects(t, path+".rejects.jsonl")
		want := []struct {
			line            int
			reason, reason2 string
		}{
			{2, importer.ReasonDuplicateEmail, ""},
			{3, importer.ReasonInvalidEmail, "lookalike character"},
			{4, importer.ReasonInvalidEmail, "invisible character"},
		}
		if len(rejects) != len(want) {
			t.Fatalf("reject file: %+v", rejects)
		}
		for i, w := range want {
			r := rejects[i]
			if r.Line != w.line || r.Reason != w.reason || !strings.Contains(r.Message, w.reason2) {
				t.Errorf("reject %d: %+v, want line %d %s (%q)", i, r, w.line, w.reason, w.reason2)
			}
		}
		for key, email := range map[string]string{"jos\u00e9@bücher.de": "jos\u00e9@bücher.de", "Ärger@example.com": "ÄRGER@example.com"} {
			u, err := db.FindUserByEmailKey(t.Context(), key)
			if err != nil || u.Email != email {
				t.Errorf("key %q: %+v, %v; want %q", key, u, err, email)
			}
		}

		// Another file spells the member's address another way: the same
		// member, unchanged.
		again := write("again.jsonl", userfile.Row{Email: "jose\u0301@XN--BCHER-KVA.DE", EmailVerified: true, PasswordHash: hashes.bcrypt})
		if sum := run(t, db, importer.Options{Path: again}); sum.Counts.Unchanged != 1 || sum.Counts.Imported != 0 || sum.Counts.Rejected != 0 {
			t.Errorf("the member in another spelling: %+v", sum.Counts)
		}
		if n, err := db.CountUsers(t.Context()); err != nil || n != 2 {
			t.Errorf("%d accounts (%v), want 2", n, err)
		}
	})
}
