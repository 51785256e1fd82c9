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
// TRUNCATE checkpoint: it takes the write lock, copies what PASSIVE left
// (little, since PASSIVE just ran), waits for readers to leave the WAL and
// cuts the file to nothing. Writers wait meanwhile, at most about
// truncateBusy for the locks plus the copy; that is the price of a bounded
// file, paid once per walBound of writes and never on a quiet server. A
// TRUNCATE that could not finish (a long read, a backup) is tried again
// after truncateRetry, not every round, so a long reader does not make
// writers stall over and over.

const (
	checkpointBusy = 200 * time.Millisecond
	checkpointIdle = 2 * time.Second
	truncateBusy   = 100 * time.Millisecond
	truncateRetry  = time.Second
)

// walBound is the WAL size in bytes past which a round truncates; a variable
// so that tests can show the bound without writing 64 MiB.
var walBound atomic.Int64

func init() { walBound.Store(64 << 20) }

// checkpointer runs PASSIVE checkpoints until stopped.
type checkpointer struct {
	conn      *sql.DB
	writer    *sql.DB // the one writer connection, for TRUNCATE
	stop      context.CancelFunc
	done      chan struct{}
	rounds    atomic.Int64 // checkpoints that moved pages, for tests
	truncates atomic.Int64 // TRUNCATE checkpoints that finished, for tests
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
	var nextTruncate time.Time
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
			if log != lastLog || moved < log {
				wait = checkpointBusy
			}
			if moved > 0 && log != lastLog {
				c.rounds.Add(1)
			}
			lastLog = log
			if pageSize == 0 {
				_ = c.conn.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize)
			}
			if pageSize > 0 && int64(log)*pageSize > walBound.Load() && !time.Now().Before(nextTruncate) {
				if c.truncate(ctx) {
					lastLog = 0
				} else {
					nextTruncate = time.Now().Add(truncateRetry)
				}
			}
		}
		t.Reset(wait)
	}
}

// truncate runs one TRUNCATE checkpoint on the writer's connection with a
// short busy timeout (for readers still in the WAL), and says whether it
// finished.
func (c *checkpointer) truncate(ctx context.Context) bool {
	conn, err := c.writer.Conn(ctx)
	if err != nil {
		return false
	}
	var prev int
	if err := conn.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&prev); err != nil {
		conn.Close()
		return false
	}
	_, err = conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, truncateBusy.Milliseconds()))
	var busy, log, moved int
	if err == nil {
		err = conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &log, &moved)
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
	c.truncates.Add(1)
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
