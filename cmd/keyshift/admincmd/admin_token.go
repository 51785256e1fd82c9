package admincmd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/admintoken"
)

var adminTokenCommands = []cli.Command{
	{Name: "create", Summary: "make a token: create --name N [--scope S]… (shown once)", Run: adminTokenCreateCmd},
	{Name: "list", Summary: "list tokens, revoked ones too", Run: adminTokenListCmd},
	{Name: "revoke", Summary: "end a token at once: revoke --name N", Run: adminTokenRevokeCmd},
}

func adminTokenCmd(ctx context.Context, e *cli.Env, args []string) error {
	return cli.Subcommand(ctx, e, "admin token", adminTokenCommands, args)
}

// openTokens opens the database named by the configuration and returns the
// admin tokens kept in it.
func openTokens(ctx context.Context, e *cli.Env, cfgPath string) (*admintoken.Tokens, func(), error) {
	_, db, err := cli.OpenCurrent(ctx, e, cfgPath)
	if err != nil {
		return nil, nil, err
	}
	return admintoken.New(db, "", time.Now), func() { db.Close() }, nil
}

func adminTokenCreateCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "admin token create", "admin token create --name N [--scope all|rollout|metrics|recovery|clients]… [--config FILE] [--json]")
	cfgPath := cli.ConfigFlag(fs)
	name := fs.String("name", "", "the token's `name`, as audits show it")
	var scopes cli.ListFlag
	fs.Var(&scopes, "scope", "what the token may use (repeatable or comma-separated; default all)")
	asJSON := fs.Bool("json", false, `print {"name","token"} as JSON`)
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	if *name == "" {
		fmt.Fprintln(e.Stderr, "keyshift admin token create: --name is required")
		fs.Usage()
		return cli.ErrUsage
	}
	sc, err := admintoken.ParseScopes(scopes)
	if err != nil {
		return cli.PlainError(err)
	}
	tokens, done, err := openTokens(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer done()
	plain, tok, err := tokens.Create(ctx, *name, sc, cli.Operator(e))
	if err != nil {
		return cli.PlainError(err)
	}
	if *asJSON {
		return json.NewEncoder(e.Stdout).Encode(map[string]any{"name": tok.Name, "token": plain, "scopes": tok.Scopes})
	}
	fmt.Fprintf(e.Stdout, "%s\n", plain)
	fmt.Fprintf(e.Stderr, "token %q (%s) made; it is shown once: keep it now\n", tok.Name, scopeList(tok.Scopes))
	return nil
}

func adminTokenListCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "admin token list", "admin token list [--config FILE] [--json]")
	cfgPath := cli.ConfigFlag(fs)
	asJSON := fs.Bool("json", false, "print the list as JSON")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	tokens, done, err := openTokens(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer done()
	list, err := tokens.List(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		type row struct {
			Name       string             `json:"name"`
			Scopes     []admintoken.Scope `json:"scopes"`
			CreatedAt  time.Time          `json:"createdAt"`
			CreatedBy  string             `json:"createdBy"`
			LastUsedAt *time.Time         `json:"lastUsedAt"`
			RevokedAt  *time.Time         `json:"revokedAt"`
		}
		rows := []row{}
		for _, t := range list {
			rows = append(rows, row{t.Name, t.Scopes, t.CreatedAt.UTC(), t.CreatedBy, cli.TimeOrNil(t.LastUsedAt), cli.TimeOrNil(t.RevokedAt)})
		}
		return json.NewEncoder(e.Stdout).Encode(map[string]any{"tokens": rows})
	}
	if len(list) == 0 {
		fmt.Fprintln(e.Stdout, "no admin tokens")
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCOPES\tCREATED\tBY\tLAST USED\tREVOKED")
	for _, t := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, scopeList(t.Scopes), t.CreatedAt.UTC().Format(time.RFC3339),
			t.CreatedBy, cli.TimeOrDash(t.LastUsedAt, "never"), cli.TimeOrDash(t.RevokedAt, "-"))
	}
	return tw.Flush()
}

func adminTokenRevokeCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "admin token revoke", "admin token revoke --name N [--config FILE]")
	cfgPath := cli.ConfigFlag(fs)
	name := fs.String("name", "", "the `name` of the token to end")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	if *name == "" {
		fmt.Fprintln(e.Stderr, "keyshift admin token revoke: --name is required")
		fs.Usage()
		return cli.ErrUsage
	}
	tokens, done, err := openTokens(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer done()
	if err := tokens.Revoke(ctx, *name); err != nil {
		if account.IsCode(err, account.ENotFound) {
			return fmt.Errorf("no live admin token is named %q (see keyshift admin token list)", *name)
		}
		return err
	}
	fmt.Fprintf(e.Stdout, "token %q revoked\n", *name)
	return nil
}

func scopeList(ss []admintoken.Scope) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = string(s)
	}
	return strings.Join(names, ",")
}
