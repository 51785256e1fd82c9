package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// The audit events of backup and restore.
const (
	eventBackup  = "backup"
	eventRestore = "restore"
)

// backupCmd makes a consistent copy of the database while servers run:
// SQLite with VACUUM INTO, PostgreSQL with pg_dump's custom format. The copy
// holds password hashes and server keys, so it is 0600 from its first byte.
// The pepper is not in it, by design (docs/operations.md, "Backup").
func backupCmd(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "backup", "backup --out FILE [--config FILE] [--force]")
	cfgPath := fs.String("config", "", "YAML configuration `file` (KEYSHIFT_* variables override it)")
	out := fs.String("out", "", "write the backup to `file` (created 0600)")
	force := fs.Bool("force", false, "replace --out if it exists")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(e.stderr, "keyshift backup: --out FILE is required")
		return errUsage
	}
	if _, err := os.Stat(*out); err == nil && !*force {
		return fmt.Errorf("%s exists; add --force to replace it", *out)
	}
	cfg, db, err := openCurrent(ctx, e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	err = privateFile(*out, func(tmp string) error {
		if db.Dialect() == "sqlite" {
			return db.BackupSQLite(ctx, tmp)
		}
		return pgDump(ctx, e, db, cfg.Database, tmp)
	})
	ev := cliEvent(e, eventBackup, map[string]any{"destination": *out, "database": db.Dialect()}, err)
	if aerr := db.AppendEvent(context.WithoutCancel(ctx), ev); aerr != nil && err == nil {
		os.Remove(*out)
		return fmt.Errorf("recording the backup in the audit log: %w; %s removed", aerr, *out)
	}
	if err != nil {
		return err
	}
	size := int64(0)
	if fi, err := os.Stat(*out); err == nil {
		size = fi.Size()
	}
	fmt.Fprintf(e.stderr, "keyshift backup: %s database written to %s (%d bytes) in %s\n", db.Dialect(), *out, size, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(e.stderr, "keyshift backup: the pepper is not in it; keep %s with it, apart\n", pepperSource(cfg))
	return nil
}

// restoreCmd puts a backup into the configured database, which must be
// empty unless --force. Stop every keyshift on that database first.
func restoreCmd(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "restore", "restore FILE [--config FILE] [--force]")
	cfgPath := fs.String("config", "", "YAML configuration `file` (KEYSHIFT_* variables override it)")
	force := fs.Bool("force", false, "replace a database that is not empty (stop keyshift first)")
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(e.stderr, "Usage: keyshift restore FILE [--config FILE] [--force]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return parseFlags(e, fs, args)
		}
		return errUsage
	}
	file := args[0]
	if err := parseFlags(e, fs, args[1:]); err != nil {
		return err
	}
	if _, err := os.Stat(file); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath, e.getenv)
	if err != nil {
		return err
	}
	start := time.Now()
	driver, path := cfg.DatabaseDriver()
	if driver == "sqlite" {
		err = restoreSQLite(ctx, file, path, *force)
	} else {
		err = restorePostgres(ctx, e, cfg.Database, file, *force)
	}
	if err != nil {
		return err
	}
	// Migrate a backup of an older keyshift forward, and record the restore
	// in the restored audit log.
	db, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return fmt.Errorf("the restored database: %w", err)
	}
	defer db.Close()
	if err := db.AppendEvent(ctx, cliEvent(e, eventRestore, map[string]any{"source": file, "database": db.Dialect(), "force": *force}, nil)); err != nil {
		return fmt.Errorf("recording the restore in the audit log: %w", err)
	}
	fmt.Fprintf(e.stderr, "keyshift restore: %s restored into the %s database in %s\n", file, db.Dialect(), time.Since(start).Round(time.Millisecond))
	return nil
}

