// Package backup copies a keyshift database while servers run and puts such
// a copy back: SQLite with VACUUM INTO and a file swap, PostgreSQL with
// pg_dump's custom format and pg_restore. A copy holds password hashes and
// server keys, so every file it writes is 0600 from its first byte; the
// pepper is never in it (docs/operations.md, "Backup").
package backup

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// ToolError says that a PostgreSQL client tool is not installed, and what
// the operator can run instead once it is.
type ToolError struct {
	Tool    string // pg_dump or pg_restore
	Install string // how to install it
	Run     string // the command line to run by hand (password elided)
}

func (e *ToolError) Error() string {
	return fmt.Sprintf("%s is not installed (Debian: %s). Run:\n  %s", e.Tool, e.Install, e.Run)
}

// Write makes a consistent copy of db, opened from database, at dest, which
// appears only complete and 0600: a failed copy leaves nothing behind.
func Write(ctx context.Context, db *store.DB, database, dest string) error {
	return privateFile(dest, func(tmp string) error {
		if db.Dialect() == "sqlite" {
			return db.BackupSQLite(ctx, tmp)
		}
		return pgDump(ctx, db, database, tmp)
	})
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

// pgDump runs pg_dump for the schema keyshift uses.
func pgDump(ctx context.Context, db *store.DB, database, dest string) error {
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
		return &ToolError{Tool: "pg_dump", Install: "apt-get install postgresql-client, of the server's major version or newer",
			Run: fmt.Sprintf("PGPASSWORD=… pg_dump %s --file=BACKUP '%s'", strings.Join(args, " "), shown)}
	}
	return runTool(ctx, bin, append(args, "--file="+dest, libpq), env)
}

// RestorePostgres loads a pg_dump backup into the schema database uses,
// which must be empty unless force. The backup's schema must be that one.
func RestorePostgres(ctx context.Context, database, file string, force bool) error {
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
		return &ToolError{Tool: "pg_restore", Install: "apt-get install postgresql-client",
			Run: fmt.Sprintf("PGPASSWORD=… pg_restore %s --dbname='%s' %s\nthen keyshift migrate.", strings.Join(args, " "), shown, file)}
	}
	dumped, err := dumpSchemas(ctx, bin, file)
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
func dumpSchemas(ctx context.Context, pgRestore, file string) ([]string, error) {
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, pgRestore, "--list", file)
	cmd.Stdout, cmd.Stderr = &out, &stderr
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

// RestoreSQLite checks that file is a keyshift SQLite database this binary
// can run, then puts a copy of it in place of path, which must be missing or
// empty unless force.
func RestoreSQLite(ctx context.Context, file, path string, force bool) error {
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
		if err := checkSchema(ctx, file, tmp); err != nil {
			return err
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

// checkSchema refuses a copy (tmp, of file) that is not keyshift's or is
// newer than this binary knows.
func checkSchema(ctx context.Context, file, tmp string) error {
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
	return nil
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
