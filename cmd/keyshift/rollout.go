package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/server"
)

// rolloutCommands are the subcommands of `keyshift rollout`.
var rolloutCommands = []cli.Command{
	{Name: "status", Summary: "show the phase, ramp, cohorts and guardrails", Run: rolloutStatusCmd},
	{Name: "set", Summary: "move to a phase: set PHASE [--reason R] [--force]", Run: rolloutSetCmd},
	{Name: "percent", Summary: "set the ramp: percent N [--reason R] [--force to lower it]", Run: rolloutPercentCmd},
	{Name: "cohort", Summary: "change the internal cohort: cohort add|remove [--domain D]… [--email E]…", Run: rolloutCohortCmd},
	{Name: "release", Summary: "release a hold the guardrails put on the rollout", Run: rolloutReleaseCmd},
	{Name: "history", Summary: "list the latest changes, newest first", Run: rolloutHistoryCmd},
	{Name: "retire", Summary: "retire the passwords of members who opted in and are ready: retire [--dry-run] [--csv FILE]", Run: rolloutRetireCmd},
}

func rolloutCmd(ctx context.Context, e *cli.Env, args []string) error {
	return cli.Subcommand(ctx, e, "rollout", rolloutCommands, args)
}

// rolloutFlags are the flags every rollout subcommand takes.
type rolloutFlags struct {
	fs     *flag.FlagSet
	config *string
	json   *bool
}

func newRolloutFlags(e *cli.Env, name, synopsis string) rolloutFlags {
	fs := cli.NewFlagSet(e, "rollout "+name, "rollout "+synopsis)
	return rolloutFlags{
		fs:     fs,
		config: cli.ConfigFlag(fs),
		json:   fs.Bool("json", false, "print the rollout document as JSON"),
	}
}

// openRollout opens the database named by the configuration and returns
// the rollout service over it, judged by the configured guardrails.
func openRollout(ctx context.Context, e *cli.Env, cfgPath string) (*rollout.Service, func(), error) {
	cfg, db, err := cli.OpenCurrent(ctx, e, cfgPath)
	if err != nil {
		return nil, nil, err
	}
	return rollout.NewService(db, rollout.Config{Guardrails: server.Guardrails(cfg), ReauthWindow: cfg.Passkey.ReauthWindow}, time.Now), func() { db.Close() }, nil
}

func rolloutStatusCmd(ctx context.Context, e *cli.Env, args []string) error {
	f := newRolloutFlags(e, "status", "status [--config FILE] [--json]")
	if err := cli.ParseFlags(e, f.fs, args); err != nil {
		return err
	}
	svc, done, err := openRollout(ctx, e, *f.config)
	if err != nil {
		return err
	}
	defer done()
	doc, err := svc.Document(ctx)
	if err != nil {
		return err
	}
	return printRollout(e.Stdout, doc, *f.json)
}

// changeRollout applies ch and prints the result; a refusal is explained
// with what to do.
func changeRollout(ctx context.Context, e *cli.Env, f rolloutFlags, ch rollout.Change) error {
	svc, done, err := openRollout(ctx, e, *f.config)
	if err != nil {
		return err
	}
	defer done()
	doc, err := svc.Change(ctx, ch, cli.Operator(e))
	if ae, ok := errors.AsType[*account.Error](err); ok && ae.Code == account.EForceRequired {
		return fmt.Errorf("%s (run again with --force to do it anyway; it is recorded)", ae.Detail)
	}
	if ae, ok := errors.AsType[*account.Error](err); ok && ae.Code == account.EInvalidRequest {
		return errors.New(ae.Detail)
	}
	if err != nil {
		return err
	}
	return printRollout(e.Stdout, doc, *f.json)
}

func rolloutSetCmd(ctx context.Context, e *cli.Env, args []string) error {
	f := newRolloutFlags(e, "set", "set PHASE [--reason R] [--force] [--config FILE] [--json]")
	reason := f.fs.String("reason", "", "why, for the audit")
	force := f.fs.Bool("force", false, "advance even while a guardrail is tripped (recorded)")
	phaseArg, rest := firstArg(args)
	if err := cli.ParseFlags(e, f.fs, rest); err != nil {
		return err
	}
	if phaseArg == "" {
		f.fs.Usage()
		return cli.ErrUsage
	}
	p, err := rollout.ParsePhase(phaseArg)
	if err != nil {
		return err
	}
	return changeRollout(ctx, e, f, rollout.Change{Phase: &p, Reason: *reason, Force: *force})
}

func rolloutPercentCmd(ctx context.Context, e *cli.Env, args []string) error {
	f := newRolloutFlags(e, "percent", "percent N [--reason R] [--force] [--config FILE] [--json]")
	reason := f.fs.String("reason", "", "why, for the audit")
	force := f.fs.Bool("force", false, "lower the ramp, taking members out (recorded)")
	nArg, rest := firstArg(args)
	if err := cli.ParseFlags(e, f.fs, rest); err != nil {
		return err
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(nArg), "%"))
	if nArg == "" || err != nil {
		fmt.Fprintf(e.Stderr, "keyshift rollout percent: want a whole number 0 to 100, not %q\n", nArg)
		return cli.ErrUsage
	}
	return changeRollout(ctx, e, f, rollout.Change{Percent: &n, Reason: *reason, Force: *force})
}

