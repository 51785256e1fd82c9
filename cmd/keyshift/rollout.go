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
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/server"
)

// rolloutCommands are the subcommands of `keyshift rollout`.
var rolloutCommands = []command{
	{"status", "show the phase, ramp, cohorts and guardrails", rolloutStatusCmd},
	{"set", "move to a phase: set PHASE [--reason R] [--force]", rolloutSetCmd},
	{"percent", "set the ramp: percent N [--reason R] [--force to lower it]", rolloutPercentCmd},
	{"cohort", "change the internal cohort: cohort add|remove [--domain D]… [--email E]…", rolloutCohortCmd},
	{"release", "release a hold the guardrails put on the rollout", rolloutReleaseCmd},
	{"history", "list the latest changes, newest first", rolloutHistoryCmd},
	{"retire", "retire the passwords of members who opted in and are ready: retire [--dry-run] [--csv FILE]", rolloutRetireCmd},
}

func rolloutCmd(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "rollout", rolloutCommands, args)
}

// subcommand runs the subcommand of group named by args[0], or prints the
// group's usage.
func subcommand(ctx context.Context, e *env, group string, cmds []command, args []string) error {
	if len(args) > 0 {
		for _, c := range cmds {
			if c.name == args[0] {
				return c.run(ctx, e, args[1:])
			}
		}
	}
	w := e.stderr
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w = e.stdout
	} else {
		fmt.Fprintf(e.stderr, "keyshift %s: unknown subcommand %q\n\n", group, args[0])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: keyshift %s <subcommand> [flags]\n\nSubcommands:\n", group)
	for _, c := range cmds {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, b.String())
	if w == e.stdout && len(args) > 0 {
		return nil
	}
	return errUsage
}

// rolloutFlags are the flags every rollout subcommand takes.
type rolloutFlags struct {
	fs     *flag.FlagSet
	config *string
	json   *bool
}

func newRolloutFlags(e *env, name, synopsis string) rolloutFlags {
	fs := newFlagSet(e, "rollout "+name, "rollout "+synopsis)
	return rolloutFlags{
		fs:     fs,
		config: fs.String("config", "", "YAML configuration `file` (KEYSHIFT_* variables override it)"),
		json:   fs.Bool("json", false, "print the rollout document as JSON"),
	}
}

// openRollout opens the database named by the configuration and returns
// the rollout service over it, judged by the configured guardrails.
func openRollout(ctx context.Context, e *env, cfgPath string) (*rollout.Service, func(), error) {
	cfg, db, err := openCurrent(ctx, e, cfgPath)
	if err != nil {
		return nil, nil, err
	}
	return rollout.NewService(db, rollout.Config{Guardrails: server.Guardrails(cfg), ReauthWindow: cfg.Passkey.ReauthWindow}, time.Now), func() { db.Close() }, nil
}

// operator names who runs the CLI in the rollout's audit: the OS user.
func operator(e *env) string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	if u := e.getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

