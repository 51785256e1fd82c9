package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/testdb"
)

// TestImportKilledThenResumed kills a real `keyshift import` process with
// SIGKILL once it has committed a batch, then runs `keyshift import
// --resume` and checks that every row of the file is there exactly once:
// the batch the kill interrupted is rolled back by the database and done
// again, and nothing committed is done twice.
func TestImportKilledThenResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the keyshift binary")
	}
	bin := buildKeyshift(t)
	const rows, badEvery = 10_000, 50
	good := rows - rows/badEvery
	path := filepath.Join(t.TempDir(), "members.jsonl")
	writeSimpleRows(t, path, rows, badEvery)

	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		env := []string{"KEYSHIFT_DATABASE=" + database}
		rejects := filepath.Join(t.TempDir(), "rejects.jsonl")
		cmd := exec.Command(bin, "import", path, "--batch-size", "50", "--quiet", "--rejects", rejects)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		raw := openRaw(t, database)
		deadline := time.Now().Add(2 * time.Minute)
		var line int
		for line < 150 { // three batches
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("no batch committed in 2 minutes:\n%s", out.String())
			}
			// Errors are expected until the migrations have made the table.
			raw.QueryRow(`SELECT committed_line FROM imports`).Scan(&line)
			time.Sleep(2 * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil { // the process this test started
			t.Fatal(err)
		}
		cmd.Wait()

		// One statement, so one snapshot: the run's place and the accounts
		// must agree in every snapshot. Two queries could each see a
		// different one, since PostgreSQL may still commit a transaction
		// whose COMMIT it received just before the kill.
		var status string
		var imported, users int
		var counts string
		if err := raw.QueryRow(`SELECT status, committed_line, counts, (SELECT COUNT(*) FROM users) FROM imports`).Scan(
			&status, &line, &counts, &users); err != nil {
			t.Fatal(err)
		}
		imported = countOf(t, counts, "imported")
		if status != "running" || line >= rows {
			t.Fatalf("the import finished (status %s, line %d) before the kill: make the file bigger", status, line)
		}
		if users != imported {
			t.Errorf("after the kill %d accounts but the committed place in the file says %d imported", users, imported)
		}
		t.Logf("killed after line %d with %d accounts", line, users)

		resume := exec.Command(bin, "import", path, "--resume", "--quiet", "--rejects", rejects)
		resume.Env = env
		if b, err := resume.CombinedOutput(); err != nil {
			t.Fatalf("--resume: %v\n%s", err, b)
		}
		var distinct int
		if err := raw.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT external_id) FROM users`).Scan(&users, &distinct); err != nil {
			t.Fatal(err)
		}
		if err := raw.QueryRow(`SELECT status, counts FROM imports`).Scan(&status, &counts); err != nil {
			t.Fatal(err)
		}
		if users != good || distinct != good || status != "done" {
			t.Errorf("after --resume: %d accounts, %d external ids, status %s; want %d of each, done", users, distinct, status, good)
		}
		if c := countOf(t, counts, "imported"); c != good || countOf(t, counts, "unchanged") != 0 || countOf(t, counts, "read") != rows {
			t.Errorf("counts %s: want %d read, %d imported and none unchanged (no row done twice)", counts, rows, good)
		}
		if n := countLines(t, rejects); n != rows/badEvery {
			t.Errorf("reject file has %d lines, want %d", n, rows/badEvery)
		}
	})
}

func buildKeyshift(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build keyshift with")
	}
	bin := filepath.Join(t.TempDir(), "keyshift")
	build := exec.CommandContext(t.Context(), goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// writeSimpleRows writes n members with an MD5 hash each; every badEvery-th
// row has an invalid email.
func writeSimpleRows(t *testing.T, path string, n, badEvery int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range n {
		email := fmt.Sprintf("member%d@example.com", i)
		if i%badEvery == badEvery-1 {
			email = "not an email"
		}
		fmt.Fprintf(w, `{"email":%q,"external_id":"ext-%d","password_hash":"5f4dcc3b5aa765d61d8327deb882cf99"}`+"\n", email, i)
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		t.Fatal(err)
	}
}

// openRaw opens database with database/sql, to read the tables directly.
func openRaw(t *testing.T, database string) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", database
	if p, ok := strings.CutPrefix(database, "sqlite:"); ok {
		driver, dsn = "sqlite", p
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func countOf(t *testing.T, counts, name string) int {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(counts), &m); err != nil {
		t.Fatal(err)
	}
	n, _ := m[name].(float64)
	return int(n)
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

func TestImportCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "members.jsonl")
	rows := `{"email":"ada@example.com","external_id":"1","password_hash":"$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"}
{"email":"nobody"}
{"email":"fb@example.com","password_hash":"lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==","password_salt":"42xEC+ixf3L2lw==","password_format":"firebase"}
`
	if err := os.WriteFile(file, []byte(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	firebase := []string{"--firebase-signer-key", "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
		"--firebase-salt-separator", "Bw==", "--firebase-rounds", "8", "--firebase-mem-cost", "14"}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		stdout   []string
		stderr   string
		noStderr string // what stderr must not say
	}{
		{"prints its help", []string{"--help"}, 0, []string{"Usage: keyshift import FILE", "-resume", "-firebase-mem-cost"}, "", ""},
		{"wants a file", nil, 2, nil, "want one FILE, got 0", ""},
		{"wants one file", []string{file, file}, 2, nil, "want one FILE, got 2", ""},
		{"wants all four Firebase parameters", []string{file, "--firebase-rounds", "8"}, 1, nil, "needs all four", ""},
		{"refuses a batch size of 0", []string{file, "--batch-size", "0"}, 1, nil, "--batch-size 0", ""},
		{"refuses 0 writers", []string{file, "--writers", "0"}, 1, nil, "--writers 0: want 1 to 16", ""},
		{"refuses 17 writers", []string{file, "--writers", "17"}, 1, nil, "--writers 17: want 1 to 16", ""},
		{"fails on a file that is not there", []string{filepath.Join(dir, "nope.jsonl")}, 1, nil, "no such file", ""},
		{"succeeds with flags after the file though a row is rejected, and counts Firebase hashes",
			append([]string{file, "--quiet", "--rejects", filepath.Join(dir, "r.jsonl")}, firebase...), 0,
			[]string{"imported  2", "rejected  1", "invalid_email", "firebase-scrypt", "rejected rows are in " + filepath.Join(dir, "r.jsonl")}, "", "rollout:"},
		{"tells the operator the rollout's phase and how to change it", append([]string{file}, firebase...), 0,
			[]string{"imported  2"}, "rollout: phase existing-users at 100 %. Change it with `keyshift rollout set PHASE` and `keyshift rollout percent N`", ""},
		{"reports a dry run", []string{"--dry-run", file, "--quiet"}, 0,
			[]string{"dry run of", "would import  1", "invalid_hash  "}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"KEYSHIFT_DATABASE": "sqlite:" + testdb.SQLitePath(t)}
			if tt.name == "reports a dry run" {
				// A dry run wants a database at the current schema.
				if r := runCmd(t, t.Context(), env, "migrate"); r.code != 0 {
					t.Fatalf("migrate: %s", r.stderr)
				}
			}
			r := runCmd(t, t.Context(), env, append([]string{"import"}, tt.args...)...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.stderr) || tt.noStderr != "" && strings.Contains(r.stderr, tt.noStderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q (not %q)\nstdout: %s", r.code, r.stderr, tt.wantCode, tt.stderr, tt.noStderr, r.stdout)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
		})
	}
}
