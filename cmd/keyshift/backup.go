package main

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/store/backup"
)

// The audit events of backup and restore.
const (
	eventBackup  = "backup"
	eventRestore = "restore"
)

// backupCmd makes a consistent copy of the database while servers run
// (package backup) and records it in the audit log. The pepper is not in
// it, by design (docs/operations.md, "Backup").
func backupCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "backup", "backup --out FILE [--config FILE] [--force]")
	cfgPath := cli.ConfigFlag(fs)
	out := fs.String("out", "", "write the backup to `file` (created 0600)")
	force := fs.Bool("force", false, "replace --out if it exists")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(e.Stderr, "keyshift backup: --out FILE is required")
		return cli.ErrUsage
	}
	if _, err := os.Stat(*out); err == nil && !*force {
		return fmt.Errorf("%s exists; add --force to replace it", *out)
	}
	cfg, db, err := cli.OpenCurrent(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	err = backup.Write(ctx, db, cfg.Database, *out)
	ev := cliEvent(e, eventBackup, map[string]any{"destination": *out, "database": db.Dialect()}, err)
	if aerr := db.AppendEvent(context.WithoutCancel(ctx), ev); aerr != nil && err == nil {
		os.Remove(*out)
		return fmt.Errorf("recording the backup in the audit log: %w; %s removed", aerr, *out)
	}
	if err != nil {
		return err
	}
	size := int64(0)
	if fi, err := os.Stat(*out); err == nil {
		size = fi.Size()
	}
	fmt.Fprintf(e.Stderr, "keyshift backup: %s database written to %s (%d bytes) in %s\n", db.Dialect(), *out, size, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(e.Stderr, "keyshift backup: the pepper is not in it; keep %s with it, apart\n", pepperSource(cfg))
	return nil
}

// restoreCmd puts a backup into the configured database, which must be
// empty unless --force. Stop every keyshift on that database first.
func restoreCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "restore", "restore FILE [--config FILE] [--force]")
	cfgPath := cli.ConfigFlag(fs)
	force := fs.Bool("force", false, "replace a database that is not empty (stop keyshift first)")
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(e.Stderr, "Usage: keyshift restore FILE [--config FILE] [--force]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return cli.ParseFlags(e, fs, args)
		}
		return cli.ErrUsage
	}
	file := args[0]
	if err := cli.ParseFlags(e, fs, args[1:]); err != nil {
		return err
	}
	if _, err := os.Stat(file); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath, e.Getenv)
	if err != nil {
		return err
	}
	start := time.Now()
	driver, path := cfg.DatabaseDriver()
	if driver == "sqlite" {
		err = backup.RestoreSQLite(ctx, file, path, *force)
	} else {
		err = backup.RestorePostgres(ctx, cfg.Database, file, *force)
	}
	if err != nil {
		return err
	}
	// Migrate a backup of an older keyshift forward, and record the restore
	// in the restored audit log.
	db, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return fmt.Errorf("the restored database: %w", err)
	}
	defer db.Close()
	if err := db.AppendEvent(ctx, cliEvent(e, eventRestore, map[string]any{"source": file, "database": db.Dialect(), "force": *force}, nil)); err != nil {
		return fmt.Errorf("recording the restore in the audit log: %w", err)
	}
	fmt.Fprintf(e.Stderr, "keyshift restore: %s restored into the %s database in %s\n", file, db.Dialect(), time.Since(start).Round(time.Millisecond))
	return nil
}

// pepperSource says where the pepper of cfg is kept, for the reminder that
// a backup does not hold it.
func pepperSource(cfg config.Config) string {
	switch {
	case cfg.Pepper != "":
		return "KEYSHIFT_PEPPER"
	case cfg.PepperFile != "":
		return cfg.PepperFile
	}
	if driver, path := cfg.DatabaseDriver(); driver == "sqlite" {
		return path + ".pepper"
	}
	return "the pepper"
}

// cliEvent is the audit row of an operator command that ended with err
// (nil: success): what it did (data), and who ran it where, as for export.
func cliEvent(e *cli.Env, typ string, data map[string]any, err error) *account.Event {
	osUser := e.Getenv("USER")
	if u, uerr := user.Current(); uerr == nil {
		osUser = u.Username
	}
	host, _ := os.Hostname()
	data["os_user"], data["host"] = osUser, host
	ev := &account.Event{At: time.Now(), Type: typ, Method: "cli", Outcome: "success", UserAgent: "keyshift " + Version, Data: data}
	if err != nil {
		ev.Outcome = "failure"
		ev.Data["error"] = err.Error()
	}
	return ev
}
