package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync/atomic"
	"time"
)

// SQLite appends every commit to the WAL and, by default, the commit that
// takes the WAL past 1,000 pages also copies it back into the database file
// and fsyncs it — a checkpoint — while it holds the only writer connection,
// so every write queued behind it waits (the p99 of a busy sign-in
// benchmark). keyshift turns that off on the writer (wal_autocheckpoint=0)
// and checkpoints from a goroutine of its own on a connection of its own
// instead, in PASSIVE mode: it never takes the write lock, so writers go on
// appending while it copies.
//
// It runs every checkpointBusy while the WAL keeps growing, and backs off
// to checkpointIdle when nothing was written, so an idle server wakes up
// rarely. Frames a reader still needs stay in the WAL until a later round.
//
// PASSIVE alone starves under continuous writes: SQLite starts the WAL over
// only when a writer finds every frame already copied back, and with a
// writer that never pauses a round never finishes before the next commit,
// so the file grows without end (a 10-million-event seed took it past
// 33 GB). So once the WAL is past walBound the round goes on with a
// RESTART checkpoint on the writer's connection: it copies what PASSIVE
// left (little, since PASSIVE just ran), waits for readers to leave the WAL
// and makes the next commit start the WAL over from its first frame, which
// then cuts the file back to walBound (journal_size_limit). Writers wait
// meanwhile, at most about resetBusy for the readers plus the copy and its
// fsyncs; that is the price of a bounded file, paid once per walBound of
// writes and never on a quiet server. A reset that could not finish (a long
// read, a backup) is tried again after resetRetry, not every round, so a
// long reader does not make writers stall over and over.
//
// RESTART, not TRUNCATE, under load: cutting a 64 MiB file to nothing while
// writers wait doubled the stall (85 against 40 ms, and the p99 of a
// 32-client sign-in benchmark with it: docs/benchmarks.md), and the next
// commits only grow the file again. Once the writes stop — a round that
// finds nothing new — a TRUNCATE gives the disk space back, with nobody
// waiting behind it.

const (
	checkpointBusy = 200 * time.Millisecond
	checkpointIdle = 2 * time.Second
	resetBusy      = 100 * time.Millisecond
	resetRetry     = time.Second
)

// walBound is the WAL size in bytes past which a round starts it over; a variable
// so that tests can show the bound without writing 64 MiB.
var walBound atomic.Int64

func init() { walBound.Store(64 << 20) }

// checkpointer runs PASSIVE checkpoints until stopped.
type checkpointer struct {
	conn   *sql.DB
	writer *sql.DB // the one writer connection, for RESTART and TRUNCATE
	stop   context.CancelFunc
	done   chan struct{}
	rounds atomic.Int64 // checkpoints that moved pages, for tests
	resets atomic.Int64 // RESTART and TRUNCATE checkpoints that finished, for tests
}

func startCheckpointer(conn, writer *sql.DB) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{conn: conn, writer: writer, stop: cancel, done: make(chan struct{})}
	go c.run(ctx)
	return c
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	t := time.NewTimer(checkpointBusy)
	defer t.Stop()
	lastLog := -1
	var pageSize int64
	var nextReset time.Time
	shrink := false // restarted under load, the file not cut back yet
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wait := checkpointIdle
		// busy is 1 when another checkpoint ran meanwhile; log is the WAL's
		// frames, moved those copied back. An error (the database is
		// closing, the disk is full) is tried again next round: the WAL
		// only grows meanwhile, as with SQLite's own checkpoints.
		var busy, log, moved int
		if err := c.conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &moved); err == nil {
			changed := log != lastLog
			quiet := !changed && moved == log
			if !quiet {
				wait = checkpointBusy
			}
			if moved > 0 && changed {
				c.rounds.Add(1)
			}
			lastLog = log
			if pageSize == 0 {
				_ = c.conn.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize)
			}
			// After a RESTART the WAL reports its old frames until the next
			// commit starts it over: only a WAL that changed is restarted.
			over := pageSize > 0 && int64(log)*pageSize > walBound.Load()
			switch {
			case time.Now().Before(nextReset):
			case quiet && (shrink || over):
				if c.reset(ctx, "TRUNCATE") {
					shrink = false
				} else {
					nextReset = time.Now().Add(resetRetry)
				}
			case over && changed:
				if c.reset(ctx, "RESTART") {
					shrink = true
				} else {
					nextReset = time.Now().Add(resetRetry)
				}
			}
		}
		t.Reset(wait)
	}
}

// reset runs one RESTART or TRUNCATE checkpoint on the writer's connection
// with a short busy timeout (for readers still in the WAL), and says
// whether it finished.
func (c *checkpointer) reset(ctx context.Context, mode string) bool {
	conn, err := c.writer.Conn(ctx)
	if err != nil {
		return false
	}
	var prev int
	if err := conn.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&prev); err != nil {
		conn.Close()
		return false
	}
	_, err = conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, resetBusy.Milliseconds()))
	var busy, log, moved int
	if err == nil {
		err = conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &log, &moved)
	}
	// The writer must get its usual patience back before anyone else uses
	// it; if that fails the connection is thrown away, not pooled.
	if _, rerr := conn.ExecContext(context.Background(), fmt.Sprintf(`PRAGMA busy_timeout = %d`, prev)); rerr != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	conn.Close()
	if err != nil || busy != 0 {
		return false
	}
	c.resets.Add(1)
	return true
}

// close stops the goroutine and waits for it, then closes its connection.
func (c *checkpointer) close() error {
	c.stop()
	<-c.done
	return c.conn.Close()
}

// CheckpointRounds is how many background checkpoints moved pages so far
// (SQLite; 0 on PostgreSQL), and whether the checkpointer has stopped.
func (db *DB) CheckpointRounds() (rounds int64, stopped bool) {
	if db.ckpt == nil {
		return 0, true
	}
	select {
	case <-db.ckpt.done:
		stopped = true
	default:
	}
	return db.ckpt.rounds.Load(), stopped
}
