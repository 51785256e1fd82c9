package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/bench"
)

// benchImportCmd measures the real `keyshift import` and `keyshift export`,
// each run as a child process of this binary, on a generated file, into a
// fresh SQLite file and (with --postgres) a fresh PostgreSQL schema: wall
// time, rows/s and the child's peak resident memory.
func benchImportCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "bench import", "bench import [--count 1000000] [--seed 1] [--file FILE] [--postgres URL] [--bin PATH]")
	count := fs.Int("count", 1_000_000, "members to generate")
	seed := fs.Uint64("seed", 1, "generator `seed`")
	file := fs.String("file", "", "import this JSON Lines `file` instead of generating one")
	pg := fs.String("postgres", "", "also measure PostgreSQL: a postgres:// `URL` in whose database a fresh schema is made and dropped")
	bin := fs.String("bin", "", "the keyshift `binary` to run (default: this one)")
	keep := fs.Bool("keep", false, "keep the temporary directory (file, databases, exports) and the PostgreSQL schema")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	if *bin == "" {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		*bin = self
	}
	dir, err := os.MkdirTemp("", "keyshift-bench-import-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintf(e.Stderr, "keeping %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if *file == "" {
		*file = filepath.Join(dir, "members.jsonl")
		start := time.Now()
		if err := bench.GenFile(ctx, *file, *count, *seed); err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "generated %d members in %s\n", *count, time.Since(start).Round(time.Millisecond))
	}
	fi, err := os.Stat(*file)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "keyshift bench import: %s (%.0f MB), %d CPUs, load average before: %s\n\n",
		filepath.Base(*file), float64(fi.Size())/1e6, runtime.NumCPU(), bench.LoadAverage())
	return bench.ImportRun{Bin: *bin, File: *file, Dir: dir, Postgres: *pg, Keep: *keep}.Run(ctx, e.Stdout)
}