// privateFile runs write on a path inside a new 0700 directory beside dest,
// makes the result 0600 and renames it to dest: nobody else can open the
// file while it is written, and a failed write leaves nothing behind.
func privateFile(dest string, write func(tmp string) error) error {
	dir, err := os.MkdirTemp(filepath.Dir(dest), ".keyshift-backup-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "backup")
	if err := write(tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, dest)
}

// pgDump runs pg_dump for the schema keyshift uses, or says exactly what to
// run when pg_dump is not installed.
func pgDump(ctx context.Context, e *env, db *store.DB, database, dest string) error {
	schema, err := db.CurrentSchema(ctx)
	if err != nil {
		return err
	}
	libpq, env, shown, err := sqldb.PostgresTool(database)
	if err != nil {
		return err
	}
	args := []string{"--format=custom", "--schema=" + schema, "--no-owner", "--no-privileges"}
	bin, err := exec.LookPath("pg_dump")
	if err != nil {
		fmt.Fprintf(e.stderr, "keyshift backup: pg_dump is not installed (Debian: apt-get install postgresql-client, of the server's major version or newer). Run:\n  PGPASSWORD=… %s %s --file=BACKUP '%s'\n",
			"pg_dump", strings.Join(args, " "), shown)
		return errors.New("pg_dump is not installed")
	}
	return runTool(ctx, bin, append(args, "--file="+dest, libpq), env)
}

func restorePostgres(ctx context.Context, e *env, database, file string, force bool) error {
	db, err := store.OpenNoMigrate(ctx, database)
	if err != nil {
		return err
	}
	defer db.Close()
	schema, err := db.CurrentSchema(ctx)
	if err != nil {
		return fmt.Errorf("the database's search_path names no schema that exists: create it first (%w)", err)
	}
	if empty, err := db.Empty(ctx); err != nil {
		return err
	} else if !empty && !force {
		return fmt.Errorf("schema %q of the database is not empty; stop keyshift and add --force to replace what it holds", schema)
	}
	libpq, env, shown, err := sqldb.PostgresTool(database)
	if err != nil {
		return err
	}
	args := []string{"--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--schema=" + schema}
	if force {
		args = append(args, "--clean", "--if-exists")
	}
	bin, err := exec.LookPath("pg_restore")
	if err != nil {
		fmt.Fprintf(e.stderr, "keyshift restore: pg_restore is not installed (Debian: apt-get install postgresql-client). Run:\n  PGPASSWORD=… pg_restore %s --dbname='%s' %s\nthen keyshift migrate.\n",
			strings.Join(args, " "), shown, file)
		return errors.New("pg_restore is not installed")
	}
	dumped, err := dumpSchemas(ctx, file)
	if err != nil {
		return err
	}
	if len(dumped) != 1 || dumped[0] != schema {
		return fmt.Errorf("the backup holds schema %s but the database uses %q: set search_path in KEYSHIFT_DATABASE to the backup's schema", strings.Join(dumped, ", "), schema)
	}
	return runTool(ctx, bin, append(args, "--dbname="+libpq, file), env)
}

// dumpSchemas lists the schemas of the tables in a pg_dump custom-format
// file (pg_restore --list: "; id oid TABLE schema name owner").
func dumpSchemas(ctx context.Context, file string) ([]string, error) {
	bin, err := exec.LookPath("pg_restore")
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--list", file)
	cmd.Stdout = &out
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s is not a pg_dump custom-format file: %s", file, strings.TrimSpace(stderr.String()))
	}
	seen := map[string]bool{}
	var schemas []string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// Skip "TABLE DATA schema name …": the definitions name every schema.
		if len(f) >= 5 && !strings.HasPrefix(f[0], ";") && f[3] == "TABLE" && f[4] != "DATA" && !seen[f[4]] {
			seen[f[4]] = true
			schemas = append(schemas, f[4])
		}
	}
	if len(schemas) == 0 {
		return nil, fmt.Errorf("%s holds no table", file)
	}
	return schemas, nil
}

// runTool runs a PostgreSQL client tool with env added, and returns its
// error output as the error.
func runTool(ctx context.Context, bin string, args, env []string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v: %s", filepath.Base(bin), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// restoreSQLite checks that file is a keyshift SQLite database this binary
// can run, then puts a copy of it in place of path.
func restoreSQLite(ctx context.Context, file, path string, force bool) error {
	if err := isSQLite(file); err != nil {
		return err
	}
	if _, err := os.Stat(path); err == nil {
		db, err := store.OpenNoMigrate(ctx, "sqlite:"+path)
		if err != nil {
			return err
		}
		empty, err := db.Empty(ctx)
		db.Close()
		if err != nil {
			return err
		}
		if !empty && !force {
			return fmt.Errorf("%s is not empty; stop keyshift and add --force to replace it", path)
		}
	}
	return privateFile(path, func(tmp string) error {
		if err := copyFile(file, tmp); err != nil {
			return err
		}
		db, err := store.OpenNoMigrate(ctx, "sqlite:"+tmp)
		if err != nil {
			return err
		}
		st, err := db.Status(ctx)
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		switch {
		case err != nil:
			return err
		case st.Current == 0:
			return fmt.Errorf("%s is an SQLite database but not keyshift's (no migration was applied to it)", file)
		case st.Current > st.Latest:
			return &sqldb.ErrSchemaTooNew{Current: st.Current, Latest: st.Latest}
		}
		// The copy is complete (its WAL checkpointed at close); the old
		// database's WAL and shared memory must not meet it.
		for _, s := range []string{"-wal", "-shm", "-journal"} {
			if err := os.Remove(path + s); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			os.Remove(tmp + s)
		}
		return nil
	})
}

// isSQLite checks the file's header.
func isSQLite(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 16)
	if _, err := io.ReadFull(f, head); err != nil || string(head) != "SQLite format 3\x00" {
		return fmt.Errorf("%s is not an SQLite database (a PostgreSQL backup restores into a postgres:// database)", file)
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// pepperSource says where the pepper of cfg is kept, for the reminder that
// a backup does not hold it.
func pepperSource(cfg config.Config) string {
	switch {
	case cfg.Pepper != "":
		return "KEYSHIFT_PEPPER"
	case cfg.PepperFile != "":
		return cfg.PepperFile
	}
	if driver, path := cfg.DatabaseDriver(); driver == "sqlite" {
		return path + ".pepper"
	}
	return "the pepper"
}

// cliEvent is the audit row of an operator command that ended with err
// (nil: success): what it did (data), and who ran it where, as for export.
func cliEvent(e *env, typ string, data map[string]any, err error) *account.Event {
	osUser := e.getenv("USER")
	if u, uerr := user.Current(); uerr == nil {
		osUser = u.Username
	}
	host, _ := os.Hostname()
	data["os_user"], data["host"] = osUser, host
	ev := &account.Event{At: time.Now(), Type: typ, Method: "cli", Outcome: "success", UserAgent: "keyshift " + Version, Data: data}
	if err != nil {
		ev.Outcome = "failure"
		ev.Data["error"] = err.Error()
	}
	return ev
}
