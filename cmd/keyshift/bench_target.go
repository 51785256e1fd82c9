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
	"sync/atomic"
	"text/tabwriter"
	"time"

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
}

// targetScenarios are the scenarios --target knows, in the order they run.
var targetScenarios = []string{"passkey", "password", "session", "email"}

func (t *targetFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.target, "target", "", "the origin of a running keyshift to measure from this process (`URL`, e.g. http://localhost:8080)")
	fs.StringVar(&t.config, "config", "", "with --target: the server's YAML configuration `file` (KEYSHIFT_* variables override it); its database receives the generated members")
	fs.StringVar(&t.scenarios, "scenarios", strings.Join(targetScenarios, ","), "with --target: which scenarios to run, comma-separated: "+strings.Join(targetScenarios, ", "))
	fs.IntVar(&t.members, "members", 256, "with --target: how many generated members to import and use")
	fs.Uint64Var(&t.seed, "seed", 1, "with --target: the seed of the generated members (bench gen-users); the same seed imports nothing new")
	fs.DurationVar(&t.warmup, "warmup", 2*time.Second, "with --target: load before each measured run, not measured")
	fs.IntVar(&t.serverPID, "server-pid", 0, "with --target: keyshift's process id, to report its CPU time per operation from /proc")
	fs.IntVar(&t.postgresPID, "postgres-pid", 0, "with --target: the PostgreSQL postmaster's process id; its CPU and its backends' is reported per operation")
	fs.BoolVar(&t.spreadIPs, "spread-ips", false, "with --target: send each request as from one of 4,096 addresses (X-Forwarded-For, 198.18.0.0/20); the server must trust this machine as a proxy (trusted_proxies), or per-IP throttles answer 429")
	fs.BoolVar(&t.json, "json", false, "with --target: print the results as JSON")
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

// targetReport is what --json prints.
type targetReport struct {
	Target  string              `json:"target"`
	Members int                 `json:"members"`
	CPUs    int                 `json:"loadClientCpus"`
	Load    string              `json:"loadAverage"`
	Results []bench.Measurement `json:"results"`
}

// benchTargetCmd imports generated members into the target's database,
// then measures each scenario at each concurrency against the running
// server over HTTP, and reports throughput, latency and — given the
// server's process ids — its CPU time per operation.
func benchTargetCmd(ctx context.Context, e *env, tf targetFlags, concs []int, d time.Duration) error {
	names, err := pickScenarios(tf.scenarios)
	if err != nil {
		return err
	}
	if tf.members < 1 {
		return fmt.Errorf("--members must be at least 1")
	}
	cfg, err := config.Load(tf.config, e.getenv)
	if err != nil {
		return err
	}
	if strings.TrimRight(tf.target, "/") != cfg.Origin {
		fmt.Fprintf(e.stderr, "keyshift bench: the target %s is not the configured origin %s: passkeys are bound to the origin, and the server refuses other hosts\n", tf.target, cfg.Origin)
	}
	rows, err := bench.GenMembers(tf.members, tf.seed)
	if err != nil {
		return err
	}
	if err := importMembers(ctx, e, cfg.Database, tf.seed, rows); err != nil {
		return err
	}
	scenarios, err := targetScenarioOps(ctx, tf, rows)
	if err != nil {
		return err
	}
	report := targetReport{Target: tf.target, Members: tf.members, CPUs: runtime.NumCPU(), Load: bench.LoadAverage()}
	probe := bench.Probe{ServerPID: tf.serverPID, PostgresPID: tf.postgresPID}
	for _, name := range names {
		for _, c := range concs {
			m, err := bench.Measure(ctx, scenarios[name], c, tf.warmup, d, probe, e.stderr)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "%-60s\r", "")
			report.Results = append(report.Results, m)
		}
	}
	if tf.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	printTargetReport(e, report)
	return nil
}

func pickScenarios(list string) ([]string, error) {
	var out []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		known := false
		for _, k := range targetScenarios {
			known = known || k == n
		}
		if !known {
			return nil, fmt.Errorf("--scenarios: unknown scenario %q (known: %s)", n, strings.Join(targetScenarios, ", "))
		}
		out = append(out, n)
	}
	return out, nil
}

