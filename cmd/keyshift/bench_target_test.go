package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/bench"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestBenchTargetMeasuresARunningServer: bench --target imports its
// generated members into the server's database, then drives each scenario
// over HTTP at each concurrency and reports rates, percentiles and the
// server's CPU per operation; run again with the same seed it imports
// nothing new. (Here the server runs in the test's process, so the CPU
// figure is only checked for being there; docs/benchmarks.md measures a
// server in a process of its own.)
func TestBenchTargetMeasuresARunningServer(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		site := servertest.Start(t, database, func(c *config.Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		})
		env := map[string]string{"KEYSHIFT_DATABASE": database, "KEYSHIFT_ORIGIN": site.URL, "KEYSHIFT_DEV": "1"}
		args := []string{"bench", "--target", site.URL, "--duration", "300ms", "--warmup", "50ms", "--members", "60",
			"--concurrency", "1,3", "--server-pid", strconv.Itoa(os.Getpid()), "--spread-ips", "--json"}
		for run := range 2 {
			r := runCmd(t, t.Context(), env, args...)
			if r.code != 0 {
				t.Fatalf("run %d: exit %d\n%s", run, r.code, r.stderr)
			}
			var rep struct {
				Members int                 `json:"members"`
				Results []bench.Measurement `json:"results"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, r.stdout)
			}
			if rep.Members != 60 || len(rep.Results) != 8 {
				t.Fatalf("%d members, %d results, want 60 and 4 scenarios × 2 concurrencies", rep.Members, len(rep.Results))
			}
			for _, m := range rep.Results {
				if m.Ops == 0 || m.Errors != 0 || m.Rate <= 0 || m.P99Ms < m.P50Ms || m.ServerCPUMs == nil || *m.ServerCPUMs <= 0 || m.PostgresCPUMs != nil ||
					m.ServerPeakRSSMiB == nil || *m.ServerPeakRSSMiB <= 0 {
					t.Errorf("run %d: %+v", run, m)
				}
			}
			if want := map[int]string{0: "60 imported", 1: "60 there already"}[run]; !strings.Contains(r.stderr, want) {
				t.Errorf("run %d: stderr lacks %q:\n%s", run, want, r.stderr)
			}
		}
	})
}

// TestBenchCeilingAnswersEveryTargetScenario: the floor server (bench
// ceiling) serves the generated members, so bench --target --import=false
// runs each scenario against it without an error — and, with no import,
// never opens the configured database.
func TestBenchCeilingAnswersEveryTargetScenario(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	rows, err := bench.GenMembers(40, 3)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := bench.NewCeilingServerFor(origin, rows)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	unused := filepath.Join(t.TempDir(), "never.db")
	env := map[string]string{"KEYSHIFT_DATABASE": "sqlite:" + unused, "KEYSHIFT_ORIGIN": origin, "KEYSHIFT_DEV": "1"}
	r := runCmd(t, t.Context(), env, "bench", "--target", origin, "--import=false", "--members", "40", "--seed", "3",
		"--scenarios", "passkey,session,password", "--duration", "300ms", "--warmup", "50ms", "--concurrency", "2", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var rep struct {
		Results []bench.Measurement `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if len(rep.Results) != 3 {
		t.Fatalf("%d results, want 3 scenarios", len(rep.Results))
	}
	for _, m := range rep.Results {
		if m.Ops == 0 || m.Errors != 0 {
			t.Errorf("%s: %d ops, %d errors", m.Scenario, m.Ops, m.Errors)
		}
	}
	if strings.Contains(r.stderr, "imported") {
		t.Errorf("--import=false imported:\n%s", r.stderr)
	}
	if _, err := os.Stat(unused); !os.IsNotExist(err) {
		t.Errorf("the configured database was opened (%v)", err)
	}

	// A wrong password and an unknown session are refused, not waved through.
	tg := bench.NewTarget(origin)
	if err := tg.Signin(t.Context(), rows[0].Email, "not the password"); err == nil {
		t.Error("a wrong password signed in")
	}
	if err := tg.Session(t.Context(), "ks_session=forged"); err == nil {
		t.Error("a forged session cookie passed")
	}
}
