package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/importer"
	"github.com/keyshift/keyshift/internal/password/legacy"
	"github.com/keyshift/keyshift/internal/store"
)

const importSynopsis = `import FILE [flags]

Imports members from FILE (JSON Lines or CSV, see docs/import.md) with their
password hashes as the old system stored them and their passkeys. Bad rows
never stop the import: they go to the reject file with their line and reason.
Rows matching an existing account (by external_id, then email) change nothing,
so running the same file again is safe. Exit status 0 means the run completed,
whatever it rejected; 1 means the run itself failed (committed batches stay:
continue with --resume).

Flags:`

func importCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "import", importSynopsis)
	cfgPath := cli.ConfigFlag(fs)
	format := fs.String("format", "", "file `format`: jsonl or csv (default: from the extension: .jsonl, .ndjson, .json, .csv)")
	batch := fs.Int("batch-size", 0, "rows per transaction (default 10000 on SQLite, 6666 on PostgreSQL: see docs/import.md)")
	writers := fs.Int("writers", 0, "transactions at once (default 1 on SQLite, which has one writer, 2 on PostgreSQL)")
	dryRun := fs.Bool("dry-run", false, "validate every row against the file and the database; write nothing to the database")
	resume := fs.Bool("resume", false, "continue the interrupted import of this file after its last committed batch")
	rejects := fs.String("rejects", "", "reject file `path` (default FILE.rejects.jsonl; mode 0600, it may hold hashes)")
	quiet := fs.Bool("quiet", false, "no progress reports (the summary is still printed)")
	fbKey := fs.String("firebase-signer-key", "", "Firebase scrypt: the project's base64_signer_key (`base64`)")
	fbSep := fs.String("firebase-salt-separator", "", "Firebase scrypt: the project's base64_salt_separator (`base64`)")
	fbRounds := fs.Int("firebase-rounds", 0, "Firebase scrypt: the project's rounds")
	fbMem := fs.Int("firebase-mem-cost", 0, "Firebase scrypt: the project's mem_cost")
	file, err := parseWithFile(e, fs, args)
	if err != nil {
		return err
	}
	// 0 is the default (the store's choice), not a value to pass.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *batch < 0 || *batch > 100_000 || set["batch-size"] && *batch == 0 {
		return fmt.Errorf("--batch-size %d: want 1 to 100000", *batch)
	}
	if *writers < 0 || *writers > 16 || set["writers"] && *writers == 0 {
		return fmt.Errorf("--writers %d: want 1 to 16", *writers)
	}
	fb, err := firebaseParams(*fbKey, *fbSep, *fbRounds, *fbMem)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath, e.Getenv)
	if err != nil {
		return err
	}
	var db *store.DB
	if *dryRun {
		// A dry run changes nothing, not even the schema.
		if db, err = store.OpenNoMigrate(ctx, cfg.Database); err == nil {
			if err = db.CheckSchema(ctx); err != nil {
				db.Close()
			}
		}
	} else {
		db, err = store.Open(ctx, cfg.Database)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	opt := importer.Options{
		Path: file, Format: *format, BatchSize: *batch, Writers: *writers, DryRun: *dryRun, Resume: *resume, Rejects: *rejects,
		Legacy: legacy.Options{Firebase: fb},
	}
	if !*quiet {
		opt.Progress = e.Stderr
		f, ok := e.Stderr.(*os.File)
		opt.Terminal = ok && term.IsTerminal(int(f.Fd()))
	}
	sum, err := importer.Run(ctx, db, opt)
	if err != nil {
		return err
	}
	printSummary(e.Stdout, sum)
	if !*quiet {
		printRolloutHint(ctx, e, db)
	}
	return nil
}

// printRolloutHint tells the operator, after an import, what the imported
// members will be offered and how to change it. A rollout that cannot be
// read is no reason to fail an import that succeeded.
func printRolloutHint(ctx context.Context, e *cli.Env, db *store.DB) {
	st, _, err := db.Rollout(ctx)
	if err != nil {
		fmt.Fprintf(e.Stderr, "rollout: could not read it: %v\n", err)
		return
	}
	fmt.Fprintf(e.Stderr, "rollout: phase %s at %d %%. Change it with `keyshift rollout set PHASE` and `keyshift rollout percent N` (docs/rollout.md).\n",
		st.Phase, st.Percent)
}