// cli.ListFlag collects a repeatable flag.

func rolloutCohortCmd(ctx context.Context, e *cli.Env, args []string) error {
	f := newRolloutFlags(e, "cohort", "cohort add|remove [--domain D]… [--email E]… [--reason R] [--config FILE] [--json]")
	var domains, emails cli.ListFlag
	f.fs.Var(&domains, "domain", "an email `domain` of the internal cohort (repeatable)")
	f.fs.Var(&emails, "email", "an `address` of the internal cohort (repeatable)")
	reason := f.fs.String("reason", "", "why, for the audit")
	verb, rest := firstArg(args)
	if err := cli.ParseFlags(e, f.fs, rest); err != nil {
		return err
	}
	if (verb != "add" && verb != "remove") || len(domains)+len(emails) == 0 {
		fmt.Fprintln(e.Stderr, "keyshift rollout cohort: say add or remove, and at least one --domain or --email")
		f.fs.Usage()
		return cli.ErrUsage
	}
	svc, done, err := openRollout(ctx, e, *f.config)
	if err != nil {
		return err
	}
	cur, err := svc.Current(ctx)
	done()
	if err != nil {
		return err
	}
	in := cur.Internal
	if verb == "add" {
		in.Domains = append(append([]string(nil), in.Domains...), domains...)
		in.Emails = append(append([]string(nil), in.Emails...), emails...)
	} else {
		in = in.Without(domains, emails)
	}
	return changeRollout(ctx, e, f, rollout.Change{Internal: &in, Reason: *reason})
}

func rolloutReleaseCmd(ctx context.Context, e *cli.Env, args []string) error {
	f := newRolloutFlags(e, "release", "release [--reason R] [--config FILE] [--json]")
	reason := f.fs.String("reason", "", "why, for the audit")
	if err := cli.ParseFlags(e, f.fs, args); err != nil {
		return err
	}
	return changeRollout(ctx, e, f, rollout.Change{Release: true, Reason: *reason})
}

func rolloutHistoryCmd(ctx context.Context, e *cli.Env, args []string) error {
	f := newRolloutFlags(e, "history", "history [--limit N] [--config FILE] [--json]")
	limit := f.fs.Int("limit", 20, "show the latest `n` changes")
	if err := cli.ParseFlags(e, f.fs, args); err != nil {
		return err
	}
	svc, done, err := openRollout(ctx, e, *f.config)
	if err != nil {
		return err
	}
	defer done()
	changes, err := svc.History(ctx, max(*limit, 1))
	if err != nil {
		return err
	}
	if *f.json {
		return json.NewEncoder(e.Stdout).Encode(map[string]any{"changes": rollout.HistoryJSON(changes)})
	}
	return rollout.WriteHistory(e.Stdout, changes)
}

// firstArg splits a leading positional argument (one not starting with
// "-") from the flags after it.
func firstArg(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

// printRollout prints the rollout document as JSON or for a person.
func printRollout(w io.Writer, d rollout.Document, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(d)
	}
	d.WriteText(w)
	return nil
}

func rolloutRetireCmd(ctx context.Context, e *cli.Env, args []string) error {
	f := newRolloutFlags(e, "retire", "retire [--dry-run] [--csv FILE] [--config FILE] [--json]")
	dryRun := f.fs.Bool("dry-run", false, "list whom it would affect; change nothing")
	csvPath := f.fs.String("csv", "", "write one line per opted-in member (retired or not, and why) to `file`")
	if err := cli.ParseFlags(e, f.fs, args); err != nil {
		return err
	}
	cfg, db, err := cli.OpenCurrent(ctx, e, *f.config)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := rollout.NewService(db, rollout.Config{Guardrails: server.Guardrails(cfg), ReauthWindow: cfg.Passkey.ReauthWindow}, time.Now)
	notify := func(context.Context, rollout.Candidate) error { return nil }
	if !*dryRun {
		notices, err := server.Notices(ctx, cfg, db, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		notify = func(ctx context.Context, c rollout.Candidate) error {
			u, err := db.FindUser(ctx, c.UserID)
			if err != nil {
				return err
			}
			return notices.PasswordRetired(ctx, u, cfg.Rollout.RetireAfterDays)
		}
	}
	rep, err := svc.Retire(ctx, db, cfg.Rollout.RetireAfterDays, *dryRun, cli.Operator(e), notify)
	if err != nil {
		return cli.PlainError(err)
	}
	if *csvPath != "" {
		if err := writeRetireCSV(*csvPath, rep, *dryRun); err != nil {
			return err
		}
	}
	return printRetire(e, rep, *dryRun, *f.json)
}

// printRetire says what retire did or would do.
func printRetire(e *cli.Env, rep rollout.RetireReport, dryRun, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(e.Stdout).Encode(map[string]any{
			"dryRun": dryRun, "retired": len(rep.Retired), "notReady": rep.NotReadyCounts(), "notOptedIn": rep.NotOptedIn})
	}
	rep.WriteSummary(e.Stdout, dryRun)
	return nil
}

// writeRetireCSV writes the report's CSV to path, private: it lists
// members' addresses.
func writeRetireCSV(path string, rep rollout.RetireReport, dryRun bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := rep.WriteCSV(f, dryRun); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
