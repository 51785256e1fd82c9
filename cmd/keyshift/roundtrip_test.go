package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/bench"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// legacyMembers is an import file of members from an old system: hashes in
// formats keyshift does not make (real hashes of bench.GenPassword, as the
// generator writes them), a member without password, a verified one with
// name and external id.
const legacyMembers = `{"email":"Bcrypt.User@Example.com","email_verified":true,"external_id":"legacy-1","name":"Ada Lovelace","created_at":"2019-05-28T03:32:06Z","password_hash":"$2a$10$iv55LAMNTaynJQ4ANy3mueHSDf/zBe0BDDI8S/qp./wV/51769vs.","password_format":"bcrypt"}
{"email":"wordpress@example.com","external_id":"wp-7","created_at":"2015-01-02T03:04:05Z","password_hash":"$P$BkEyShIfTKzwDUVDWD3aB3EJ1c6CXM0"}
{"email":"django@example.com","email_verified":true,"password_hash":"pbkdf2_sha256$260000$kS7bEnchSalt2026$abc2D0AIc0cXjneqPAbalPv60vZ1JGncm4Y3weTGRuE=","password_format":"pbkdf2-sha256"}
{"email":"email-only@example.com","email_verified":true,"name":"No Password"}
`

const roundTripPassword = "a long enough passphrase for keyshift"

// TestExportThenImportKeepsEveryAccountAndItsSignIn is the promise that an
// export moves a site whole: accounts made through the real HTTP API (password sign-up, passkeys
// registered by a software authenticator) and imported with legacy hashes
// are exported, imported into an empty database and exported again; the two
// files must hold the same accounts field by field (only internal ids may
// differ), and every account must still sign in on a server running on the
// new database — password over /api/signin/password, passkey over
// /api/passkeys/login/begin and finish.
func TestExportThenImportKeepsEveryAccountAndItsSignIn(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two servers per backend")
	}
	t.Parallel()
	for _, b := range testdb.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			dir := t.TempDir()
			src := servertest.Start(t, b.Database(t))
			srcDB := src.Config.Database

			legacy := filepath.Join(dir, "legacy.jsonl")
			if err := os.WriteFile(legacy, []byte(legacyMembers), 0o600); err != nil {
				t.Fatal(err)
			}
			mustRun(t, map[string]string{"KEYSHIFT_DATABASE": srcDB}, "import", legacy)

			tg := bench.NewTarget(src.URL)
			// The legacy members' rows must come back identical (checked
			// below with every other row); signing them in with their old
			// hashes is the sign-in rehash's work (internal/password/legacy
			// at sign-in), tested where it is built.
			passwords := map[string]string{"password-only@example.com": roundTripPassword}
			if _, err := tg.Signup(ctx, "password-only@example.com", roundTripPassword); err != nil {
				t.Fatal(err)
			}
			var passkeys []*bench.Passkey
			for _, m := range []struct {
				email string
				keys  int
			}{{"both@example.com", 1}, {"two-passkeys@example.com", 2}} {
				cookie, err := tg.Signup(ctx, m.email, roundTripPassword)
				if err != nil {
					t.Fatal(err)
				}
				passwords[m.email] = roundTripPassword
				for range m.keys {
					p, renewed, err := tg.RegisterPasskey(ctx, cookie)
					if err != nil {
						t.Fatal(err)
					}
					passkeys = append(passkeys, p)
					cookie = renewed
				}
			}
			// A passkey already used once: its sign count and last use go
			// out and come back too.
			if err := tg.PasskeySignin(ctx, passkeys[0]); err != nil {
				t.Fatal(err)
			}

			first := filepath.Join(dir, "first.jsonl")
			mustRun(t, map[string]string{"KEYSHIFT_DATABASE": srcDB}, "export", "--out", first)
			dst := b.Database(t)
			mustRun(t, map[string]string{"KEYSHIFT_DATABASE": dst}, "import", first)
			second := filepath.Join(dir, "second.jsonl")
			mustRun(t, map[string]string{"KEYSHIFT_DATABASE": dst}, "export", "--out", second)

			want, got := exportedRows(t, first), exportedRows(t, second)
			if len(want) != 7 {
				t.Fatalf("first export has %d members, want 7", len(want))
			}
			if len(got) != len(want) {
				t.Fatalf("second export has %d members, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("member changed in the round trip:\nbefore %s\nafter  %s", want[i], got[i])
				}
			}

			// The new server has another port but the same RP ID
			// (localhost), as a moved site keeps its domain.
			next := servertest.Start(t, dst)
			nt := bench.NewTarget(next.URL)
			for email, pw := range passwords {
				if err := nt.Signin(ctx, email, pw); err != nil {
					t.Errorf("%s cannot sign in with their password on the new database: %v", email, err)
				}
			}
			for i, p := range passkeys {
				moved, err := p.ForOrigin(next.URL)
				if err != nil {
					t.Fatal(err)
				}
				if err := nt.PasskeySignin(ctx, moved); err != nil {
					t.Errorf("passkey %d cannot sign in on the new database: %v", i, err)
				}
			}
		})
	}
}

// mustRun runs keyshift with args and fails t unless it exits 0.
func mustRun(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	r := runCmd(t, context.Background(), env, args...)
	if r.code != 0 {
		t.Fatalf("keyshift %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// exportedRows returns the rows of an export, each re-encoded as JSON,
// sorted by email: the order of an export follows internal ids, which an
// import does not keep.
func exportedRows(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range readRows(t, string(b)) {
		j, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(j))
	}
	slices.Sort(out)
	return out
}
