// Package importer runs `keyshift import`: it streams a file of members
// (package userfile) into the database in batched transactions, with the
// members' password hashes as the old system stored them (package
// password/legacy checks and composes them; nothing is hashed) and their
// passkeys' public keys, so nobody resets a password or re-creates a passkey.
//
// A run is idempotent (rows are matched to accounts by external_id, then by
// email, and a matched account is left as it is), resumable (each batch
// commits together with the run's place in the file), and never stopped by a
// bad row (it goes to the reject file with its line and reason). Memory stays
// bounded whatever the file's size: RowsInMemory rows at a time, plus 11 to 21 bytes
// per key claimed (see claims).
package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/password/legacy"
	"github.com/keyshift/keyshift/internal/userfile"
)

// EventImported is the audit event a finished import writes: one per run,
// with the run's counts, never one per member.
const EventImported = "users_imported"

// RowsInMemory is how many rows a run holds at most by default: each
// writer's batch and the one the reader has ready (see loop). A batch is
// RowsInMemory/(writers+1) rows: 10,000 on SQLite, 6,666 with PostgreSQL's
// two writers. Batches that large matter on SQLite, where every commit
// writes each page the batch touched to the WAL: going from 1,000 to 10,000
// rows a batch took a million-row import from 94 s to 53 s (a random-key
// index page takes several of a batch's rows before it is written).
// Memory is about 1.5 KB a row in flight, plus 32 MB of claims per million
// rows.
const RowsInMemory = 20_000

// Options are what an operator chooses for a run.
type Options struct {
	Path string
	// Format is the file's format; empty picks it from Path's extension.
	Format string
	// BatchSize is how many rows (good or bad) one transaction covers;
	// 0 means RowsInMemory/(Writers+1).
	BatchSize int
	// Writers is how many transactions run at once; 0 means the store's
	// choice (Store.ImportWriters). A store with one writer gets one.
	Writers int
	// DryRun validates every row against the file and the database and
	// writes nothing to the database (the reject file is written).
	DryRun bool
	// Resume continues the file's last interrupted run where its last
	// committed batch ended.
	Resume bool
	// Rejects is the reject file; empty means Path + ".rejects.jsonl".
	Rejects string
	// Legacy carries per-project hash parameters (Firebase).
	Legacy legacy.Options
	// MaxLine bounds a line; 0 means userfile.DefaultMaxLine.
	MaxLine int
	// Progress receives progress reports; nil for none. Terminal redraws
	// one line in place instead of printing a line every few seconds.
	Progress io.Writer
	Terminal bool
	Now      func() time.Time
}

// Summary is what a run did.
type Summary struct {
	File    string
	DryRun  bool
	Resumed bool
	// AlreadyDone is set when --resume found the file imported in full
	// already: Counts are that run's.
	AlreadyDone bool
	Counts      Counts
	// Elapsed is this run's time and ReadNow the rows it read: a resumed
	// run's Counts cover the whole file.
	Elapsed time.Duration
	ReadNow int64
	// Rejects is the reject file, "" when no row was rejected.
	Rejects string
}

// Counts are a run's figures; they are kept in the imports table, so a
// resumed run goes on counting.
type Counts struct {
	Read      int64            `json:"read"`
	Imported  int64            `json:"imported"`
	Unchanged int64            `json:"unchanged"`
	Rejected  int64            `json:"rejected"`
	Reasons   map[string]int64 `json:"reasons,omitempty"`
	// Formats counts imported password hashes by format; Weak how many of
	// them are fast to brute-force (legacy.WeakHash).
	Formats  map[string]int64 `json:"password_formats,omitempty"`
	Weak     int64            `json:"weak_passwords"`
	Passkeys int64            `json:"passkeys"`
}

func (c *Counts) add(d *Counts) {
	c.Read += d.Read
	c.Imported += d.Imported
	c.Unchanged += d.Unchanged
	c.Rejected += d.Rejected
	c.Weak += d.Weak
	c.Passkeys += d.Passkeys
	c.Reasons = addMap(c.Reasons, d.Reasons)
	c.Formats = addMap(c.Formats, d.Formats)
}

func addMap(to, from map[string]int64) map[string]int64 {
	for k, v := range from {
		if to == nil {
			to = map[string]int64{}
		}
		to[k] += v
	}
	return to
}

func (c *Counts) reject(reason string) {
	c.Rejected++
	if c.Reasons == nil {
		c.Reasons = map[string]int64{}
	}
	c.Reasons[reason]++
}

