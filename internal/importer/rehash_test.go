package importer_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/keyshift/keyshift/internal/importer"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/userfile"
)

// TestImportedBcryptMemberSignsInAndIsRehashed: a member imported with the
// bcrypt hash of their old site signs in over the API with the password
// they always had, and leaves with keyshift's own Argon2id hash instead.
func TestImportedBcryptMemberSignsInAndIsRehashed(t *testing.T) {
	const pw = "correct horse battery staple"
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), 4)
	if err != nil {
		t.Fatal(err)
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		site := servertest.Start(t, database)
		line, err := json.Marshal(userfile.Row{Email: "ada@example.com", ExternalID: "wp-7", PasswordHash: string(hash)})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "wordpress.jsonl")
		if err := os.WriteFile(path, append(line, '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
		if sum := run(t, site.DB, importer.Options{Path: path}); sum.Counts.Imported != 1 || sum.Counts.Formats["bcrypt"] != 1 {
			t.Fatalf("import: %+v", sum.Counts)
		}

		if r := site.Client(t).Signin("ada@example.com", "wrong horse battery staple"); r.Status != http.StatusUnauthorized {
			t.Errorf("a wrong password: %d %s", r.Status, r.Body)
		}
		if got := password(t, site.DB, "ada@example.com"); got.PasswordFormat != "bcrypt" || got.PasswordHash != string(hash) {
			t.Errorf("a failed sign-in changed the hash: %s %s", got.PasswordFormat, got.PasswordHash)
		}
		if r := site.Client(t).Signin("ada@example.com", pw); r.Status != http.StatusOK {
			t.Fatalf("sign-in with the old site's password: %d %s", r.Status, r.Body)
		}
		got := password(t, site.DB, "ada@example.com")
		if got.PasswordFormat != "argon2id" || !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
			t.Errorf("after sign-in the hash is %s %.20s…, want keyshift's argon2id", got.PasswordFormat, got.PasswordHash)
		}
		if r := site.Client(t).Signin("ada@example.com", pw); r.Status != http.StatusOK {
			t.Errorf("sign-in after the rehash: %d %s", r.Status, r.Body)
		}
	})
}
