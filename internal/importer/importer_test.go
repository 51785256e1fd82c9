package importer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/aaguid"
	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/importer"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/userfile"
)

func TestImportMixedFileThenAgain(t *testing.T) {
	const n = 10_000
	path := mixedFile(t, n)
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db, raw := openDB(t, database), rawDB(t, database)
		opt := importer.Options{Path: path, BatchSize: 700, Rejects: filepath.Join(t.TempDir(), "rejects.jsonl")}

		sum := run(t, db, opt)
		if want := mixedCounts(n); !reflect.DeepEqual(sum.Counts, want) {
			t.Errorf("first run counts\n got %+v\nwant %+v", sum.Counts, want)
		}
		if sum.Rejects != opt.Rejects {
			t.Errorf("Rejects = %q, want %q", sum.Rejects, opt.Rejects)
		}
		if fi, err := os.Stat(opt.Rejects); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("reject file: %v, mode %v; want 0600 (it holds hashes)", err, fi.Mode())
		}
		checkMixedRejects(t, opt.Rejects, n)
		cycles := n / mixedCycle
		want := tableCounts{Users: 13 * cycles, Passwords: 10 * cycles, Passkeys: 6 * cycles, Events: 1, Imports: 1}
		if got := countTables(t, raw); got != want {
			t.Errorf("tables after the first run %+v, want %+v", got, want)
		}
		checkMembers(t, db)
		before := snapshot(t, raw)

		sum = run(t, db, opt)
		again := importer.Counts{Read: n, Unchanged: int64(13 * cycles), Rejected: int64(7 * cycles), Reasons: mixedCounts(n).Reasons}
		if !reflect.DeepEqual(sum.Counts, again) {
			t.Errorf("second run counts\n got %+v\nwant %+v", sum.Counts, again)
		}
		checkMixedRejects(t, opt.Rejects, n)
		want.Events, want.Imports = 2, 2
		if got := countTables(t, raw); got != want {
			t.Errorf("tables after the second run %+v, want %+v", got, want)
		}
		if after := snapshot(t, raw); after != before {
			t.Error("the second run changed accounts or credentials")
		}
	})
}

