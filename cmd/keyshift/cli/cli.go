// Package cli is the plumbing every keyshift subcommand shares: what a
// command gets from the outside world (Env), subcommand groups, flag sets
// that print help and usage the same way, and opening the configured
// database beside running servers. The commands live in package main and
// in packages of command groups (admincmd).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/store"
)

// Env is what every subcommand gets from the outside world, so that tests
// call the command line exactly as main does.
type Env struct {
	Getenv func(string) string
	// Environ lists the process's variables as os.Environ does; serve warns
	// about the KEYSHIFT_* ones that are no setting (and that Getenv sees).
	Environ func() []string
	Stdout  io.Writer
	Stderr  io.Writer
}

// Command is one subcommand. Each lives in a file of its own and has one
// line in its group's list.
type Command struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, e *Env, args []string) error
}

// ErrUsage marks an error whose message is usage help already printed.
var ErrUsage = errors.New("usage")

// ErrQuiet makes a command exit 1 without an error line: what it printed
// already says why (doctor's findings).
var ErrQuiet = errors.New("failed")

// Subcommand runs the subcommand of group named by args[0], or prints the
// group's usage.
func Subcommand(ctx context.Context, e *Env, group string, cmds []Command, args []string) error {
	if len(args) > 0 {
		for _, c := range cmds {
			if c.Name == args[0] {
				return c.Run(ctx, e, args[1:])
			}
		}
	}
	w := e.Stderr
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w = e.Stdout
	} else {
		fmt.Fprintf(e.Stderr, "keyshift %s: unknown subcommand %q\n\n", group, args[0])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: keyshift %s <subcommand> [flags]\n\nSubcommands:\n", group)
	for _, c := range cmds {
		fmt.Fprintf(&b, "  %-10s %s\n", c.Name, c.Summary)
	}
	fmt.Fprint(w, b.String())
	if w == e.Stdout && len(args) > 0 {
		return nil
	}
	return ErrUsage
}

// NewFlagSet returns a flag set that prints its help to stdout on --help
// and reports bad flags as ErrUsage.
func NewFlagSet(e *Env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: keyshift %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// ParseFlags parses args; --help prints to stdout and returns flag.ErrHelp.
func ParseFlags(e *Env, fs *flag.FlagSet, args []string) error {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fs.SetOutput(e.Stdout)
			fs.Usage()
			return flag.ErrHelp
		}
	}
	if err := fs.Parse(args); err != nil {
		return ErrUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.Stderr, "keyshift %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return ErrUsage
	}
	return nil
}

// ConfigFlag adds --config, the YAML configuration file every command
// that opens the database reads, to fs.
func ConfigFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "", "YAML configuration `file` (KEYSHIFT_* variables override it)")
}

// OpenCurrent loads the configuration at cfgPath (with the environment
// over it) and opens its database for a command that works beside running
// servers: the schema must be current, and nothing is migrated.
func OpenCurrent(ctx context.Context, e *Env, cfgPath string) (config.Config, *store.DB, error) {
	cfg, err := config.Load(cfgPath, e.Getenv)
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

// Operator names who runs the CLI in audits: the OS user.
func Operator(e *Env) string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	if u := e.Getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

// PlainError turns a coded refusal into its sentence for the terminal.
func PlainError(err error) error {
	if ae, ok := errors.AsType[*account.Error](err); ok && ae.Code != account.EInternal {
		return errors.New(ae.Detail)
	}
	return err
}

// ListFlag is a repeatable string flag.
type ListFlag []string

func (l *ListFlag) String() string     { return strings.Join(*l, ",") }
func (l *ListFlag) Set(v string) error { *l = append(*l, v); return nil }

// TimeOrNil is t in UTC for JSON, null when zero.
func TimeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// TimeOrDash is t in RFC 3339 for a table, none when zero.
func TimeOrDash(t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}
