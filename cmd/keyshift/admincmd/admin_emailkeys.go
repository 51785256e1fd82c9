package admincmd

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
)

// adminEmailKeysCmd lists the accounts the upgrade to canonical email keys
// left without a key: two spellings of one address made two accounts, or
// an address holds a look-alike or invisible character. Both rows were
// kept; no typed address finds the listed ones until they get an address
// of their own (docs/operations.md).
func adminEmailKeysCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "admin email-keys", "admin email-keys [--config FILE]")
	cfgPath := cli.ConfigFlag(fs)
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	_, db, err := cli.OpenCurrent(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	cs, err := db.FindEmailKeyConflicts(ctx)
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		fmt.Fprintln(e.Stdout, "every account has the key of its address")
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tADDRESS\tREASON\tKEPT BY\tFOUND")
	for _, c := range cs {
		kept := "-"
		if c.KeptBy != "" {
			kept = c.KeptBy + " " + strconv.QuoteToASCII(c.KeptByEmail)
		}
		// Quoted with escapes: the point of the list is characters that
		// look like others or like nothing.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.UserID, strconv.QuoteToASCII(c.Email), c.Reason, kept, c.FoundAt.Format(time.RFC3339))
	}
	return tw.Flush()
}
