package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/doctor"
	"github.com/keyshift/keyshift/internal/store"
)

func doctorCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "doctor", "doctor [--config FILE] [--json] [--timeout 5s]")
	cfgPath := fs.String("config", "", "YAML configuration `file`, as serve reads it (KEYSHIFT_* variables override it)")
	asJSON := fs.Bool("json", false, "print the findings as JSON")
	timeout := fs.Duration("timeout", 5*time.Second, "how long each network check (database, each SMTP server) may take")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath, e.Getenv)
	findings := doctor.Run(ctx, doctor.Input{Config: cfg, LoadErr: err, Open: openForDoctor(cfg), Timeout: *timeout})
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if findings == nil {
			findings = []doctor.Finding{}
		}
		if err := enc.Encode(map[string]any{"ok": !doctor.AnyHigh(findings), "findings": findings}); err != nil {
			return err
		}
	} else {
		doctor.WriteText(e.Stdout, findings)
	}
	if doctor.AnyHigh(findings) {
		return cli.ErrQuiet
	}
	return nil
}

// openForDoctor opens cfg's database without migrating it.
func openForDoctor(cfg config.Config) func(ctx context.Context) (doctor.Database, func() error, error) {
	return func(ctx context.Context) (doctor.Database, func() error, error) {
		db, err := store.OpenNoMigrate(ctx, cfg.Database)
		if err != nil {
			return nil, nil, err
		}
		return doctorDB{db}, db.Close, nil
	}
}

// doctorDB is the store as doctor asks it.
type doctorDB struct{ *store.DB }

func (d doctorDB) Versions(ctx context.Context) (current, latest int, err error) {
	st, err := d.Status(ctx)
	return st.Current, st.Latest, err
}

func (d doctorDB) Time(ctx context.Context) (time.Time, bool, error) { return d.ServerTime(ctx) }

// logHighFindings runs doctor's checks beside a starting server and logs
// the high findings, so an operator who never runs doctor still reads them.
// It runs in the background: a slow mail server must not delay the start.
// The returned func waits for it (serve's end cancels ctx, which ends the
// checks' dials).
func logHighFindings(ctx context.Context, log *slog.Logger, cfg config.Config) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, f := range doctor.Run(ctx, doctor.Input{Config: cfg, Open: openForDoctor(cfg)}) {
			if f.Severity == doctor.High && ctx.Err() == nil {
				log.Error("doctor: "+f.Problem, "check", f.Check, "fix", f.Fix)
			}
		}
	}()
	return func() { <-done }
}
