package main

import (
	"encoding/json"
	"net/netip"
	"os"
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
