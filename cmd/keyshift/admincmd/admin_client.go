package admincmd

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/oidcprovider"
)

var adminClientCommands = []cli.Command{
	{Name: "create", Summary: "register an OpenID Connect app: create --name N --redirect-uri U… [--logout-uri U]… [--public] (secret shown once)", Run: adminClientCreateCmd},
	{Name: "list", Summary: "list the apps, revoked ones too, and those of oidc.clients_file", Run: adminClientListCmd},
	{Name: "secret", Summary: "make a client secret and the secret_hash oidc.clients_file takes", Run: adminClientSecretCmd},
	{Name: "revoke", Summary: "stop an app at once and end its tokens: revoke --id ID", Run: adminClientRevokeCmd},
}

func adminClientCmd(ctx context.Context, e *cli.Env, args []string) error {
	return cli.Subcommand(ctx, e, "admin client", adminClientCommands, args)
}

func adminClientCreateCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "admin client create", "admin client create --name N --redirect-uri U… [--logout-uri U]… [--public] [--config FILE] [--json]")
	cfgPath := cli.ConfigFlag(fs)
	name := fs.String("name", "", "the app's `name`")
	var redirects, logouts cli.ListFlag
	fs.Var(&redirects, "redirect-uri", "an exact `URL` the app receives codes at (repeatable)")
	fs.Var(&logouts, "logout-uri", "an exact `URL` sign-out may return to (repeatable)")
	public := fs.Bool("public", false, "a browser or native app with no secret: PKCE S256 required")
	asJSON := fs.Bool("json", false, `print {"clientId","clientSecret"} as JSON`)
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	_, db, err := cli.OpenCurrent(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	c, secret, err := oidcprovider.CreateClient(ctx, db, oidcprovider.NewClient{Name: *name, RedirectURIs: redirects, LogoutURIs: logouts, Public: *public}, time.Now())
	if err != nil {
		return cli.PlainError(err)
	}
	if *asJSON {
		out := map[string]any{"clientId": c.ID, "name": c.Name, "redirectUris": c.RedirectURIs, "public": c.Public()}
		if secret != "" {
			out["clientSecret"] = secret
		}
		return json.NewEncoder(e.Stdout).Encode(out)
	}
	fmt.Fprintf(e.Stdout, "client_id:     %s\n", c.ID)
	if secret != "" {
		fmt.Fprintf(e.Stdout, "client_secret: %s\n", secret)
		fmt.Fprintln(e.Stderr, "the secret is shown once: keep it now")
	} else {
		fmt.Fprintln(e.Stderr, "a public client: no secret; it must send code_challenge with code_challenge_method=S256")
	}
	return nil
}

func adminClientListCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "admin client list", "admin client list [--config FILE] [--json]")
	cfgPath := cli.ConfigFlag(fs)
	asJSON := fs.Bool("json", false, "print the list as JSON")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	cfg, db, err := cli.OpenCurrent(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := db.OIDCClients(ctx)
	if err != nil {
		return err
	}
	source := map[string]string{}
	if cfg.OIDC.ClientsFile != "" {
		static, err := oidcprovider.LoadClientsFile(cfg.OIDC.ClientsFile)
		if err != nil {
			return err
		}
		for _, c := range static {
			source[c.ID] = "config"
		}
		list = append(static, list...)
	}
	if *asJSON {
		type row struct {
			ID           string     `json:"clientId"`
			Name         string     `json:"name"`
			Public       bool       `json:"public"`
			RedirectURIs []string   `json:"redirectUris"`
			LogoutURIs   []string   `json:"logoutUris"`
			Source       string     `json:"source"`
			CreatedAt    *time.Time `json:"createdAt"`
			RevokedAt    *time.Time `json:"revokedAt"`
		}
		rows := []row{}
		for _, c := range list {
			rows = append(rows, row{c.ID, c.Name, c.Public(), c.RedirectURIs, append([]string{}, c.LogoutURIs...),
				cmp.Or(source[c.ID], "database"), cli.TimeOrNil(c.CreatedAt), cli.TimeOrNil(c.RevokedAt)})
		}
		return json.NewEncoder(e.Stdout).Encode(map[string]any{"clients": rows})
	}
	if len(list) == 0 {
		fmt.Fprintln(e.Stdout, "no clients")
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT ID\tNAME\tTYPE\tFROM\tREDIRECT URIS\tCREATED\tREVOKED")
	for _, c := range list {
		kind := "confidential"
		if c.Public() {
			kind = "public"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, kind, cmp.Or(source[c.ID], "database"), strings.Join(c.RedirectURIs, " "),
			cli.TimeOrDash(c.CreatedAt, "-"), cli.TimeOrDash(c.RevokedAt, "-"))
	}
	return tw.Flush()
}

func adminClientRevokeCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "admin client revoke", "admin client revoke --id ID [--config FILE]")
	cfgPath := cli.ConfigFlag(fs)
	id := fs.String("id", "", "the `client_id` to stop")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	if *id == "" {
		fmt.Fprintln(e.Stderr, "keyshift admin client revoke: --id is required")
		fs.Usage()
		return cli.ErrUsage
	}
	_, db, err := cli.OpenCurrent(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.RevokeOIDCClient(ctx, *id, time.Now()); err != nil {
		if account.IsCode(err, account.ENotFound) {
			return fmt.Errorf("no live client has the id %q (see keyshift admin client list)", *id)
		}
		return err
	}
	fmt.Fprintf(e.Stdout, "client %s revoked; its tokens no longer work\n", *id)
	return nil
}

func adminClientSecretCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "admin client secret", "admin client secret")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	secret := account.Random{}.NewToken()
	fmt.Fprintf(e.Stdout, "client_secret: %s\nsecret_hash:   %s\n", secret, oidcprovider.HashSecret(secret))
	fmt.Fprintln(e.Stderr, "give the app client_secret; put secret_hash in oidc.clients_file. keyshift keeps only the hash")
	return nil
}

var adminKeysCommands = []cli.Command{
	{Name: "rotate", Summary: "make a new key to sign OpenID Connect tokens; old keys stay published until their tokens expire", Run: adminKeysRotateCmd},
}

func adminKeysCmd(ctx context.Context, e *cli.Env, args []string) error {
	return cli.Subcommand(ctx, e, "admin keys", adminKeysCommands, args)
}

func adminKeysRotateCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "admin keys rotate", "admin keys rotate [--config FILE]")
	cfgPath := cli.ConfigFlag(fs)
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	_, db, err := cli.OpenCurrent(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	// An old key verifies what it signed: ID tokens and, through
	// introspection, nothing longer-lived. Keep it an hour past the longest.
	keep := max(oidcprovider.DefaultLifetimes.ID, oidcprovider.DefaultLifetimes.Access) + time.Hour
	k, err := oidcprovider.RotateKey(ctx, db, time.Now(), keep)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "signing key %s (%s) made; earlier keys stay in the JWKS for %s\n", k.ID, k.Alg, keep)
	return nil
}
