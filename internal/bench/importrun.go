package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"text/tabwriter"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // freshSchema's driver
)

// What an import of a million members must meet on a 2-core machine
// (docs/benchmarks.md, "Import and export").
const (
	importTargetWall = 60 * time.Second
	importTargetRSS  = 200_000_000 // bytes: 200 MB
)

// ImportRun measures the real `keyshift import` and `keyshift export`, each
// run as a child process, on a members file, into a fresh SQLite file and
// (with Postgres) a fresh PostgreSQL schema: wall time, rows/s and the
// child's peak resident memory.
type ImportRun struct {
	Bin      string // the keyshift binary to run
	File     string // the JSON Lines file to import
	Dir      string // where the databases, rejects and exports go
	Postgres string // a postgres:// URL in whose database a schema is made and dropped; "" skips PostgreSQL
	Keep     bool   // keep the exports and the PostgreSQL schema
}

// Run measures, writing each line of the table to w as soon as it is known.
func (r ImportRun) Run(ctx context.Context, w io.Writer) error {
	type backend struct{ name, database string }
	backends := []backend{{"sqlite", "sqlite:" + filepath.Join(r.Dir, "import.db")}}
	if r.Postgres != "" {
		database, drop, err := freshSchema(ctx, r.Postgres)
		if err != nil {
			return err
		}
		if !r.Keep {
			defer drop()
		}
		backends = append(backends, backend{"postgres", database})
	}
	// Each line is flushed as soon as it is measured (a run takes many
	// minutes, and an interrupted one still shows what it measured); a wide
	// minimum cell width keeps the columns aligned across flushes.
	tw := tabwriter.NewWriter(w, 12, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "backend\tstep\trows\twall\trows/s\tpeak RSS MB\ttargets (60 s, 200 MB)\tload after\t")
	tw.Flush()
	for _, b := range backends {
		env := map[string]string{"KEYSHIFT_DATABASE": b.database}
		res, err := RunChild(ctx, r.Bin, []string{"import", r.File, "--quiet", "--rejects", filepath.Join(r.Dir, b.name+".rejects.jsonl")}, env)
		if err != nil {
			return err
		}
		imported := summaryCount(res.Stdout, "imported")
		if rejected := summaryCount(res.Stdout, "rejected"); rejected != 0 {
			return fmt.Errorf("%s: the import rejected %d rows:\n%s", b.name, rejected, res.Stdout)
		}
		importRow(tw, b.name, "import", imported, res, true)
		out := filepath.Join(r.Dir, b.name+".export.jsonl")
		res, err = RunChild(ctx, r.Bin, []string{"export", "--out", out}, env)
		if err != nil {
			return err
		}
		lines, err := fileLines(out)
		if err != nil {
			return err
		}
		if lines != imported {
			return fmt.Errorf("%s: exported %d members, imported %d", b.name, lines, imported)
		}
		importRow(tw, b.name, "export", lines, res, false)
		if !r.Keep {
			os.Remove(out)
		}
	}
	return tw.Flush()
}

func importRow(tw *tabwriter.Writer, backend, step string, rows int, r ChildResult, target bool) {
	verdict := ""
	if target {
		verdict = "met"
		if r.Wall >= importTargetWall || r.MaxRSSKiB*1024 >= importTargetRSS {
			verdict = "MISSED"
		}
	}
	fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.0f\t%.0f\t%s\t%s\t\n", backend, step, rows, r.Wall.Round(10*time.Millisecond),
		float64(rows)/r.Wall.Seconds(), float64(r.MaxRSSKiB)*1024/1e6, verdict, LoadAverage())
	tw.Flush()
}

func GenFile(ctx context.Context, path string, count int, seed uint64) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := GenUsers(ctx, f, count, seed); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// summaryCount reads a figure ("imported", "rejected") from the import's
// summary table on its standard output; -1 when it is not there.
func summaryCount(summary, name string) int {
	m := regexp.MustCompile(`(?m)^\s*` + name + `\s+(\d+)\s*$`).FindStringSubmatch(summary)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func fileLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	n := 0
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// freshSchema makes an empty schema in the database of pgURL and returns
// the URL that selects it (search_path, which pgx sends as a run-time
// parameter) and a function that drops it.
func freshSchema(ctx context.Context, pgURL string) (string, func(), error) {
	db, err := sql.Open("pgx", pgURL)
	if err != nil {
		return "", nil, err
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "keyshift_bench_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("bench: creating a schema in PostgreSQL: %w", err)
	}
	drop := func() {
		db.ExecContext(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE")
		db.Close()
	}
	u, err := url.Parse(pgURL)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}