// checkMembers looks at a few members of mixedFile field by field.
func checkMembers(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := t.Context()
	u, err := db.FindUserByEmailKey(ctx, "member0@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.ExternalID != "legacy-0" || u.Name != "Member 0" || !u.EmailVerified || len(u.WebAuthnID) != 32 ||
		!u.CreatedAt.Equal(time.Date(2019, 5, 1, 12, 0, 0, 0, time.UTC)) || !u.HasPassword || u.PasskeyCount != 0 {
		t.Errorf("member 0: %+v", u)
	}
	pw, err := db.FindPasswordCredential(ctx, u.ID)
	if err != nil || pw.PasswordHash != hashes.bcrypt || pw.PasswordFormat != "bcrypt" {
		t.Errorf("member 0 password: %+v, %v", pw, err)
	}
	pw = password(t, db, "member2@example.com")
	if want := hashes.sha256Salted + "$" + hashes.sha256Salt; pw.PasswordHash != want || pw.PasswordFormat != "sha256-salt-prefix" {
		t.Errorf("member 2 password %q %q, want the digest composed with its salt, %q", pw.PasswordHash, pw.PasswordFormat, want)
	}
	u, err = db.FindUserByEmailKey(ctx, "member10@example.com")
	if err != nil {
		t.Fatal(err)
	}
	pks, err := db.ListPasskeys(ctx, u.ID)
	if err != nil || len(pks) != 2 || u.HasPassword {
		t.Fatalf("member 10: %d passkeys, password %v, %v", len(pks), u.HasPassword, err)
	}
	for _, p := range pks {
		if !bytes.Equal(p.UserHandle, u.WebAuthnID) || len(u.WebAuthnID) != 32 || !p.BackupEligible || !p.BackupState ||
			p.Name != aaguid.Name(p.AAGUID) || !reflect.DeepEqual(p.Transports, []string{"internal", "hybrid"}) || p.SignCount < 10 {
			t.Errorf("member 10 passkey %+v (user handle %x)", p, u.WebAuthnID)
		}
	}
}

func password(t *testing.T, db *store.DB, email string) *account.Credential {
	t.Helper()
	u, err := db.FindUserByEmailKey(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := db.FindPasswordCredential(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return pw
}

// snapshot is a digest of every account and credential column an import
// writes.
func snapshot(t *testing.T, raw *sql.DB) [32]byte {
	t.Helper()
	h := sha256.New()
	for _, q := range []string{
		`SELECT id, email, email_key, name, COALESCE(external_id, ''), webauthn_id, created_at, updated_at FROM users ORDER BY id`,
		`SELECT id, user_id, type, COALESCE(password_hash, ''), COALESCE(password_format, ''), credential_id, public_key,
			sign_count, user_handle, name, created_at FROM credentials ORDER BY id`,
	} {
		rows, err := raw.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(h, "%v\n", vals)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return [32]byte(h.Sum(nil))
}

func TestDryRunWritesNothing(t *testing.T) {
	const n = 400
	path := mixedFile(t, n)
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db, raw := openDB(t, database), rawDB(t, database)
		opt := importer.Options{Path: path, BatchSize: 150, Rejects: filepath.Join(t.TempDir(), "rejects.jsonl")}

		dry := opt
		dry.DryRun = true
		sum := run(t, db, dry)
		if want := mixedCounts(n); !reflect.DeepEqual(sum.Counts, want) || !sum.DryRun {
			t.Errorf("dry run on an empty database\n got %+v\nwant %+v (what the real run does)", sum.Counts, want)
		}
		checkMixedRejects(t, opt.Rejects, n) // the reject file is the point of a dry run
		if got := countTables(t, raw); got != (tableCounts{}) {
			t.Errorf("a dry run wrote %+v", got)
		}

		if sum := run(t, db, opt); !reflect.DeepEqual(sum.Counts, mixedCounts(n)) {
			t.Errorf("real run after the dry run\n got %+v\nwant %+v", sum.Counts, mixedCounts(n))
		}
		before, tables := snapshot(t, raw), countTables(t, raw)
		sum = run(t, db, dry)
		if sum.Counts.Imported != 0 || sum.Counts.Unchanged != 13*n/mixedCycle || sum.Counts.Rejected != 7*n/mixedCycle {
			t.Errorf("dry run after the import: %+v, want everything unchanged or rejected", sum.Counts)
		}
		if snapshot(t, raw) != before || countTables(t, raw) != tables {
			t.Error("the dry run changed the database")
		}
	})
}

// line is one row of a small test file; raw, when set, is written as is.
type line struct {
	row userfile.Row
	raw string
}

func writeRows(t *testing.T, rows []line) string {
	t.Helper()
	var b strings.Builder
	for _, r := range rows {
		if r.raw != "" {
			b.WriteString(r.raw + "\n")
			continue
		}
		j, err := json.Marshal(r.row)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(j, '\n'))
	}
	path := filepath.Join(t.TempDir(), "rows.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// outcomes runs an import of rows and returns what became of each line:
// "imported", "unchanged" or the reject reason.
func outcomes(t *testing.T, db *store.DB, rows []line, batch int) []string {
	t.Helper()
	path := writeRows(t, rows)
	before, err := db.CountUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sum := run(t, db, importer.Options{Path: path, BatchSize: batch})
	out := make([]string, len(rows))
	rejected := map[int]string{}
	if sum.Rejects != "" {
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(text), "\n")
		for _, r := range readRejects(t, sum.Rejects) {
			rejected[r.Line] = r.Reason
			// Rows the database refuses are read again from the file.
			if r.Row != lines[r.Line-1] {
				t.Errorf("reject of line %d has row %q, want the line as in the file: %q", r.Line, r.Row, lines[r.Line-1])
			}
		}
	}
	for i, r := range rows {
		switch {
		case rejected[i+1] != "":
			out[i] = rejected[i+1]
		case r.row.Email != "":
			// Imported rows are those whose account is new: count them by
			// the difference below, and name each by whether its email
			// existed before.
			out[i] = "ok"
		}
	}
	after, err := db.CountUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if int64(after-before) != sum.Counts.Imported {
		t.Errorf("%d new accounts but the summary says %d imported", after-before, sum.Counts.Imported)
	}
	return append(out, fmt.Sprintf("imported=%d unchanged=%d", sum.Counts.Imported, sum.Counts.Unchanged))
}

func TestDuplicatesAndConflicts(t *testing.T) {
	handle := randBytes(16)
	pk := passkey(1, handle)
	otherPK := passkey(2, randBytes(16))
	row := func(email, ext string, pks ...userfile.Passkey) line {
		return line{row: userfile.Row{Email: email, ExternalID: ext, Passkeys: pks}}
	}
	withHandle := func(p userfile.Passkey, h []byte) userfile.Passkey {
		p.CredentialID, p.UserHandle = b64(randBytes(20)), b64(h)
		return p
	}
	sameID := withHandle(otherPK, randBytes(16))
	sameID.CredentialID = pk.CredentialID
	noHandle := withHandle(otherPK, nil)
	noHandle.UserHandle = ""
	tests := []struct {
		name string
		rows []line
		want []string
	}{
		{"a second row with an email differing only in case is a duplicate",
			[]line{row("ada@example.com", "1"), row("ADA@Example.COM", "2")},
			[]string{"ok", importer.ReasonDuplicateEmail, "imported=1 unchanged=0"}},
		{"a second row with an external_id is a duplicate",
			[]line{row("ada@example.com", "1"), row("bob@example.com", "1")},
			[]string{"ok", importer.ReasonDuplicateExternalID, "imported=1 unchanged=0"}},
		{"a credential id on two members is a duplicate",
			[]line{row("ada@example.com", "1", pk), row("bob@example.com", "2", sameID)},
			[]string{"ok", importer.ReasonDuplicatePasskey, "imported=1 unchanged=0"}},
		{"a user handle on two members is a duplicate",
			[]line{row("ada@example.com", "1", pk), row("bob@example.com", "2", withHandle(otherPK, handle))},
			[]string{"ok", importer.ReasonDuplicateUserHandle, "imported=1 unchanged=0"}},
		{"a row refused for its own fault claims nothing: a later row with its email is imported",
			[]line{{row: userfile.Row{Email: "ada@example.com", PasswordHash: "nope"}}, row("ada@example.com", "1")},
			[]string{importer.ReasonUnknownHashFormat, "ok", "imported=1 unchanged=0"}},
		{"a passkey with a user handle and one without share the handle",
			[]line{row("ada@example.com", "1", pk, noHandle)},
			[]string{"ok", "imported=1 unchanged=0"}},
	}
	for _, batch := range []int{1, 1000} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s, batches of %d", tt.name, batch), func(t *testing.T) {
				testdb.Each(t, func(t *testing.T, database string) {
					t.Parallel()
					if got := outcomes(t, openDB(t, database), tt.rows, batch); !reflect.DeepEqual(got, tt.want) {
						t.Errorf("got %v, want %v", got, tt.want)
					}
				})
			})
		}
	}
	// Batches of one row with five between the two: the first row is
	// committed and out of the reader's window when the second comes, so
	// the database's unique keys find the duplicate, and the account it
	// meets is the run's own. The answer is the same.
	for _, tt := range tests[:4] {
		t.Run(tt.name+", far apart", func(t *testing.T) {
			rows := []line{tt.rows[0]}
			for i := range 5 {
				rows = append(rows, row(fmt.Sprintf("filler%d@example.com", i), fmt.Sprintf("filler-%d", i)))
			}
			rows = append(rows, tt.rows[1])
			want := []string{"ok", "ok", "ok", "ok", "ok", "ok", tt.want[1], "imported=6 unchanged=0"}
			testdb.Each(t, func(t *testing.T, database string) {
				t.Parallel()
				if got := outcomes(t, openDB(t, database), rows, 1); !reflect.DeepEqual(got, want) {
					t.Errorf("got %v, want %v", got, want)
				}
			})
		})
	}
}

