package importer_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/keyshift/keyshift/internal/importer"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/userfile"
)

// TestImportDoesNotLaunderASquattedAddress: a stranger signs up by password
// with a legacy member's address before the import (nothing proves a
// mailbox at sign-up). The legacy row, which has no external_id, must not
// be taken as the same member: that would drop the member's own hash and
// leave the squatter's password on the account. It is rejected with its own
// reason, listed in the summary and the reject file; accounts that proved
// their address, or came from an import, still match as before.
func TestImportDoesNotLaunderASquattedAddress(t *testing.T) {
	const legacyPW, squatterPW = "the member's own old password", "the squatter's password 42"
	hash, err := bcrypt.GenerateFromPassword([]byte(legacyPW), 4)
	if err != nil {
		t.Fatal(err)
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		site := servertest.Start(t, database)
		if r := site.Client(t).Signup("ada@example.com", squatterPW); r.Status != http.StatusCreated {
			t.Fatalf("squatter's sign-up: %d %s", r.Status, r.Body)
		}
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
			userfile.Row{Email: "Ada@Example.com", EmailVerified: true, PasswordHash: string(hash)},
			userfile.Row{Email: "bob@example.com", PasswordHash: string(hash)})
		sum := run(t, site.DB, importer.Options{Path: path})
		if sum.Counts.Imported != 1 || sum.Counts.Unchanged != 0 || sum.Counts.Reasons[importer.ReasonEmailUnverifiedConflict] != 1 {
			t.Fatalf("counts %+v: want bob imported and ada rejected as %s", sum.Counts, importer.ReasonEmailUnverifiedConflict)
		}
		rejects := readRejects(t, path+".rejects.jsonl")
		if len(rejects) != 1 || rejects[0].Line != 1 || rejects[0].Reason != importer.ReasonEmailUnverifiedConflict || rejects[0].Row == "" {
			t.Errorf("reject file: %+v", rejects)
		}
		// The squatted account is untouched: still the squatter's password
		// only, and the legacy password opens nothing.
		if r := site.Client(t).Signin("ada@example.com", legacyPW); r.Status != http.StatusUnauthorized {
			t.Errorf("the legacy password signs in to the squatted account: %d", r.Status)
		}
		if got := password(t, site.DB, "ada@example.com"); got.PasswordFormat != "argon2id" {
			t.Errorf("the squatted account's password is now %s", got.PasswordFormat)
		}

		// bob came from an import and never verified: importing him again
		// is the same member, unchanged, as before.
		again := write("again.jsonl", userfile.Row{Email: "bob@example.com", PasswordHash: string(hash)})
		if sum := run(t, site.DB, importer.Options{Path: again}); sum.Counts.Unchanged != 1 || sum.Counts.Rejected != 0 {
			t.Errorf("re-importing an imported member: %+v", sum.Counts)
		}
	})
}
