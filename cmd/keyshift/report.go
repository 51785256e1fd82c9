package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/keyshift/keyshift/internal/server"
	"github.com/keyshift/keyshift/internal/telemetry"
)

// reportCmd prints the rollout's figures: the metrics document of the
// admin API, as text or JSON. It folds what the servers have not folded
// yet first (taking the fold's lease for that moment), so it is current
// even with no server running.
func reportCmd(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "report", "report [--config FILE] [--json] [--from T] [--to T] [--cohort C] [--tz ZONE]")
	cfgPath := fs.String("config", "", "YAML configuration `file` (KEYSHIFT_* variables override it)")
	asJSON := fs.Bool("json", false, "print the metrics document as JSON")
	from := fs.String("from", "", "start of the range, RFC 3339 (default: 30 days before --to)")
	to := fs.String("to", "", "end of the range, RFC 3339 (default: the end of this hour)")
	cohort := fs.String("cohort", "", "only this cohort: internal, beta, ramp, rest or unknown")
	tz := fs.String("tz", "", "time zone of the series' days, like Europe/Paris (default UTC)")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	params := map[string]string{"from": *from, "to": *to, "cohort": *cohort, "tz": *tz}
	q, err := telemetry.ParseQuery(func(k string) string { return params[k] })
	if err != nil {
		return err
	}
	cfg, db, err := openCurrent(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	owner := fmt.Sprintf("cli/%d", os.Getpid())
	folder := telemetry.NewFolder(db, owner, time.Now, slog.New(slog.NewTextHandler(e.stderr, nil)))
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
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	return doc.WriteText(e.stdout)
}

// adminPruneCmd deletes telemetry older than the retention (the server
// does so by itself every few minutes; this is for a database no server
// runs on, or a shorter retention once).
func adminPruneCmd(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "admin prune", "admin prune [--config FILE] [--days N]")
	cfgPath := fs.String("config", "", "YAML configuration `file` (KEYSHIFT_* variables override it)")
	days := fs.Int("days", 0, "keep this many `days` (default: telemetry.retention_days)")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	cfg, db, err := openCurrent(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	keep := cfg.Telemetry.RetentionDays
	if *days != 0 {
		keep = *days
	}
	if keep < 1 {
		return fmt.Errorf("--days must be at least 1")
	}
	before := time.Now().Add(-time.Duration(keep) * 24 * time.Hour)
	n, err := db.PruneTelemetry(ctx, before)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "pruned %d telemetry rows from before %s (the audit log is kept whole)\n", n, before.UTC().Truncate(24*time.Hour).Format(time.DateOnly))
	return nil
}
