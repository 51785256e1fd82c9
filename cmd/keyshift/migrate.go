package main

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

func migrateCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "migrate", "migrate [--config FILE] [--status]")
	cfgPath := cli.ConfigFlag(fs)
	status := fs.Bool("status", false, "show the applied and pending migrations; change nothing")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath, e.Getenv)
	if err != nil {
		return err
	}
	if *status {
		// Status changes nothing: not even creating a SQLite file.
		if driver, path := cfg.DatabaseDriver(); driver == "sqlite" {
			if _, err := os.Stat(path); errors.Is(err, iofs.ErrNotExist) {
				return printMissingSQLite(e)
			}
		}
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
		fmt.Fprintf(e.Stdout, "%s schema at version %d of %d\n", db.Dialect(), st.Current, st.Latest)
		for _, m := range st.Pending {
			fmt.Fprintf(e.Stdout, "pending: %04d_%s\n", m.Version, m.Name)
		}
		return nil
	}
	applied, err := db.Migrate(ctx)
	for _, v := range applied {
		fmt.Fprintf(e.Stdout, "applied migration %04d\n", v)
	}
	if err != nil {
		return err
	}
	st, err := db.Status(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "%s schema at version %d (up to date)\n", db.Dialect(), st.Current)
	if cs, err := db.FindEmailKeyConflicts(ctx); err != nil {
		return err
	} else if len(cs) > 0 {
		fmt.Fprintf(e.Stdout, "accounts without an address key (another account has their address, or it is refused now): %d; keyshift admin email-keys lists them\n", len(cs))
	}
	return nil
}

func printMissingSQLite(e *cli.Env) error {
	ms, err := sqldb.Migrations("sqlite")
	if err != nil {
		return err
	}
	// Reported exactly like an empty database: the file appears with the
	// first migrate or serve.
	fmt.Fprintf(e.Stdout, "sqlite schema at version 0 of %d\n", len(ms))
	for _, m := range ms {
		fmt.Fprintf(e.Stdout, "pending: %04d_%s\n", m.Version, m.Name)
	}
	return nil
}