// parseWithFile parses flags before and after the one FILE argument.
func parseWithFile(e *cli.Env, fs *flag.FlagSet, args []string) (string, error) {
	if slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "--help" || a == "-help" }) {
		return "", cli.ParseFlags(e, fs, []string{"--help"})
	}
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return "", cli.ErrUsage
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		fmt.Fprintf(e.Stderr, "keyshift import: want one FILE, got %d\n", len(files))
		fs.Usage()
		return "", cli.ErrUsage
	}
	return files[0], nil
}

// firebaseParams decodes the Firebase flags: all or none.
func firebaseParams(key, sep string, rounds, mem int) (*legacy.FirebaseParams, error) {
	if key == "" && sep == "" && rounds == 0 && mem == 0 {
		return nil, nil
	}
	if key == "" || sep == "" || rounds <= 0 || mem <= 0 {
		return nil, fmt.Errorf("Firebase scrypt needs all four of --firebase-signer-key, --firebase-salt-separator, " +
			"--firebase-rounds and --firebase-mem-cost (Firebase console: Authentication › Users › Password hash parameters)")
	}
	k, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return nil, fmt.Errorf("--firebase-signer-key is not base64: %w", err)
	}
	s, err := base64.StdEncoding.DecodeString(sep)
	if err != nil {
		return nil, fmt.Errorf("--firebase-salt-separator is not base64: %w", err)
	}
	return &legacy.FirebaseParams{SignerKey: k, SaltSeparator: s, Rounds: rounds, MemCost: mem}, nil
}

func printSummary(w io.Writer, s *importer.Summary) {
	c := s.Counts
	switch {
	case s.AlreadyDone:
		fmt.Fprintf(w, "%s was imported in full already; nothing to resume. That run:\n", s.File)
	case s.DryRun:
		fmt.Fprintf(w, "dry run of %s: nothing was written to the database\n", s.File)
	default:
		fmt.Fprintf(w, "imported %s in %s", s.File, s.Elapsed.Round(time.Millisecond))
		if secs := s.Elapsed.Seconds(); secs > 0 {
			fmt.Fprintf(w, " (%.0f rows/s)", float64(s.ReadNow)/secs)
		}
		fmt.Fprintln(w)
	}
	imported := "imported"
	if s.DryRun {
		imported = "would import"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "read\t%d\t\n", c.Read)
	fmt.Fprintf(tw, "%s\t%d\t\n", imported, c.Imported)
	fmt.Fprintf(tw, "unchanged\t%d\t\n", c.Unchanged)
	fmt.Fprintf(tw, "rejected\t%d\t\n", c.Rejected)
	fmt.Fprintf(tw, "passkeys\t%d\t\n", c.Passkeys)
	tw.Flush()
	if len(c.Reasons) > 0 {
		fmt.Fprintln(w, "rejected by reason:")
		for _, r := range sortedKeys(c.Reasons) {
			fmt.Fprintf(w, "  %-24s %d\n", r, c.Reasons[r])
		}
	}
	if len(c.Formats) > 0 {
		fmt.Fprintln(w, "password hashes by format:")
		for _, f := range sortedKeys(c.Formats) {
			mark := ""
			if legacy.Format(f).Weak() {
				mark = "  weak: fast to brute-force"
			}
			fmt.Fprintf(w, "  %-24s %d%s\n", f, c.Formats[f], mark)
		}
		fmt.Fprintf(w, "weak password hashes: %d (weak formats, or low cost: bcrypt < 10, PBKDF2 < 100,000, SHA-crypt < 5,000)\n", c.Weak)
	}
	if s.Rejects != "" {
		fmt.Fprintf(w, "rejected rows are in %s\n", s.Rejects)
	}
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return int(m[b] - m[a]) // most first
		}
		return strings.Compare(a, b)
	})
	return keys
}
