package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/server/benchrun"
)

// benchCmd runs keyshift in this process against a fresh database and
// measures it over loopback HTTP, as docs/benchmarks.md reports.
func benchCmd(ctx context.Context, e *cli.Env, args []string) error {
	if len(args) > 0 {
		for _, c := range benchCommands {
			if c.Name == args[0] {
				return c.Run(ctx, e, args[1:])
			}
		}
	}
	fs := cli.NewFlagSet(e, "bench", "bench [--database sqlite:PATH|postgres://…] [--duration 5s] [--concurrency 32]\n"+
		"       keyshift bench --target URL [--config FILE] [--concurrency 1,8,32] [--duration 10s] [--warmup 2s] [--scenarios …] [--members N] [--server-pid PID] [--postgres-pid PID] [--spread-ips] [--import=false] [--json]\n"+
		"       keyshift bench ceiling [--listen ADDR] [--origin URL] [--members N] [--seed S]\n"+
		"       keyshift bench gen-users --count N --out FILE [--seed S]\n       keyshift bench import [--count N] [--postgres URL]\n       keyshift bench chart --out FILE.svg LABEL=RESULTS.json …")
	database := fs.String("database", "", "database to measure; default a fresh SQLite file in a temporary directory. It must be empty or a scratch database: bench creates accounts")
	duration := fs.Duration("duration", 5*time.Second, "how long each timed scenario runs")
	concurrency := fs.String("concurrency", "32", "concurrent clients for session validation and passkey sign-in; with --target, a comma-separated list, each measured")
	var t targetFlags
	t.register(fs)
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	concs, err := parseConcurrencies(*concurrency)
	if err != nil {
		return err
	}
	if t.target != "" {
		if *database != "" {
			return fmt.Errorf("--database is for the in-process bench; with --target, members go into the database of --config and KEYSHIFT_DATABASE")
		}
		return benchTargetCmd(ctx, e, t, concs, *duration)
	}
	in, err := benchrun.Start(ctx, *database)
	if err != nil {
		return err
	}
	defer in.Close()
	return in.Run(ctx, e.Stdout, *duration, slices.Max(concs))
}
