package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/store"
	"io"
	"os"
	"strings"
)

// command is one subcommand. Each lives in a file of its own and has one
// line in commands.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what every subcommand gets from the outside world, so that tests
// call run exactly as main does.
type env struct {
	getenv func(string) string
	// environ lists the process's variables as os.Environ does; serve warns
	// about the KEYSHIFT_* ones that are no setting (and that getenv sees).
	environ func() []string
	stdout  io.Writer
	stderr  io.Writer
}

var commands []command

func init() {
	commands = []command{
		{"serve", "run the keyshift server", serveCmd},
		{"migrate", "apply database migrations, or show their status", migrateCmd},
		{"import", "import members with their password hashes and passkeys from a file", importCmd},
		{"bench", "measure sign-in and session speed on this machine", benchCmd},
		{"rollout", "move the staged rollout: status, set PHASE, percent N, cohort, release, history, retire", rolloutCmd},
		{"admin", "operator tasks: admin API tokens (admin token), stuck mail (admin mail), accounts without an address key (admin email-keys), old telemetry (admin prune)", adminCmd},
		{"report", "print the rollout's figures: enrollment, sign-ins by method, recovery, time to sign in", reportCmd},
		{"export", "write every member, password hash and passkey to a file that import reads", exportCmd},
		{"backup", "copy the database while servers run (SQLite: VACUUM INTO; PostgreSQL: pg_dump), into a file only its owner reads", backupCmd},
		{"restore", "put a backup into an empty database (--force to replace one); stop keyshift first", restoreCmd},
		{"audit", "report every recovery channel, what it bypasses and its use, accounts by readiness, weak password hashes; --strict exits 1 on a high finding", auditCmd},
		{"doctor", "check the configuration, mail servers, database and files before members find what is wrong; exit 1 on a high finding", doctorCmd},
		{"version", "print the version, commit and Go version of this binary", versionCmd},
		{"healthcheck", "ask the configured keyshift whether it is ready (GET /readyz); exit 0 or 1, for container health checks", healthcheckCmd},
	}
}

// errUsage marks an error whose message is usage help already printed.
var errUsage = errors.New("usage")

// errQuiet makes a command exit 1 without an error line: what it printed
// already says why (doctor's findings).
var errQuiet = errors.New("failed")

// run is main without the process: it returns the exit code (0 ok, 1
// failure, 2 usage).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	e := &env{getenv: getenv, environ: os.Environ, stdout: stdout, stderr: stderr}
	if len(args) < 2 || args[1] == "-h" || args[1] == "--help" || args[1] == "help" {
		usage(stdout)
		if len(args) < 2 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[1] {
			err := c.run(ctx, e, args[2:])
			switch {
			case err == nil, errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			case errors.Is(err, errQuiet):
				return 1
			default:
				fmt.Fprintf(stderr, "keyshift %s: %v\n", c.name, err)
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
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun 'keyshift <command> --help' for a command's flags. Configuration: docs/configuration.md.\n")
	io.WriteString(w, b.String())
}

// newFlagSet returns a flag set that prints its help to stdout on --help
// and reports bad flags as errUsage.
func newFlagSet(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: keyshift %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; --help prints to stdout and returns flag.ErrHelp.
func parseFlags(e *env, fs *flag.FlagSet, args []string) error {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fs.SetOutput(e.stdout)
			fs.Usage()
			return flag.ErrHelp
		}
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "keyshift %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

// openCurrent loads the configuration at cfgPath (with the environment
// over it) and opens its database for a command that works beside running
// servers: the schema must be current, and nothing is migrated.
func openCurrent(ctx context.Context, e *env, cfgPath string) (config.Config, *store.DB, error) {
	cfg, err := config.Load(cfgPath, e.getenv)
	if err != nil {
		return cfg, nil, err
	}
	db, err := store.OpenNoMigrate(ctx, cfg.Database)
	if err != nil {
		return cfg, nil, err
	}
	if err := db.CheckSchema(ctx); err != nil {
		db.Close()
		return cfg, nil, err
	}
	return cfg, db, nil
}
