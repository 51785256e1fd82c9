// Package admincmd is `keyshift admin`: operator tasks on a running
// deployment's database — admin API tokens, the admin role, OpenID Connect
// apps and signing keys, stuck mail, address keys, telemetry pruning,
// support recovery.
package admincmd

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/pepper"
	"github.com/keyshift/keyshift/internal/store"
)

// adminCommands are the subcommands of `keyshift admin`.
var adminCommands = []cli.Command{
	{Name: "token", Summary: "admin API bearer tokens: token create|list|revoke", Run: adminTokenCmd},
	{Name: "mail", Summary: "list mail that failed or keeps failing to send", Run: adminMailCmd},
	{Name: "email-keys", Summary: "list accounts whose address another account's shares, or that is refused now", Run: adminEmailKeysCmd},
	{Name: "grant", Summary: "give a member the admin role (/admin, with a passkey): grant EMAIL", Run: adminGrantCmd},
	{Name: "revoke", Summary: "take the admin role from a member: revoke EMAIL", Run: adminRevokeCmd},
	{Name: "list", Summary: "list the members holding the admin role", Run: adminListCmd},
	{Name: "client", Summary: "OpenID Connect apps: client create|list|revoke", Run: adminClientCmd},
	{Name: "keys", Summary: "OpenID Connect signing keys: keys rotate", Run: adminKeysCmd},
	{Name: "recover", Summary: "support recovery of a member who cannot sign in: recover --user EMAIL --new-email ADDR --evidence TEXT | --list | --cancel ID", Run: adminRecoverCmd},
	{Name: "prune", Summary: "delete telemetry older than its retention: prune [--days N]", Run: adminPruneCmd},
}

// Run is `keyshift admin`: it runs the admin subcommand args name.
func Run(ctx context.Context, e *cli.Env, args []string) error {
	return cli.Subcommand(ctx, e, "admin", adminCommands, args)
}

// adminMailCmd lists stuck mail: failed for good, or still queued after
// failed attempts — what the keyshift_mail_stuck metric alerts about.
func adminMailCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "admin mail", "admin mail [--config FILE] [--all] [--limit N]")
	cfgPath := cli.ConfigFlag(fs)
	all := fs.Bool("all", false, "list every queued mail too, not only mail that failed an attempt")
	limit := fs.Int("limit", 100, "list at most `n` mails, newest first")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	cfg, db, err := cli.OpenCurrent(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	filter := outbox.Filter{Statuses: []outbox.Status{outbox.StatusQueued, outbox.StatusFailed}, Troubled: !*all, Limit: *limit}
	ms, err := findMail(ctx, e, cfg, db, filter)
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		fmt.Fprintln(e.Stdout, "no stuck mail")
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tATTEMPTS\tQUEUED\tNEXT TRY\tTO\tKIND\tSUBJECT\tLAST ERROR")
	for _, m := range ms {
		next := m.DueAt.Format(time.RFC3339)
		if m.Status == outbox.StatusFailed {
			next = "never"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Status, m.Attempts,
			m.CreatedAt.Format(time.RFC3339), next, m.To, m.Kind, m.Subject, oneLine(m.LastError))
	}
	return tw.Flush()
}

// findMail lists the outbox's mail with subjects opened under the pepper.
// Without a pepper (none configured on PostgreSQL, or the file beside a
// SQLite database is missing) the list still comes, subjects shown sealed:
// what is stuck and why matters more than what it says.
func findMail(ctx context.Context, e *cli.Env, cfg config.Config, db *store.DB, f outbox.Filter) ([]outbox.Mail, error) {
	src := pepper.Source{Value: cfg.Pepper, File: cfg.PepperFile, Previous: cfg.PreviousPeppers}
	if driver, dsn := cfg.DatabaseDriver(); driver == "sqlite" {
		src.SQLitePath = dsn
	}
	p, err := pepper.Load(src)
	if err == nil {
		return outbox.NewOutbox(db, nil, outbox.WithKeys(p.Keys(outbox.SealPurpose))).Find(ctx, f)
	}
	fmt.Fprintf(e.Stderr, "keyshift admin mail: subjects are sealed and shown as such: %v\n", err)
	ms, err := db.FindOutbox(ctx, f)
	for i := range ms {
		if len(ms[i].Sealed) > 0 {
			ms[i].Subject = "(sealed)"
		}
	}
	return ms, err
}

// oneLine keeps an SMTP error on one short line of the table.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
