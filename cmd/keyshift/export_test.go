package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/userfile"
)

// seedMembers stores n members: every other one with a password, every
// third with a passkey, and returns the open database.
func seedMembers(t *testing.T, database string, n int) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	// One transaction: thousands of single commits take the best part of a
	// minute on a loaded machine.
	err = db.InTx(ctx, func(ctx context.Context) error {
		for i := range n {
			id := string(rune('a'+i%26)) + strings.Repeat("x", i/26)
			u := &account.User{ID: "u-" + id, Email: "m-" + id + "@example.com", EmailKey: "m-" + id + "@example.com",
				EmailVerified: i%2 == 0, Name: "Member " + id, WebAuthnID: []byte("handle-" + id), CreatedAt: at, UpdatedAt: at, Origin: account.OriginImport}
			if err := db.CreateUser(ctx, u); err != nil {
				return err
			}
			if i%2 == 0 {
				if err := db.CreateCredential(ctx, &account.Credential{ID: "p-" + id, UserID: u.ID, Type: account.CredentialPassword,
					PasswordHash: "$2b$10$" + id, PasswordFormat: "bcrypt", CreatedAt: at, UpdatedAt: at}); err != nil {
					return err
				}
			}
			if i%3 == 0 {
				if err := db.CreateCredential(ctx, &account.Credential{ID: "k-" + id, UserID: u.ID, Type: account.CredentialWebAuthn,
					CredentialID: []byte("cred-" + id), PublicKey: []byte{0xa5, 1, 2}, AAGUID: make([]byte, 16), CreatedAt: at, UpdatedAt: at}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func readRows(t *testing.T, text string) []userfile.Row {
	t.Helper()
	var rows []userfile.Row
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		var r userfile.Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %d is not a row: %v\n%s", len(rows)+1, err, sc.Text())
		}
		rows = append(rows, r)
	}
	return rows
}

// exportEvents returns the export audit rows.
func exportEvents(t *testing.T, db *store.DB) []account.Event {
	t.Helper()
	evs, err := db.FindEvents(context.Background(), store.EventFilter{Type: eventExport})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestExportWritesEveryMemberToAPrivateFileAndAuditsIt(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := seedMembers(t, database, 1001) // two pages
		dir := t.TempDir()
		out := filepath.Join(dir, "members.jsonl")
		r := runCmd(t, context.Background(), map[string]string{"KEYSHIFT_DATABASE": database, "USER": "ops"}, "export", "--out", out)
		if r.code != 0 {
			t.Fatalf("export: code %d, stderr %q", r.code, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("export --out wrote to stdout: %q", r.stdout)
		}
		if !strings.Contains(r.stderr, "1001 members (501 with a password, 334 passkeys) written to "+out) {
			t.Errorf("summary: %q", r.stderr)
		}
		fi, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("%d files in the directory, want the export alone", len(entries))
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		rows := readRows(t, string(b))
		seen := map[string]bool{}
		for _, row := range rows {
			seen[row.Email] = true
			id := strings.TrimSuffix(strings.TrimPrefix(row.Email, "m-"), "@example.com")
			if row.Name != "Member "+id || row.CreatedAt == nil || !row.CreatedAt.Equal(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)) {
				t.Fatalf("row %+v", row)
			}
			if row.PasswordHash != "" && (row.PasswordHash != "$2b$10$"+id || row.PasswordFormat != "bcrypt") {
				t.Fatalf("row %s: hash %q format %q", row.Email, row.PasswordHash, row.PasswordFormat)
			}
			if len(row.Passkeys) == 1 && (row.Passkeys[0].UserHandle != base64.RawURLEncoding.EncodeToString([]byte("handle-"+id)) ||
				row.Passkeys[0].CredentialID != base64.RawURLEncoding.EncodeToString([]byte("cred-"+id))) {
				t.Fatalf("row %s: passkey %+v", row.Email, row.Passkeys[0])
			}
		}
		if len(rows) != 1001 || len(seen) != 1001 {
			t.Fatalf("%d rows, %d distinct emails, want 1001", len(rows), len(seen))
		}
		evs := exportEvents(t, db)
		if len(evs) != 1 {
			t.Fatalf("%d export events, want 1", len(evs))
		}
		ev := evs[0]
		if ev.Outcome != "success" || ev.Method != "cli" || ev.Data["members"] != float64(1001) || ev.Data["passwords"] != float64(501) ||
			ev.Data["passkeys"] != float64(334) || ev.Data["format"] != "jsonl" || ev.Data["destination"] != out || ev.Data["os_user"] == "" || ev.Data["host"] == "" {
			t.Errorf("event %+v", ev)
		}
	})
}

func TestExportWritesToStandardOutputByDefault(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := seedMembers(t, database, 4)
		env := map[string]string{"KEYSHIFT_DATABASE": database}
		r := runCmd(t, context.Background(), env, "export")
		if r.code != 0 || len(readRows(t, r.stdout)) != 4 || !strings.Contains(r.stderr, "written to standard output as jsonl") {
			t.Fatalf("export: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		r = runCmd(t, context.Background(), env, "export", "--format", "csv")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || len(lines) != 5 || !strings.HasPrefix(lines[0], "email,email_verified,") {
			t.Fatalf("export --format csv: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		if evs := exportEvents(t, db); len(evs) != 2 || evs[0].Data["destination"] != "standard output" || evs[1].Data["format"] != "csv" {
			t.Errorf("events %+v", evs)
		}
	})
}

func TestExportFailureLeavesNoFile(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := seedMembers(t, database, 1001)
		// A stored AAGUID of the wrong length on the member sorting last
		// stops the export in its second page, after a thousand rows.
		ctx := context.Background()
		at := time.Now()
		bad := &account.User{ID: "u-zzzz", Email: "bad@example.com", EmailKey: "bad@example.com", WebAuthnID: []byte("h"), CreatedAt: at, UpdatedAt: at, Origin: account.OriginImport}
		if err := db.CreateUser(ctx, bad); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateCredential(ctx, &account.Credential{ID: "k-bad", UserID: bad.ID, Type: account.CredentialWebAuthn,
			CredentialID: []byte("bad"), PublicKey: []byte{1}, AAGUID: []byte{1, 2, 3}, CreatedAt: at, UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		out := filepath.Join(dir, "members.jsonl")
		r := runCmd(t, context.Background(), map[string]string{"KEYSHIFT_DATABASE": database}, "export", "--out", out)
		if r.code != 1 || !strings.Contains(r.stderr, "AAGUID has 3 bytes") {
			t.Fatalf("export: code %d, stderr %q", r.code, r.stderr)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("a failed export left %d files behind", len(entries))
		}
		evs := exportEvents(t, db)
		if len(evs) != 1 || evs[0].Outcome != "failure" || !strings.Contains(evs[0].Data["error"].(string), "AAGUID") {
			t.Errorf("events %+v", evs)
		}
	})
}

func TestExportRefusesBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"export", "--format", "xml"}, {"export", "extra"}} {
		if r := runCmd(t, context.Background(), map[string]string{"KEYSHIFT_DATABASE": "sqlite:" + testdb.SQLitePath(t)}, args...); r.code != 2 {
			t.Errorf("%v: code %d, stderr %q", args, r.code, r.stderr)
		}
	}
}