// A second run of a file with a duplicate: the first line meets the account
// the first run made (unchanged), and so does the second. An account of
// another run is no earlier line of this file.
func TestADuplicateOfAnEarlierRunsAccountIsUnchanged(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := openDB(t, database)
		rows := []line{{row: userfile.Row{Email: "ada@example.com", ExternalID: "1"}}}
		for i := range 4 {
			rows = append(rows, line{row: userfile.Row{Email: fmt.Sprintf("f%d@example.com", i), ExternalID: fmt.Sprintf("f-%d", i)}})
		}
		rows = append(rows, line{row: userfile.Row{Email: "ada@example.com", ExternalID: "1"}})
		if got := outcomes(t, db, rows, 1); got[5] != importer.ReasonDuplicateEmail {
			t.Fatalf("first run: %v", got)
		}
		sum := run(t, db, importer.Options{Path: writeRows(t, rows), BatchSize: 1})
		if c := sum.Counts; c.Imported != 0 || c.Unchanged != 6 || c.Rejected != 0 {
			t.Errorf("second run counts %+v: want every row unchanged", c)
		}
	})
}

func TestRowsMeetingExistingAccounts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := openDB(t, database)
		ctx := t.Context()
		// A member who signed up on keyshift itself, with a passkey.
		now := time.Now()
		native := &account.User{ID: "native", Email: "nat@example.com", EmailKey: "nat@example.com",
			WebAuthnID: []byte("native-handle"), CreatedAt: now, UpdatedAt: now, Origin: account.OriginSignup, EmailVerified: true}
		if err := db.CreateUser(ctx, native); err != nil {
			t.Fatal(err)
		}
		credID := randBytes(16)
		if err := db.CreateCredential(ctx, &account.Credential{ID: "native-pk", UserID: "native", Type: account.CredentialWebAuthn,
			CredentialID: credID, PublicKey: coseKeys[0], CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		// A member imported earlier.
		outcomes(t, db, []line{{row: userfile.Row{Email: "old@example.com", ExternalID: "old-1"}}}, 10)

		taken := passkey(0, randBytes(16))
		taken.CredentialID = b64(credID)
		handleTaken := passkey(0, []byte("native-handle"))
		got := outcomes(t, db, []line{
			{row: userfile.Row{Email: "NAT@example.com", ExternalID: "x-1"}},
			{row: userfile.Row{Email: "renamed@example.com", ExternalID: "old-1"}},
			{row: userfile.Row{Email: "old@example.com", ExternalID: "old-2"}},
			{row: userfile.Row{Email: "new1@example.com", Passkeys: []userfile.Passkey{taken}}},
			{row: userfile.Row{Email: "new2@example.com", Passkeys: []userfile.Passkey{handleTaken}}},
			{row: userfile.Row{Email: "new3@example.com", ExternalID: "new-3"}},
		}, 3)
		want := []string{importer.ReasonEmailTaken, "ok", importer.ReasonEmailTaken, importer.ReasonPasskeyTaken,
			importer.ReasonUserHandleTaken, "ok", "imported=1 unchanged=1"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %v\nwant %v", got, want)
		}
		// A row without external_id matches the native account by email.
		got = outcomes(t, db, []line{{row: userfile.Row{Email: "Nat@example.com", Name: "changed"}}}, 3)
		if want := []string{"ok", "imported=0 unchanged=1"}; !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
		if u, err := db.FindUserByEmailKey(ctx, "nat@example.com"); err != nil || u.Name != "" || u.ID != "native" {
			t.Errorf("the account matched by email changed: %+v, %v", u, err)
		}
		if u, err := db.FindUserByEmailKey(ctx, "old@example.com"); err != nil || u.ExternalID != "old-1" {
			t.Errorf("the account matched by external_id changed: %+v, %v", u, err)
		}
	})
}

