package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/bench"
)

// benchCommands are the subcommands of `keyshift bench`; without one, bench
// measures sign-in and sessions.
var benchCommands = []cli.Command{
	{Name: "gen-users", Summary: "write a realistic import file of N members", Run: benchGenUsersCmd},
	{Name: "ceiling", Summary: "serve the floor of bench --target's scenarios: go-webauthn, Argon2id and a session map, nothing else", Run: benchCeilingCmd},
	{Name: "chart", Summary: "draw bench --target --json results as an SVG chart", Run: benchChartCmd},
	{Name: "import", Summary: "measure keyshift import and export of a generated file", Run: benchImportCmd},
	{Name: "metrics", Summary: "seed N telemetry events and time the admin API's metrics document", Run: benchMetricsCmd},
	{Name: "seed-sessions", Summary: "add N live sessions of ballast members to a scratch database", Run: benchSeedSessionsCmd},
}

// benchGenUsersCmd writes a generated import file (bench.GenUsers), for
// measuring `keyshift import` and for trying an import on a test site.
func benchGenUsersCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "bench gen-users", "bench gen-users --count N --out FILE [--seed S]")
	count := fs.Int("count", 1_000_000, "how many `members` to write")
	out := fs.String("out", "", "the JSON Lines `file` to write (required)")
	seed := fs.Uint64("seed", 1, "the same `seed` gives the same file")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	if *out == "" || *count < 0 {
		fmt.Fprintln(e.Stderr, "keyshift bench gen-users: --out FILE is required and --count must not be negative")
		fs.Usage()
		return cli.ErrUsage
	}
	start := time.Now()
	f, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".tmp-*")
	if err != nil {
		return err
	}
	sum, err := bench.GenUsers(ctx, f, *count, *seed)
	if err == nil {
		err = f.Close()
	} else {
		f.Close()
	}
	if err == nil {
		err = os.Rename(f.Name(), *out)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	formats := make([]string, 0, len(sum.Formats))
	for k, v := range sum.Formats {
		formats = append(formats, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(formats)
	fmt.Fprintf(e.Stderr, "keyshift bench gen-users: %d members to %s in %s: %d with a password (%s), %d with passkeys (%d passkeys); password of all: %q\n",
		sum.Members, *out, time.Since(start).Round(time.Millisecond), sum.Passwords, strings.Join(formats, ", "),
		sum.WithPasskeys, sum.Passkeys, bench.GenPassword)
	return nil
}