// importMembers imports rows into the database as `keyshift import` would.
// The generated members are the same for a seed, so a second run finds
// them unchanged.
func importMembers(ctx context.Context, e *env, database string, seed uint64, rows []userfile.Row) error {
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
	fmt.Fprintf(e.stderr, "keyshift bench: %d generated members: %d imported, %d there already\n", len(rows), sum.Counts.Imported, sum.Counts.Unchanged)
	return nil
}

// targetScenarioOps builds each scenario's operation over the generated
// members: passkey sign-in with their synced passkeys (begin + finish,
// returning browsers after the first), password sign-in of the members
// whose imported hash is keyshift's own Argon2id, session validation of
// one session, and email sign-in starts for their addresses.
func targetScenarioOps(ctx context.Context, tf targetFlags, rows []userfile.Row) (map[string]bench.Scenario, error) {
	base := bench.NewTarget(tf.target)
	var ipSeq atomic.Uint32
	client := func() *bench.Target {
		if !tf.spreadIPs {
			return base
		}
		n := ipSeq.Add(1) % 4096
		return base.From(fmt.Sprintf("198.18.%d.%d", n/256, n%256))
	}
	passkeys, err := bench.GenPasskeys(rows, tf.seed, tf.target)
	if err != nil {
		return nil, err
	}
	var passwords, emails []string
	for _, r := range rows {
		emails = append(emails, r.Email)
		if r.PasswordFormat == "argon2id" {
			passwords = append(passwords, r.Email)
		}
	}
	var next atomic.Uint64
	pick := func(n int) int { return int(next.Add(1) % uint64(n)) }
	out := map[string]bench.Scenario{
		"email": {Name: "email sign-in start", Op: func(ctx context.Context) error {
			return client().EmailStart(ctx, emails[pick(len(emails))])
		}},
	}
	if len(passkeys) > 0 {
		out["passkey"] = bench.Scenario{Name: "passkey sign-in", Op: func(ctx context.Context) error {
			return client().PasskeySignin(ctx, passkeys[pick(len(passkeys))])
		}}
	} else {
		out["passkey"] = noScenario("passkey sign-in", "no generated member has a synced passkey: raise --members")
	}
	if len(passwords) > 1 {
		// The session scenario's member is kept out of the password scenario:
		// thousands of sign-ins of one member would trim its oldest sessions
		// (the per-member cap), the checked one among them.
		checked, signers := passwords[0], passwords[1:]
		out["password"] = bench.Scenario{Name: "password sign-in", Op: func(ctx context.Context) error {
			return client().Signin(ctx, signers[pick(len(signers))], bench.GenPassword)
		}}
		cookie, err := client().SigninCookie(ctx, checked, bench.GenPassword)
		if err != nil {
			return nil, fmt.Errorf("a session for the session scenario: %w", err)
		}
		out["session"] = bench.Scenario{Name: "session check", Op: func(ctx context.Context) error {
			return base.Session(ctx, cookie)
		}}
	} else {
		out["password"] = noScenario("password sign-in", "fewer than two generated members have an Argon2id password: raise --members")
		out["session"] = noScenario("session check", "fewer than two generated members have an Argon2id password to sign in with: raise --members")
	}
	return out, nil
}

// noScenario fails every call with why.
func noScenario(name, why string) bench.Scenario {
	return bench.Scenario{Name: name, Op: func(context.Context) error { return fmt.Errorf("%s", why) }}
}

func printTargetReport(e *env, r targetReport) {
	fmt.Fprintf(e.stdout, "keyshift bench --target %s: %d members, load client on %d CPUs, load average %s\n\n", r.Target, r.Members, r.CPUs, r.Load)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tclients\tops/s\tp50 ms\tp95 ms\tp99 ms\terrors\t429s\tserver CPU ms/op\tPostgreSQL CPU ms/op\t")
	opt := func(v *float64) string {
		if v == nil {
			return "–"
		}
		return strconv.FormatFloat(*v, 'f', 3, 64)
	}
	for _, m := range r.Results {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.1f\t%.1f\t%.1f\t%d\t%d\t%s\t%s\t\n", m.Scenario, m.Concurrency, m.Rate, m.P50Ms, m.P95Ms, m.P99Ms,
			m.Errors-m.Throttled, m.Throttled, opt(m.ServerCPUMs), opt(m.PostgresCPUMs))
	}
	tw.Flush()
}
