package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/userfile"
)

// eventExport is the audit event of one `keyshift export` run, successful
// or not: who ran it where, into what, and how much went out.
const eventExport = "export"

// exportCounts is what one export wrote.
type exportCounts struct {
	Members, Passwords, Passkeys int
}

// exportCmd writes every member, with password hash and passkeys, in the
// format `keyshift import` reads (docs/import.md, "Export").
func exportCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "export", "export [--config FILE] [--out FILE] [--format jsonl|csv]")
	cfgPath := cli.ConfigFlag(fs)
	out := fs.String("out", "", "write to `file` (created 0600; it holds password hashes) instead of standard output")
	format := fs.String("format", userfile.FormatJSONL, "file format: jsonl or csv")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	if *format != userfile.FormatJSONL && *format != userfile.FormatCSV {
		fmt.Fprintf(e.Stderr, "keyshift export: unknown --format %q: want jsonl or csv\n", *format)
		return cli.ErrUsage
	}
	_, db, err := cli.OpenCurrent(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()

	start := time.Now()
	dest := "standard output"
	var n exportCounts
	if *out == "" || *out == "-" {
		n, err = exportTo(ctx, db, e.Stdout, *format)
	} else {
		dest = *out
		n, err = exportFile(ctx, db, *out, *format)
	}
	ev := exportEvent(e, *format, dest, n, err)
	// The audit row is written after the file is in place: an export that
	// cannot be audited is taken back (removed); one written to standard
	// output cannot be, and the error says so.
	if aerr := db.AppendEvent(context.WithoutCancel(ctx), ev); aerr != nil {
		aerr = fmt.Errorf("recording the export in the audit log: %w", aerr)
		if err == nil && dest != "standard output" {
			os.Remove(*out)
			aerr = fmt.Errorf("%w; %s removed", aerr, *out)
		}
		return errors.Join(err, aerr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stderr, "keyshift export: %d members (%d with a password, %d passkeys) written to %s as %s in %s\n",
		n.Members, n.Passwords, n.Passkeys, dest, *format, time.Since(start).Round(time.Millisecond))
	return nil
}

// exportFile writes the export to a temporary file beside path and renames
// it into place once complete, so a failed or interrupted export leaves
// neither a half file nor a temporary one.
func exportFile(ctx context.Context, db *store.DB, path, format string) (n exportCounts, err error) {
	// CreateTemp makes the file 0600 from the start: the hashes are never
	// readable by others, not even for a moment.
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return n, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if n, err = exportTo(ctx, db, f, format); err != nil {
		return n, err
	}
	if err = f.Sync(); err != nil {
		return n, err
	}
	if err = f.Close(); err != nil {
		return n, err
	}
	return n, os.Rename(f.Name(), path)
}

// exportTo writes every member to w.
func exportTo(ctx context.Context, db *store.DB, w io.Writer, format string) (exportCounts, error) {
	var n exportCounts
	fw, err := userfile.NewWriter(w, format)
	if err != nil {
		return n, err
	}
	err = db.EachMember(ctx, 0, func(m *store.Member) error {
		row, err := userfile.FromAccount(m.User, m.Password, m.Passkeys)
		if err != nil {
			return err
		}
		if err := fw.Write(&row); err != nil {
			return err
		}
		n.Members++
		n.Passkeys += len(m.Passkeys)
		if m.Password != nil {
			n.Passwords++
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, fw.Flush()
}

// exportEvent is the audit row of a run that ended with err (nil: success).
// The operator is named by OS user and host: the CLI has no keyshift
// identity, and these are what an investigation asks first.
func exportEvent(e *cli.Env, format, dest string, n exportCounts, err error) *account.Event {
	return cliEvent(e, eventExport, map[string]any{"members": n.Members, "passwords": n.Passwords, "passkeys": n.Passkeys,
		"format": format, "destination": dest}, err)
}