func rolloutStatusCmd(ctx context.Context, e *env, args []string) error {
	f := newRolloutFlags(e, "status", "status [--config FILE] [--json]")
	if err := parseFlags(e, f.fs, args); err != nil {
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
	return printRollout(e.stdout, doc, *f.json)
}

// changeRollout applies ch and prints the result; a refusal is explained
// with what to do.
func changeRollout(ctx context.Context, e *env, f rolloutFlags, ch rollout.Change) error {
	svc, done, err := openRollout(ctx, e, *f.config)
	if err != nil {
		return err
	}
	defer done()
	doc, err := svc.Change(ctx, ch, operator(e))
	if ae, ok := errors.AsType[*account.Error](err); ok && ae.Code == account.EForceRequired {
		return fmt.Errorf("%s (run again with --force to do it anyway; it is recorded)", ae.Detail)
	}
	if ae, ok := errors.AsType[*account.Error](err); ok && ae.Code == account.EInvalidRequest {
		return errors.New(ae.Detail)
	}
	if err != nil {
		return err
	}
	return printRollout(e.stdout, doc, *f.json)
}

func rolloutSetCmd(ctx context.Context, e *env, args []string) error {
	f := newRolloutFlags(e, "set", "set PHASE [--reason R] [--force] [--config FILE] [--json]")
	reason := f.fs.String("reason", "", "why, for the audit")
	force := f.fs.Bool("force", false, "advance even while a guardrail is tripped (recorded)")
	phaseArg, rest := firstArg(args)
	if err := parseFlags(e, f.fs, rest); err != nil {
		return err
	}
	if phaseArg == "" {
		f.fs.Usage()
		return errUsage
	}
	p, err := rollout.ParsePhase(phaseArg)
	if err != nil {
		return err
	}
	return changeRollout(ctx, e, f, rollout.Change{Phase: &p, Reason: *reason, Force: *force})
}

func rolloutPercentCmd(ctx context.Context, e *env, args []string) error {
	f := newRolloutFlags(e, "percent", "percent N [--reason R] [--force] [--config FILE] [--json]")
	reason := f.fs.String("reason", "", "why, for the audit")
	force := f.fs.Bool("force", false, "lower the ramp, taking members out (recorded)")
	nArg, rest := firstArg(args)
	if err := parseFlags(e, f.fs, rest); err != nil {
		return err
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(nArg), "%"))
	if nArg == "" || err != nil {
		fmt.Fprintf(e.stderr, "keyshift rollout percent: want a whole number 0 to 100, not %q\n", nArg)
		return errUsage
	}
	return changeRollout(ctx, e, f, rollout.Change{Percent: &n, Reason: *reason, Force: *force})
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func rolloutCohortCmd(ctx context.Context, e *env, args []string) error {
	f := newRolloutFlags(e, "cohort", "cohort add|remove [--domain D]… [--email E]… [--reason R] [--config FILE] [--json]")
	var domains, emails listFlag
	f.fs.Var(&domains, "domain", "an email `domain` of the internal cohort (repeatable)")
	f.fs.Var(&emails, "email", "an `address` of the internal cohort (repeatable)")
	reason := f.fs.String("reason", "", "why, for the audit")
	verb, rest := firstArg(args)
	if err := parseFlags(e, f.fs, rest); err != nil {
		return err
	}
	if (verb != "add" && verb != "remove") || len(domains)+len(emails) == 0 {
		fmt.Fprintln(e.stderr, "keyshift rollout cohort: say add or remove, and at least one --domain or --email")
		f.fs.Usage()
		return errUsage
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

func rolloutReleaseCmd(ctx context.Context, e *env, args []string) error {
	f := newRolloutFlags(e, "release", "release [--reason R] [--config FILE] [--json]")
	reason := f.fs.String("reason", "", "why, for the audit")
	if err := parseFlags(e, f.fs, args); err != nil {
		return err
	}
	return changeRollout(ctx, e, f, rollout.Change{Release: true, Reason: *reason})
}

func rolloutHistoryCmd(ctx context.Context, e *env, args []string) error {
	f := newRolloutFlags(e, "history", "history [--limit N] [--config FILE] [--json]")
	limit := f.fs.Int("limit", 20, "show the latest `n` changes")
	if err := parseFlags(e, f.fs, args); err != nil {
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
		return json.NewEncoder(e.stdout).Encode(map[string]any{"changes": rollout.HistoryJSON(changes)})
	}
	return rollout.WriteHistory(e.stdout, changes)
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

func rolloutRetireCmd(ctx context.Context, e *env, args []string) error {
	f := newRolloutFlags(e, "retire", "retire [--dry-run] [--csv FILE] [--config FILE] [--json]")
	dryRun := f.fs.Bool("dry-run", false, "list whom it would affect; change nothing")
	csvPath := f.fs.String("csv", "", "write one line per opted-in member (retired or not, and why) to `file`")
	if err := parseFlags(e, f.fs, args); err != nil {
		return err
	}
	cfg, db, err := openCurrent(ctx, e, *f.config)
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
	rep, err := svc.Retire(ctx, db, cfg.Rollout.RetireAfterDays, *dryRun, notify)
	if err != nil {
		return plainError(err)
	}
	if *csvPath != "" {
		if err := writeRetireCSV(*csvPath, rep, *dryRun); err != nil {
			return err
		}
	}
	return printRetire(e, rep, *dryRun, *f.json)
}

// printRetire says what retire did or would do.
func printRetire(e *env, rep rollout.RetireReport, dryRun, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(map[string]any{
			"dryRun": dryRun, "retired": len(rep.Retired), "notReady": rep.NotReadyCounts(), "notOptedIn": rep.NotOptedIn})
	}
	rep.WriteSummary(e.stdout, dryRun)
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
