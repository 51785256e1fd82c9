package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/server"
	"github.com/keyshift/keyshift/internal/telemetry"
)

// reportCmd prints the rollout's figures: the metrics document of the
// admin API, as text or JSON. It folds what the servers have not folded
// yet first (taking the fold's lease for that moment), so it is current
// even with no server running.
func reportCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "report", "report [--config FILE] [--json] [--from T] [--to T] [--cohort C] [--tz ZONE]")
	cfgPath := cli.ConfigFlag(fs)
	asJSON := fs.Bool("json", false, "print the metrics document as JSON")
	from := fs.String("from", "", "start of the range, RFC 3339 (default: 30 days before --to)")
	to := fs.String("to", "", "end of the range, RFC 3339 (default: the end of this hour)")
	cohort := fs.String("cohort", "", "only this cohort: internal, beta, ramp, rest or unknown")
	tz := fs.String("tz", "", "time zone of the series' days, like Europe/Paris (default UTC)")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	params := map[string]string{"from": *from, "to": *to, "cohort": *cohort, "tz": *tz}
	q, err := telemetry.ParseQuery(func(k string) string { return params[k] })
	if err != nil {
		return err
	}
	cfg, db, err := cli.OpenCurrent(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	owner := fmt.Sprintf("cli/%d", os.Getpid())
	folder := telemetry.NewFolder(db, owner, time.Now, slog.New(slog.NewTextHandler(e.Stderr, nil)))
	if _, err := folder.Drain(ctx); err != nil {
		return fmt.Errorf("folding telemetry: %w", err)
	}
	if err := db.ReleaseTelemetryFold(ctx, owner); err != nil {
		return err
	}
	doc, err := telemetry.Figures(ctx, db, q, server.FigurePolicy(cfg), time.Now())
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	return doc.WriteText(e.Stdout)
}
