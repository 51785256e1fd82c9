package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyshift/keyshift/internal/audit"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/readiness"
)

func auditCmd(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "audit", "audit [--config FILE] [--json] [--strict]")
	cfgPath := fs.String("config", "", "YAML configuration `file`, as serve reads it (KEYSHIFT_* variables override it)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	strict := fs.Bool("strict", false, "exit 1 when a finding is high, for an operator's own CI")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	cfg, db, err := openCurrent(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := audit.Run(ctx, db, auditSettings(cfg), time.Now().UTC())
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if r.Findings == nil {
			r.Findings = []audit.Finding{}
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else {
		printAudit(e.stdout, r)
	}
	if *strict && r.High() {
		return errQuiet
	}
	return nil
}

// auditSettings is what the configuration says of the recovery channels.
func auditSettings(cfg config.Config) audit.Settings {
	return audit.Settings{
		EmailSignin: cfg.MailTransport() != config.MailLog,
		// Email sign-in gives every member a full session today.
		EmailPasskeyAccounts: "full",
		PasswordSignup:       cfg.Signup.Open && slices.Contains(cfg.Signup.Methods, config.SignupPassword),
	}
}

func printAudit(w io.Writer, r *audit.Report) {
	fmt.Fprintf(w, "keyshift audit, %s: %d accounts\n\nRecovery channels\n", r.At.Format(time.RFC3339), r.Accounts)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  CHANNEL\tSTATE\tUSES 7D\tUSES 30D\tBY PASSKEY MEMBERS 7D")
	for _, c := range r.Channels {
		state := "off"
		switch {
		case !c.Offered:
			state = "not offered"
		case c.Enabled:
			state = "on"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\n", c.Name, state, c.Uses7, c.Uses30, c.ByPasskeyHolders7)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nWhat each channel bypasses, and how it is attacked once members have passkeys\n")
	for _, c := range r.Channels {
		fmt.Fprintf(w, "  %s: bypasses %s; %s\n", c.Name, c.Bypasses, c.Weakness)
	}
	fmt.Fprintf(w, "\nReadiness (if a member lost a device)\n")
	for _, class := range readiness.Classes {
		fmt.Fprintf(w, "  %-8s %d\n", class, r.Readiness[class])
	}
	if len(r.Passwords) > 0 {
		var formats []string
		for f, n := range r.Passwords {
			mark := ""
			if _, weak := r.Weak[f]; weak {
				mark = " (weak)"
			}
			formats = append(formats, fmt.Sprintf("%s: %d%s", f, n, mark))
		}
		slices.Sort(formats)
		fmt.Fprintf(w, "\nPassword hashes: %s\n", strings.Join(formats, ", "))
	}
	fmt.Fprintf(w, "\nFindings\n")
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, f := range r.Findings {
		fmt.Fprintf(w, "  %-6s %s: %s\n", strings.ToUpper(string(f.Severity)), f.Code, f.Message)
	}
}
