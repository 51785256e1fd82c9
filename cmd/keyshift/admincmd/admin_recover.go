package admincmd

import (
	"context"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/server"
	"github.com/keyshift/keyshift/internal/support"
)

// adminRecoverCmd is support recovery (docs/security.md, "Support
// recovery") for a member who cannot sign in at all: it begins one, lists
// them, or cancels one. The recovery itself waits, tells the account's
// addresses and sessions, and mails the new address from the servers.
func adminRecoverCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "admin recover", `admin recover [--config FILE] --user EMAIL --new-email ADDR --evidence TEXT
       keyshift admin recover [--config FILE] --list [--all] [--user EMAIL]
       keyshift admin recover [--config FILE] --cancel ID`)
	cfgPath := cli.ConfigFlag(fs)
	user := fs.String("user", "", "the account's current email `address`")
	newEmail := fs.String("new-email", "", "the `address` the member can read now, which the account moves to")
	evidence := fs.String("evidence", "", "how the member's identity was checked (`text`, kept with the recovery)")
	list := fs.Bool("list", false, "list pending recoveries (with --all, every one)")
	all := fs.Bool("all", false, "with --list, completed and cancelled recoveries too")
	cancel := fs.String("cancel", "", "cancel the pending recovery `id`")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	modes := 0
	for _, on := range []bool{*list, *cancel != "", *newEmail != "" || *evidence != ""} {
		if on {
			modes++
		}
	}
	if modes != 1 || (!*list && *cancel == "" && *user == "") {
		fmt.Fprintln(e.Stderr, "keyshift admin recover: begin one (--user, --new-email, --evidence), --list, or --cancel ID")
		fs.Usage()
		return cli.ErrUsage
	}
	cfg, db, err := cli.OpenCurrent(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := server.SupportRecovery(ctx, cfg, db, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	switch {
	case *list:
		f := support.Filter{Pending: !*all, Limit: 1000}
		if *user != "" {
			_, key, err := account.NormalizeEmail(*user)
			if err != nil {
				return cli.PlainError(err)
			}
			u, err := db.FindUserByEmailKey(ctx, key)
			if err != nil {
				return cli.PlainError(err)
			}
			f.UserID = u.ID
		}
		rs, err := svc.List(ctx, f)
		if err != nil {
			return err
		}
		return printRecoveries(e, rs, *all)
	case *cancel != "":
		r, err := svc.CancelByOperator(ctx, *cancel, cli.Operator(e))
		if err != nil {
			return cli.PlainError(err)
		}
		fmt.Fprintf(e.Stdout, "cancelled recovery %s of %s: nothing changed on the account\n", r.ID, r.CurrentEmail)
		return nil
	}
	b, err := svc.Begin(ctx, support.Request{User: *user, NewEmail: *newEmail, Evidence: *evidence, By: cli.Operator(e)})
	if err != nil {
		return cli.PlainError(err)
	}
	r := b.Recovery
	fmt.Fprintf(e.Stdout, "recovery %s: %s moves to %s after %s\n", r.ID, r.CurrentEmail, r.Email, r.ReadyAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(e.Stdout, "told: %d %s by mail, %d live %s on the account page; each can cancel until then\n",
		b.Notified, plural(b.Notified, "address", "addresses"), b.Sessions, plural(b.Sessions, "session", "sessions"))
	fmt.Fprintf(e.Stdout, "then a link goes to %s (a running keyshift mails it within 10 minutes); cancel with: keyshift admin recover --cancel %s\n", r.Email, r.ID)
	if b.Notified == 0 && b.Sessions == 0 {
		fmt.Fprintln(e.Stdout, "warning: nobody could be told — the account has no proven address and no live session — so the wait is its only protection")
	}
	return nil
}

// printRecoveries lists rs as a table; ended ones too when all.
func printRecoveries(e *cli.Env, rs []support.Recovery, all bool) error {
	if len(rs) == 0 {
		if all {
			fmt.Fprintln(e.Stdout, "no support recoveries")
		} else {
			fmt.Fprintln(e.Stdout, "no pending support recoveries")
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tACCOUNT\tNEW ADDRESS\tASKED\tBY\tREADY\tLINK MAILED\tENDED\tEVIDENCE")
	for _, r := range rs {
		state := string(r.State)
		if r.EndedBy != "" {
			state += " (" + r.EndedBy + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, state, r.CurrentEmail, r.Email, stamp(r.CreatedAt), r.RequestedBy,
			stamp(r.ReadyAt), stamp(r.MailedAt), stamp(r.EndedAt), oneLine(r.Evidence))
	}
	return tw.Flush()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