// failingStore rolls back the transaction of the failAt-th batch after all
// its work is done, as a crash just before COMMIT would.
type failingStore struct {
	*store.DB
	failAt, txs int
}

var errCrash = errors.New("simulated crash before commit")

func (s *failingStore) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.DB.InTx(ctx, func(ctx context.Context) error {
		if err := fn(ctx); err != nil {
			return err
		}
		if s.txs++; s.txs == s.failAt {
			return errCrash
		}
		return nil
	})
}

// TestResumeAfterAFailedBatch runs with one writer and with three: on
// PostgreSQL three transactions are then in flight when the third batch
// fails, and the ones after it must not commit, or --resume would skip it.
func TestResumeAfterAFailedBatch(t *testing.T) {
	path := mixedFile(t, resumeRows)
	for _, b := range testdb.Backends() {
		for _, writers := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/writers=%d", b.Name, writers), func(t *testing.T) {
				t.Parallel()
				testResumeAfterAFailedBatch(t, b.Database(t), path, writers)
			})
		}
	}
}

const resumeRows = 2000

func testResumeAfterAFailedBatch(t *testing.T, database, path string, writers int) {
	const n = resumeRows
	db, raw := openDB(t, database), rawDB(t, database)
	opt := importer.Options{Path: path, BatchSize: 300, Writers: writers, Rejects: filepath.Join(t.TempDir(), "rejects.jsonl")}

	if _, err := importer.Run(t.Context(), db, importer.Options{Path: path, Resume: true, Rejects: opt.Rejects}); err == nil ||
		!strings.Contains(err.Error(), "no import of") {
		t.Errorf("resuming a file never imported: %v", err)
	}
	// Transaction 1 records the run; 2, 3, 4 are batches: the third
	// batch fails after writing its rejects.
	_, err := importer.Run(t.Context(), &failingStore{DB: db, failAt: 4}, opt)
	if !errors.Is(err, errCrash) {
		t.Fatalf("Run = %v, want the simulated crash", err)
	}
	if got := countTables(t, raw); got.Users != 2*300*13/mixedCycle || got.Events != 0 {
		t.Errorf("after the crash: %+v, want two batches' accounts and no event", got)
	}

	resume := opt
	resume.Resume = true
	sum := run(t, db, resume)
	if sum.ReadNow != n-2*300 {
		t.Errorf("the resumed run read %d rows itself, want the %d after the two committed batches", sum.ReadNow, n-2*300)
	}
	if !reflect.DeepEqual(sum.Counts, mixedCounts(n)) || !sum.Resumed {
		t.Errorf("resumed run counts\n got %+v\nwant %+v (the whole file's, counted once)", sum.Counts, mixedCounts(n))
	}
	checkMixedRejects(t, opt.Rejects, n)
	cycles := n / mixedCycle
	want := tableCounts{Users: 13 * cycles, Passwords: 10 * cycles, Passkeys: 6 * cycles, Events: 1, Imports: 1}
	if got := countTables(t, raw); got != want {
		t.Errorf("tables %+v, want %+v", got, want)
	}

	sum = run(t, db, resume)
	if !sum.AlreadyDone || !reflect.DeepEqual(sum.Counts, mixedCounts(n)) {
		t.Errorf("resuming a finished import: %+v", sum)
	}
	if _, err := importer.Run(t.Context(), db, importer.Options{Path: path, Resume: true, DryRun: true}); err == nil {
		t.Error("--dry-run --resume was accepted")
	}
}

