package admincmd

import (
	"context"
	"fmt"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
)

// adminPruneCmd deletes telemetry older than the retention (the server
// does so by itself every few minutes; this is for a database no server
// runs on, or a shorter retention once).
func adminPruneCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "admin prune", "admin prune [--config FILE] [--days N]")
	cfgPath := cli.ConfigFlag(fs)
	days := fs.Int("days", 0, "keep this many `days` (default: telemetry.retention_days)")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	cfg, db, err := cli.OpenCurrent(ctx, e, *cfgPath)
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
	fmt.Fprintf(e.Stdout, "pruned %d telemetry rows from before %s (the audit log is kept whole)\n", n, before.UTC().Truncate(24*time.Hour).Format(time.DateOnly))
	return nil
}
