package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/bench"
)

// benchChartCmd draws the results of `bench --target --json` runs, one
// line per run, as the SVG chart in docs/benchmarks.md.
func benchChartCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "bench chart", "bench chart --out FILE.svg [--scenario 'passkey sign-in'] [--title T] [--subtitle S] LABEL=RESULTS.json …")
	out := fs.String("out", "", "write the SVG to `file`")
	scenario := fs.String("scenario", "passkey sign-in", "which scenario of the results to draw")
	title := fs.String("title", "", "the chart's title (default the scenario)")
	subtitle := fs.String("subtitle", "", "a line under the title: the machine and the command")
	var runs []string
	for len(args) > 0 && !strings.HasPrefix(args[len(args)-1], "-") && strings.Contains(args[len(args)-1], "=") {
		runs = append([]string{args[len(args)-1]}, runs...)
		args = args[:len(args)-1]
	}
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	if *out == "" || len(runs) == 0 {
		fmt.Fprintln(e.Stderr, "keyshift bench chart: --out FILE.svg and at least one LABEL=RESULTS.json are required")
		return cli.ErrUsage
	}
	var series []bench.ChartSeries
	for _, r := range runs {
		label, path, _ := strings.Cut(r, "=")
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var rep bench.TargetReport
		if err := json.Unmarshal(data, &rep); err != nil {
			return fmt.Errorf("%s is not the output of bench --target --json: %w", path, err)
		}
		s := bench.SeriesFrom(label, *scenario, rep.Results)
		if len(s.Points) == 0 {
			return fmt.Errorf("%s has no %q results", path, *scenario)
		}
		series = append(series, s)
	}
	if *title == "" {
		*title = *scenario
	}
	return os.WriteFile(*out, bench.Chart(*title, *subtitle, series), 0o644)
}