func TestImportCSVWithPasskeys(t *testing.T) {
	pk := passkey(3, randBytes(16))
	pks, err := json.Marshal([]userfile.Passkey{pk})
	if err != nil {
		t.Fatal(err)
	}
	text := "email,external_id,name,password_hash,passkeys\n" +
		"ada@example.com,1,\"Lovelace, Ada\"," + hashes.bcrypt + ",\"" + strings.ReplaceAll(string(pks), `"`, `""`) + "\"\n" +
		"bob@example.com,2,Bob,,\n" +
		"not-an-email,3,,,\n"
	path := filepath.Join(t.TempDir(), "members.csv")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := openDB(t, database)
		sum := run(t, db, importer.Options{Path: path, Rejects: filepath.Join(t.TempDir(), "r.jsonl")})
		if c := sum.Counts; c.Read != 3 || c.Imported != 2 || c.Rejected != 1 || c.Passkeys != 1 || c.Reasons[importer.ReasonInvalidEmail] != 1 {
			t.Errorf("counts %+v", c)
		}
		u, err := db.FindUserByEmailKey(t.Context(), "ada@example.com")
		if err != nil || u.Name != "Lovelace, Ada" || !u.HasPassword || u.PasskeyCount != 1 {
			t.Errorf("ada: %+v, %v", u, err)
		}
		if r := readRejects(t, sum.Rejects); len(r) != 1 || r[0].Line != 4 {
			t.Errorf("rejects %+v, want line 4", r)
		}
	})
}

func TestNoRejectsLeaveNoRejectFile(t *testing.T) {
	path := writeRows(t, []line{{row: userfile.Row{Email: "ada@example.com"}}})
	rejects := path + ".rejects.jsonl"
	if err := os.WriteFile(rejects, []byte("{\"line\":1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := openDB(t, "sqlite:"+testdb.SQLitePath(t))
	if sum := run(t, db, importer.Options{Path: path}); sum.Rejects != "" {
		t.Errorf("Rejects = %q", sum.Rejects)
	}
	if _, err := os.Stat(rejects); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an earlier run's reject file is still there: %v", err)
	}
}

// After a run that imported rows, PostgreSQL's planner has statistics of
// the tables it filled: without them a large import left the export's page
// queries estimated at twenty times their rows, each starting parallel
// workers (docs/benchmarks.md).
func TestARunLeavesThePlannerStatistics(t *testing.T) {
	path := mixedFile(t, 40)
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		if strings.HasPrefix(database, "sqlite:") {
			t.Skip("SQLite: keyshift relies on no planner statistics")
		}
		db, raw := openDB(t, database), rawDB(t, database)
		analyzed := func() int {
			var n int
			if err := raw.QueryRowContext(t.Context(), `SELECT count(DISTINCT tablename) FROM pg_stats
				WHERE schemaname = current_schema() AND tablename IN ('users', 'credentials')`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := analyzed(); n != 0 {
			t.Fatalf("%d tables have statistics before the import", n)
		}
		run(t, db, importer.Options{Path: path, Rejects: filepath.Join(t.TempDir(), "rejects.jsonl")})
		if n := analyzed(); n != 2 {
			t.Errorf("after the import %d of users and credentials have statistics, want both", n)
		}
	})
}
