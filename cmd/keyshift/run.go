package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/keyshift/keyshift/cmd/keyshift/admincmd"
	"github.com/keyshift/keyshift/cmd/keyshift/cli"
)

var commands []cli.Command

func init() {
	commands = []cli.Command{
		{Name: "serve", Summary: "run the keyshift server", Run: serveCmd},
		{Name: "migrate", Summary: "apply database migrations, or show their status", Run: migrateCmd},
		{Name: "import", Summary: "import members with their password hashes and passkeys from a file", Run: importCmd},
		{Name: "bench", Summary: "measure sign-in and session speed on this machine", Run: benchCmd},
		{Name: "rollout", Summary: "move the staged rollout: status, set PHASE, percent N, cohort, release, history, retire", Run: rolloutCmd},
		{Name: "admin", Summary: "operator tasks: admin API tokens (admin token), stuck mail (admin mail), accounts without an address key (admin email-keys), old telemetry (admin prune), the admin role (admin grant), OpenID Connect apps and keys (admin client, admin keys)", Run: admincmd.Run},
		{Name: "report", Summary: "print the rollout's figures: enrollment, sign-ins by method, recovery, time to sign in", Run: reportCmd},
		{Name: "export", Summary: "write every member, password hash and passkey to a file that import reads", Run: exportCmd},
		{Name: "backup", Summary: "copy the database while servers run (SQLite: VACUUM INTO; PostgreSQL: pg_dump), into a file only its owner reads", Run: backupCmd},
		{Name: "restore", Summary: "put a backup into an empty database (--force to replace one); stop keyshift first", Run: restoreCmd},
		{Name: "audit", Summary: "report every recovery channel, what it bypasses and its use, accounts by readiness, weak password hashes; --strict exits 1 on a high finding", Run: auditCmd},
		{Name: "doctor", Summary: "check the configuration, mail servers, database and files before members find what is wrong; exit 1 on a high finding", Run: doctorCmd},
		{Name: "version", Summary: "print the version, commit and Go version of this binary", Run: versionCmd},
		{Name: "healthcheck", Summary: "ask the configured keyshift whether it is ready (GET /readyz); exit 0 or 1, for container health checks", Run: healthcheckCmd},
	}
}

// run is main without the process: it returns the exit code (0 ok, 1
// failure, 2 usage).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	e := &cli.Env{Getenv: getenv, Environ: os.Environ, Stdout: stdout, Stderr: stderr}
	if len(args) < 2 || args[1] == "-h" || args[1] == "--help" || args[1] == "help" {
		usage(stdout)
		if len(args) < 2 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.Name == args[1] {
			err := c.Run(ctx, e, args[2:])
			switch {
			case err == nil, errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, cli.ErrUsage):
				return 2
			case errors.Is(err, cli.ErrQuiet):
				return 1
			default:
				fmt.Fprintf(stderr, "keyshift %s: %v\n", c.Name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "keyshift: unknown command %q\n\n", args[1])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("keyshift: passwords to passkeys, in stages.\n\nUsage: keyshift <command> [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-10s %s\n", c.Name, c.Summary)
	}
	b.WriteString("\nRun 'keyshift <command> --help' for a command's flags. Configuration: docs/configuration.md.\n")
	io.WriteString(w, b.String())
}
