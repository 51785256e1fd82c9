package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/telemetry"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestReportAndPrune: `keyshift report` folds what no server folded and
// prints the same figures as JSON and as text; `keyshift admin prune`
// drops telemetry older than the days it keeps.
func TestReportAndPrune(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		env := map[string]string{"KEYSHIFT_DATABASE": database}
		db, err := store.Open(ctx, database)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		now := time.Now().UTC()
		for _, e := range []telemetry.Event{
			{At: now, Kind: telemetry.KindSignin, Method: "passkey_modal", Outcome: "success", Cohort: "ramp", UserID: "u1", HasPasskey: true, ClientMs: 700},
			{At: now, Kind: telemetry.KindSignin, Method: "password", Outcome: "failure", Cohort: "unknown"},
			{At: now, Kind: telemetry.KindSignup, Method: "password", Cohort: "ramp", UserID: "u2"},
			{At: now.Add(-100 * 24 * time.Hour), Kind: telemetry.KindSignin, Method: "password", Outcome: "success", Cohort: "ramp", UserID: "u2"},
		} {
			if err := db.AppendTelemetry(ctx, &e); err != nil {
				t.Fatal(err)
			}
		}
		var d telemetry.Document
		deadline := time.Now().Add(20 * time.Second)
		for { // on PostgreSQL the report folds only what older transactions left final
			r := runCmd(t, ctx, env, "report", "--json")
			if r.code != 0 {
				t.Fatalf("report --json: code %d, stderr %q", r.code, r.stderr)
			}
			if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
				t.Fatalf("report --json printed no document: %v\n%s", err, r.stdout)
			}
			if len(d.Signins) == 2 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(d.Signins) != 2 || d.Signups != 1 || d.EnrollmentRate.ActiveUsers != 2 || d.EnrollmentRate.ActiveWithPasskey != 1 {
			t.Fatalf("report: sign-ins %+v, sign-ups %d, enrollment %+v", d.Signins, d.Signups, d.EnrollmentRate)
		}
		r := runCmd(t, ctx, env, "report", "--cohort", "ramp")
		for _, want := range []string{"passkey_modal", "100.0 %", "750", "(ramp)"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("the text report lacks %q:\n%s", want, r.stdout)
			}
		}
		if r := runCmd(t, ctx, env, "report", "--cohort", "staff"); r.code == 0 || !strings.Contains(r.stderr, "cohort") {
			t.Errorf("an unknown cohort: code %d, stderr %q", r.code, r.stderr)
		}
		r = runCmd(t, ctx, env, "admin", "prune", "--days", "30")
		if r.code != 0 || !strings.Contains(r.stdout, "pruned 8 telemetry rows") {
			t.Fatalf("prune: code %d, %q %q", r.code, r.stdout, r.stderr)
		}
	})
}

// TestBenchMetricsRunsSmall: `keyshift bench metrics` seeds, folds and
// times the document (a small run; docs/benchmarks.md has the large one).
func TestBenchMetricsRunsSmall(t *testing.T) {
	t.Parallel()
	database := "sqlite:" + testdb.SQLitePath(t)
	r := runCmd(t, context.Background(), map[string]string{}, "bench", "metrics", "--events", "500", "--runs", "2",
		"--database", database)
	if r.code != 0 || !strings.Contains(r.stdout, "500 events inserted") || !strings.Contains(r.stdout, "median") {
		t.Fatalf("code %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// --seeded times the same database again without adding events.
	r = runCmd(t, context.Background(), map[string]string{}, "bench", "metrics", "--seeded", "--runs", "2", "--database", database)
	if r.code != 0 || !strings.Contains(r.stdout, "seeded by an earlier run") || !strings.Contains(r.stdout, "median") {
		t.Fatalf("--seeded: code %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var n int
	if err := testdb.Raw(t, database).QueryRow(`SELECT count(*) FROM telemetry_events`).Scan(&n); err != nil || n != 500 {
		t.Errorf("after --seeded the database holds %d events (%v); want the 500 seeded once", n, err)
	}
	r = runCmd(t, context.Background(), map[string]string{}, "bench", "metrics", "--seeded")
	if r.code == 0 || !strings.Contains(r.stderr, "--seeded needs the --database") {
		t.Errorf("--seeded without --database: code %d, stderr %q", r.code, r.stderr)
	}
}
