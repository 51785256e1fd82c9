package main

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/audit"
	"github.com/keyshift/keyshift/internal/config"
)

func auditCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "audit", "audit [--config FILE] [--json] [--strict]")
	cfgPath := fs.String("config", "", "YAML configuration `file`, as serve reads it (KEYSHIFT_* variables override it)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	strict := fs.Bool("strict", false, "exit 1 when a finding is high, for an operator's own CI")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	cfg, db, err := cli.OpenCurrent(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := audit.Run(ctx, db, auditSettings(cfg), time.Now().UTC())
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if r.Findings == nil {
			r.Findings = []audit.Finding{}
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else {
		r.WriteText(e.Stdout)
	}
	if *strict && r.High() {
		return cli.ErrQuiet
	}
	return nil
}

// auditSettings is what the configuration says of the recovery channels.
func auditSettings(cfg config.Config) audit.Settings {
	return audit.Settings{
		EmailSignin: cfg.MailTransport() != config.MailLog,
		// email_signin.passkey_accounts: full, restricted or require_passkey.
		EmailPasskeyAccounts: cfg.EmailSignin.PasskeyAccounts,
		PasswordSignup:       cfg.Signup.Open && slices.Contains(cfg.Signup.Methods, config.SignupPassword),
	}
}
