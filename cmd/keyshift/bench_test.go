package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/session"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestBenchMeasuresEveryScenario runs `keyshift bench` briefly on a fresh
// SQLite file and checks that each scenario produced a rate without errors.
func TestBenchMeasuresEveryScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real Argon2id at production cost")
	}
	t.Parallel()
	// Bounded only against a hang: a loaded 2-core machine needs well over
	// the 30 s of runBounded for every scenario plus the 200-sign-in burst
	// at production Argon2id cost.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	r := runCmd(t, ctx, map[string]string{}, "bench", "--duration", "300ms", "--concurrency", "4")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, scenario := range []string{"argon2id verify, bare", "password sign-in, HTTP", "session validation, HTTP", "forward-auth verify, HTTP",
		"passkey verify, bare go-webauthn", "passkey sign-in, HTTP"} {
		row := regexp.MustCompile(regexp.QuoteMeta(scenario) + `\s+\d+\s+(\d+)\s+\S+\s+\S+\s+(\d+)`).FindStringSubmatch(r.stdout)
		if row == nil || row[1] == "0" || row[2] != "0" {
			t.Errorf("scenario %q: no rate or errors in\n%s", scenario, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "200 concurrent password sign-ins") || !strings.Contains(r.stdout, "MiB peak") {
		t.Errorf("no burst figures in\n%s", r.stdout)
	}
}

func TestBenchGenUsersWritesTheFile(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "members.jsonl")
	r := runCmd(t, context.Background(), nil, "bench", "gen-users", "--count", "300", "--out", out, "--seed", "9")
	if r.code != 0 || !strings.Contains(r.stderr, "300 members to "+out) {
		t.Fatalf("gen-users: code %d, stderr %q", r.code, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(readRows(t, string(b))); got != 300 {
		t.Errorf("%d rows, want 300", got)
	}
	if r := runCmd(t, context.Background(), nil, "bench", "gen-users", "--count", "3"); r.code != 2 {
		t.Errorf("gen-users without --out: code %d", r.code)
	}
}

// TestBenchImportMeasuresTheRealCommands builds keyshift and runs `bench
// import` on a small generated file: the import and the export run as
// child processes of the built binary, and each reports a rate and a peak
// memory.
func TestBenchImportMeasuresTheRealCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the keyshift binary")
	}
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build keyshift with")
	}
	bin := filepath.Join(t.TempDir(), "keyshift")
	if out, err := exec.CommandContext(t.Context(), goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	r := runCmd(t, t.Context(), nil, "bench", "import", "--count", "500", "--bin", bin)
	if r.code != 0 {
		t.Fatalf("bench import: code %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, step := range []string{"import", "export"} {
		m := regexp.MustCompile(`sqlite\s+` + step + `\s+500\s+\S+\s+(\d+)\s+(\d+)`).FindStringSubmatch(r.stdout)
		if m == nil || m[1] == "0" || m[2] == "0" {
			t.Errorf("no rate or memory for the %s step in\n%s", step, r.stdout)
		}
	}
}

// TestBenchSeedSessionsAddsLiveSessionsOfBallastMembers: seed-sessions
// adds exactly the sessions asked for, at most the cap per member, live
// (not expired, just seen), and a second run adds members of its own.
func TestBenchSeedSessionsAddsLiveSessionsOfBallastMembers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		for range 2 {
			r := runCmd(t, t.Context(), map[string]string{}, "bench", "seed-sessions", "--database", database, "--count", "120")
			if r.code != 0 || !strings.Contains(r.stderr, "120 sessions of 3 ballast members") {
				t.Fatalf("code %d\n%s", r.code, r.stderr)
			}
		}
		raw := testdb.Raw(t, database)
		var sessions, members, most int
		if err := raw.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT user_id) FROM sessions`).Scan(&sessions, &members); err != nil {
			t.Fatal(err)
		}
		if err := raw.QueryRow(`SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM sessions GROUP BY user_id) per`).Scan(&most); err != nil {
			t.Fatal(err)
		}
		if sessions != 240 || members != 6 || most != session.MaxSessions {
			t.Errorf("%d sessions of %d members, at most %d each; want 240 of 6, at most %d", sessions, members, most, session.MaxSessions)
		}
		r := runCmd(t, t.Context(), map[string]string{}, "bench", "seed-sessions", "--count", "5")
		if r.code == 0 || !strings.Contains(r.stderr, "--database") {
			t.Errorf("without --database: code %d, %s", r.code, r.stderr)
		}
	})
}
