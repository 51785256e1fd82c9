package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/bench"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/importer"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/userfile"
)

// targetFlags are bench's flags for measuring a keyshift that runs in
// another process (--target): the only honest measure on a small machine,
// where a load client in the server's process takes the server's CPU.
type targetFlags struct {
	target      string
	config      string
	scenarios   string
	members     int
	seed        uint64
	warmup      time.Duration
	serverPID   int
	postgresPID int
	spreadIPs   bool
	json        bool
	// noImport skips the import: the members are there already, or the
	// target is `keyshift bench ceiling`, which has no database.
	noImport bool
}

func (t *targetFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.target, "target", "", "the origin of a running keyshift to measure from this process (`URL`, e.g. http://localhost:8080)")
	fs.StringVar(&t.config, "config", "", "with --target: the server's YAML configuration `file` (KEYSHIFT_* variables override it); its database receives the generated members")
	fs.StringVar(&t.scenarios, "scenarios", strings.Join(bench.TargetScenarioNames, ","), "with --target: which scenarios to run, comma-separated: "+strings.Join(bench.TargetScenarioNames, ", "))
	fs.IntVar(&t.members, "members", 256, "with --target: how many generated members to import and use")
	fs.Uint64Var(&t.seed, "seed", 1, "with --target: the seed of the generated members (bench gen-users); the same seed imports nothing new")
	fs.DurationVar(&t.warmup, "warmup", 2*time.Second, "with --target: load before each measured run, not measured")
	fs.IntVar(&t.serverPID, "server-pid", 0, "with --target: keyshift's process id, to report its CPU time per operation from /proc")
	fs.IntVar(&t.postgresPID, "postgres-pid", 0, "with --target: the PostgreSQL postmaster's process id; its CPU and its backends' is reported per operation")
	fs.BoolVar(&t.spreadIPs, "spread-ips", false, "with --target: send each request as from one of 4,096 addresses (X-Forwarded-For, 198.18.0.0/20); the server must trust this machine as a proxy (trusted_proxies), or per-IP throttles answer 429")
	fs.BoolVar(&t.json, "json", false, "with --target: print the results as JSON")
	fs.BoolFunc("import", "with --target: import the generated members into the server's database first (default true; =false when they are there already, or against keyshift bench ceiling)", func(v string) error {
		b, err := strconv.ParseBool(v)
		t.noImport = !b
		return err
	})
}

// parseConcurrencies reads "1,8,32".
func parseConcurrencies(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return nil, fmt.Errorf("--concurrency: %q is not a number of clients from 1 to 4096", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// benchTargetCmd imports generated members into the target's database,
// then measures each scenario at each concurrency against the running
// server over HTTP, and reports throughput, latency and — given the
// server's process ids — its CPU time per operation.
func benchTargetCmd(ctx context.Context, e *cli.Env, tf targetFlags, concs []int, d time.Duration) error {
	names, err := bench.PickScenarios(tf.scenarios)
	if err != nil {
		return err
	}
	if tf.members < 1 {
		return fmt.Errorf("--members must be at least 1")
	}
	cfg, err := config.Load(tf.config, e.Getenv)
	if err != nil {
		return err
	}
	if strings.TrimRight(tf.target, "/") != cfg.Origin {
		fmt.Fprintf(e.Stderr, "keyshift bench: the target %s is not the configured origin %s: passkeys are bound to the origin, and the server refuses other hosts\n", tf.target, cfg.Origin)
	}
	rows, err := bench.GenMembers(tf.members, tf.seed)
	if err != nil {
		return err
	}
	if !tf.noImport {
		if err := importMembers(ctx, e, cfg.Database, tf.seed, rows); err != nil {
			return err
		}
	}
	scenarios, err := bench.TargetScenarios(ctx, bench.TargetOptions{URL: tf.target, Seed: tf.seed, SpreadIPs: tf.spreadIPs}, rows)
	if err != nil {
		return err
	}
	report := bench.TargetReport{Target: tf.target, Members: tf.members, CPUs: runtime.NumCPU(), Load: bench.LoadAverage()}
	probe := bench.Probe{ServerPID: tf.serverPID, PostgresPID: tf.postgresPID}
	for _, name := range names {
		for _, c := range concs {
			m, err := bench.Measure(ctx, scenarios[name], c, tf.warmup, d, probe, e.Stderr)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.Stderr, "%-60s\r", "")
			report.Results = append(report.Results, m)
		}
	}
	if tf.json {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	report.Print(e.Stdout)
	return nil
}

// importMembers imports rows into the database as `keyshift import` would.
// The generated members are the same for a seed, so a second run finds
// them unchanged.
func importMembers(ctx context.Context, e *cli.Env, database string, seed uint64, rows []userfile.Row) error {
	dir, err := os.MkdirTemp("", "keyshift-bench-target-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, fmt.Sprintf("members-%d.jsonl", seed))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w, err := userfile.NewWriter(f, userfile.FormatJSONL)
	if err == nil {
		for i := range rows {
			if err = w.Write(&rows[i]); err != nil {
				break
			}
		}
		if err == nil {
			err = w.Flush()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, database)
	if err != nil {
		return fmt.Errorf("the target's database: %w", err)
	}
	defer db.Close()
	sum, err := importer.Run(ctx, db, importer.Options{Path: path})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stderr, "keyshift bench: %d generated members: %d imported, %d there already\n", len(rows), sum.Counts.Imported, sum.Counts.Unchanged)
	return nil
}
