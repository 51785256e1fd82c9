package admincmd

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/adminrole"
)

// adminGrantCmd gives a member the admin role: /admin opens for them in a
// session that signed in or stepped up with a passkey.
func adminGrantCmd(ctx context.Context, e *cli.Env, args []string) error {
	return adminRoleChange(ctx, e, "grant", args, (*adminrole.Roles).Grant)
}

// adminRevokeCmd takes the admin role from a member; their next request to
// /admin is refused.
func adminRevokeCmd(ctx context.Context, e *cli.Env, args []string) error {
	return adminRoleChange(ctx, e, "revoke", args, (*adminrole.Roles).Revoke)
}

func adminRoleChange(ctx context.Context, e *cli.Env, verb string, args []string,
	change func(*adminrole.Roles, context.Context, string, string) (adminrole.Change, error)) error {
	fs := cli.NewFlagSet(e, "admin "+verb, "admin "+verb+" [--config FILE] EMAIL")
	cfgPath := cli.ConfigFlag(fs)
	// The address may stand before or after the flags.
	var addrs, flags []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--config" || a == "-config":
			flags = append(flags, a)
			if i+1 < len(args) {
				flags, i = append(flags, args[i+1]), i+1
			}
		case strings.HasPrefix(a, "-"):
			flags = append(flags, a)
		default:
			addrs = append(addrs, a)
		}
	}
	if err := cli.ParseFlags(e, fs, flags); err != nil {
		return err
	}
	if len(addrs) != 1 {
		fmt.Fprintf(e.Stderr, "keyshift admin %s: name one member by email address\n", verb)
		fs.Usage()
		return cli.ErrUsage
	}
	_, db, err := cli.OpenCurrent(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := change(adminrole.New(db, time.Now), ctx, addrs[0], cli.Operator(e))
	if err != nil {
		return cli.PlainError(err)
	}
	switch {
	case verb == "grant" && !c.Changed:
		fmt.Fprintf(e.Stdout, "%s holds the admin role already\n", c.User.Email)
	case verb == "grant":
		fmt.Fprintf(e.Stdout, "%s may open /admin now, in a session signed in or stepped up with a passkey\n", c.User.Email)
	case !c.Changed:
		fmt.Fprintf(e.Stdout, "%s did not hold the admin role\n", c.User.Email)
	default:
		fmt.Fprintf(e.Stdout, "%s no longer holds the admin role\n", c.User.Email)
	}
	if verb == "grant" && c.User.PasskeyCount == 0 {
		fmt.Fprintf(e.Stdout, "note: %s has no passkey yet, so the role opens nothing: /admin asks for a passkey, never a password or an email code\n", c.User.Email)
	}
	return nil
}

// adminListCmd lists the members holding the admin role.
func adminListCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "admin list", "admin list [--config FILE]")
	cfgPath := cli.ConfigFlag(fs)
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	_, db, err := cli.OpenCurrent(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	ms, err := adminrole.New(db, time.Now).List(ctx)
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		fmt.Fprintln(e.Stdout, "no member holds the admin role")
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tGRANTED\tBY\tPASSKEYS")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", m.Email, m.GrantedAt.UTC().Format(time.RFC3339), m.GrantedBy, m.Passkeys)
	}
	return tw.Flush()
}