// Run imports one file. Rows that cannot be imported never stop it; an
// error means the run itself failed (the file unreadable, the database
// gone) — committed batches stay, and Resume continues after them.
func Run(ctx context.Context, st Store, opt Options) (*Summary, error) {
	switch {
	case opt.DryRun || st.ImportWriters() <= 1:
		// A dry run has nothing to overlap but lookups. A database with
		// one writer connection must not be asked for more: a later batch
		// could hold it while waiting for an earlier one's turn.
		opt.Writers = 1
	case opt.Writers <= 0:
		opt.Writers = st.ImportWriters()
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = RowsInMemory / (opt.Writers + 1)
	}
	if opt.Rejects == "" {
		opt.Rejects = opt.Path + ".rejects.jsonl"
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.DryRun && opt.Resume {
		return nil, errors.New("--dry-run and --resume do not go together: a dry run records no place to resume from")
	}
	format, err := userfile.FormatOf(opt.Format, opt.Path)
	if err != nil {
		return nil, err
	}
	f, size, sum, err := openFile(opt.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	after, err := st.TuneForImport(ctx)
	if err != nil {
		return nil, err
	}
	start := opt.Now()
	run, done, err := startRun(ctx, st, &opt, format, size, sum, start)
	if err != nil || done != nil {
		return done, err
	}
	if opt.Resume {
		// The same bytes as before: read them as the interrupted run did.
		format = userfile.Format(run.Format)
	}
	rej, err := openRejects(opt.Rejects, run.Line, opt.Resume)
	if err != nil {
		return nil, err
	}
	defer rej.close()
	rd, err := userfile.NewReader(f, format, userfile.Options{MaxLine: opt.MaxLine})
	if err != nil {
		return nil, err
	}
	readBefore := run.Counts.Read
	im := &importRun{st: st, opt: &opt, run: run, rej: rej, file: f, after: after,
		prog: newProgress(opt.Progress, opt.Terminal, size, run.Offset, run.Counts.Read, start)}
	im.optimistic.Store(true)
	if err := im.loop(ctx, rd); err != nil {
		return nil, err
	}
	if err := im.finish(ctx); err != nil {
		return nil, err
	}
	sum2 := &Summary{File: opt.Path, DryRun: opt.DryRun, Resumed: opt.Resume, Counts: run.Counts,
		Elapsed: opt.Now().Sub(start), ReadNow: run.Counts.Read - readBefore}
	if n, err := rej.done(); err != nil {
		return nil, err
	} else if n > 0 {
		sum2.Rejects = opt.Rejects
	}
	return sum2, nil
}

// openFile opens a regular file and returns its size and SHA-256, which
// name it in the imports table whatever it is called.
func openFile(path string) (*os.File, int64, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file: the import reads it twice (to fingerprint it, then the rows) and resumes by offset", path)
	}
	h := sha256.New()
	var n int64
	if err == nil {
		n, err = io.Copy(h, f)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, 0, nil, err
	}
	return f, n, h.Sum(nil), nil
}

// startRun finds or records the run. With Resume it returns the file's
// interrupted run, or a summary when the file was imported in full already.
func startRun(ctx context.Context, st Store, opt *Options, format userfile.Format, size int64, sum []byte, now time.Time) (*Import, *Summary, error) {
	if opt.Resume {
		r, err := st.FindLatestImport(ctx, sum, size)
		if account.IsCode(err, account.ENotFound) {
			return nil, nil, fmt.Errorf("no import of %s (sha256 %s…) to resume: run without --resume "+
				"(rows imported already count as unchanged)", filepath.Base(opt.Path), hex.EncodeToString(sum[:6]))
		}
		if err != nil {
			return nil, nil, err
		}
		if r.Status == StatusDone {
			return nil, &Summary{File: opt.Path, Resumed: true, AlreadyDone: true, Counts: r.Counts}, nil
		}
		return r, nil, nil
	}
	r := &Import{ID: newID(), FileName: filepath.Base(opt.Path), FileSize: size, SHA256: sum, Format: string(format),
		Status: StatusRunning, StartedAt: now, UpdatedAt: now}
	if opt.DryRun {
		return r, nil, nil
	}
	err := st.InTx(ctx, func(ctx context.Context) error {
		if err := st.CreateImport(ctx, r); err != nil {
			return err
		}
		return st.AbandonImports(ctx, sum, size, r.ID, now)
	})
	return r, nil, err
}

// newID returns a time-ordered id (account.Random.NewTimeID): imported
// accounts and credentials are made a million at a time, and random keys
// would land on a million random pages of the primary-key and user_id
// indexes, every batch rewriting most of them (SQLite's WAL grew by
// gigabytes); ordered ids append to the indexes' last pages instead.
func newID() string { return account.Random{}.NewTimeID(time.Now()) }

// newHandle returns the WebAuthn user handle of a member the file gives
// none: 32 bytes, the first 6 the time in milliseconds (as in newID), the
// other 26 random. Made a million at a time, fully random handles land on
// random pages of the users.webauthn_id index, and once that index is
// larger than the page cache nearly every row costs a page read and two
// page writes (10M members took 17 x the time of 1M, docs/benchmarks.md);
// ordered handles append. A handle needs to be unique and to name no one
// (WebAuthn L3 §14.6.1); 208 random bits keep it unguessable, and the time
// it tells is the import's, which the account's id tells anyway.
func newHandle() []byte {
	h := account.Random{}.Bytes(handleLen)
	ms := uint64(time.Now().UnixMilli())
	for i := range 6 {
		h[i] = byte(ms >> (40 - 8*i))
	}
	return h
}
