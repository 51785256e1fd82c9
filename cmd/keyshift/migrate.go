package main

import (
	"context"
	"fmt"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/store"
)

func migrateCmd(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "migrate", "migrate [--config FILE] [--status]")
	cfgPath := fs.String("config", "", "YAML configuration `file` (KEYSHIFT_* variables override it)")
	status := fs.Bool("status", false, "show the applied and pending migrations; change nothing")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath, e.getenv)
	if err != nil {
		return err
	}
	db, err := store.OpenNoMigrate(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	if *status {
		st, err := db.Status(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s schema at version %d of %d\n", db.Dialect(), st.Current, st.Latest)
		for _, m := range st.Pending {
			fmt.Fprintf(e.stdout, "pending: %04d_%s\n", m.Version, m.Name)
		}
		return nil
	}
	applied, err := db.Migrate(ctx)
	for _, v := range applied {
		fmt.Fprintf(e.stdout, "applied migration %04d\n", v)
	}
	if err != nil {
		return err
	}
	st, err := db.Status(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s schema at version %d (up to date)\n", db.Dialect(), st.Current)
	return nil
}
