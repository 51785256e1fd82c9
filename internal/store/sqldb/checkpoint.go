package sqldb

import (
	"context"
	"database/sql"
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

const (
	checkpointBusy = 200 * time.Millisecond
	checkpointIdle = 2 * time.Second
)

// checkpointer runs PASSIVE checkpoints until stopped.
type checkpointer struct {
	conn   *sql.DB
	stop   context.CancelFunc
	done   chan struct{}
	rounds atomic.Int64 // checkpoints that moved pages, for tests
}

func startCheckpointer(conn *sql.DB) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{conn: conn, stop: cancel, done: make(chan struct{})}
	go c.run(ctx)
	return c
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	t := time.NewTimer(checkpointBusy)
	defer t.Stop()
	lastLog := -1
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
		}
		t.Reset(wait)
	}
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
