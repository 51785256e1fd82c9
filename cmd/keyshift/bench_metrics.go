package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/bench"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/telemetry"
)

// benchMetricsCmd seeds telemetry events (bench.SeedTelemetry: inserted,
// then folded as the servers fold them) and times the metrics document of
// the last 30 days, as GET /api/admin/metrics makes it (docs/benchmarks.md).
func benchMetricsCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "bench metrics", "bench metrics [--database sqlite:PATH|postgres://…] [--events N] [--runs N] [--seed S] [--seeded]")
	database := fs.String("database", "", "an EMPTY scratch database to seed; default a fresh SQLite file in a temporary directory")
	events := fs.Int("events", 1_000_000, "how many telemetry `events` to seed (the issue's figure: 10000000)")
	runs := fs.Int("runs", 20, "how many times to make the document")
	seed := fs.Uint64("seed", 1, "the same `seed` seeds the same events")
	// Seeding 10M events on SQLite takes the better part of an hour; the
	// timing wants a quiet machine. --seeded lets the two happen apart.
	seeded := fs.Bool("seeded", false, "time the document on a --database an earlier run seeded, without seeding again")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	if *events < 1 || *runs < 1 {
		return fmt.Errorf("--events and --runs must be at least 1")
	}
	if *seeded && *database == "" {
		return fmt.Errorf("--seeded needs the --database an earlier run seeded")
	}
	if *database == "" {
		dir, err := os.MkdirTemp("", "keyshift-bench-metrics-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*database = "sqlite:" + filepath.Join(dir, "bench.db")
	}
	db, err := store.Open(ctx, *database)
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now().UTC()
	var s bench.Seeded
	if !*seeded {
		fmt.Fprintf(e.Stderr, "seeding %d events over the last 30 days…\n", *events)
		if s, err = bench.SeedTelemetry(ctx, db, *events, *seed, now); err != nil {
			return err
		}
	}
	took := make([]time.Duration, 0, *runs)
	for range *runs {
		start := time.Now()
		d, err := telemetry.Figures(ctx, db, telemetry.Query{}, telemetry.DefaultPolicy, now)
		if err != nil {
			return err
		}
		if _, err := json.Marshal(d); err != nil {
			return err
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	if *seeded {
		fmt.Fprintf(e.Stdout, "database %s: seeded by an earlier run\n", db.Dialect())
	} else {
		fmt.Fprintf(e.Stdout, "database %s: %d events inserted in %v (%.0f/s), folded in %v (%.0f/s)\n", db.Dialect(), s.Events,
			s.Insert.Round(time.Millisecond), float64(s.Events)/s.Insert.Seconds(), s.Fold.Round(time.Millisecond), float64(s.Events)/s.Fold.Seconds())
	}
	fmt.Fprintf(e.Stdout, "metrics document, last 30 days, %d runs: median %v, p90 %v, max %v\n", *runs,
		took[len(took)/2].Round(100*time.Microsecond), took[len(took)*9/10].Round(100*time.Microsecond), took[len(took)-1].Round(100*time.Microsecond))
	return nil
}
