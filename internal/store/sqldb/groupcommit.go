package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// SQLite has one writer connection, so write transactions run one after
// the other anyway; what each costs beyond its statements is its COMMIT —
// every page it changed appended to the WAL, two write calls per page
// (docs/benchmarks.md: a fifth of a passkey sign-in's CPU) — and a page
// that two transactions change, the rightmost leaf of an index by time
// say, is written twice. So the writer commits in groups: a goroutine of
// its own (the committer) takes the transactions that queue up while it
// works and runs them, one after the other, inside one SQLite
// transaction, each in a SAVEPOINT of its own, then commits them all at
// once, and only then answers each caller.
//
// What a caller sees does not change. Each fn's writes are atomic: an
// error or a panic rolls back to its savepoint and leaves the others'
// writes alone. They are isolated: one fn at a time, and none sees another
// group's uncommitted state but that of the fns before it in its own
// group, which is what running them serially would show it too. They are
// durable as before: InTx returns only after the COMMIT that holds its
// writes, and a failed COMMIT fails every fn in it. A quiet server gains
// nothing and loses nothing: a group of one is a plain transaction, with
// no savepoint. A group closes at groupMax transactions or once it has
// held the writer for groupHold, so that no caller waits long behind
// others.
//
// PostgreSQL runs each transaction on a connection of its own and
// commits them in parallel; it does not go through here.

const (
	groupMax  = 32
	groupHold = 5 * time.Millisecond
)

// errClosed answers a transaction asked for after Close.
var errClosed = errors.New("database is closed")

// committer runs write transactions in groups on the writer connection.
type committer struct {
	w       *sql.DB
	jobs    chan *job
	stop    chan struct{}
	done    chan struct{}
	prepare func(context.Context) // DB.prepareMissed, after each group
	closed  sync.Once
	// groups and grouped count commits and the transactions they held,
	// for tests and the operator's curiosity.
	groups, grouped atomic.Int64
}

// job is one InTx call waiting for the committer.
type job struct {
	ctx  context.Context
	fn   func(ctx context.Context) error
	done chan outcome // buffered: the committer never waits for the caller
}

// outcome is what a job's caller gets back: its error, or the value its
// fn panicked with, to panic with again in the caller's goroutine.
type outcome struct {
	err      error
	panicked bool
	panic    any
}

func startCommitter(w *sql.DB, prepare func(context.Context)) *committer {
	c := &committer{w: w, jobs: make(chan *job), stop: make(chan struct{}), done: make(chan struct{}), prepare: prepare}
	go c.run()
	return c
}

// inTx hands fn to the committer and waits for its outcome. Once the
// committer has taken fn, it waits for the end even when ctx ends: fn's
// statements see ctx and stop, and the outcome says so.
func (c *committer) inTx(ctx context.Context, fn func(ctx context.Context) error) error {
	j := &job{ctx: ctx, fn: fn, done: make(chan outcome, 1)}
	select {
	case c.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.stop:
		return errClosed
	}
	o := <-j.done
	if o.panicked {
		panic(o.panic)
	}
	return o.err
}

// close stops the committer after the group it is running; closing
// again does nothing (DB.Close may be called twice).
func (c *committer) close() {
	c.closed.Do(func() { close(c.stop) })
	<-c.done
}

func (c *committer) run() {
	defer close(c.done)
	for {
		select {
		case j := <-c.jobs:
			c.group(j)
		case <-c.stop:
			return
		}
	}
}

// group runs first and whatever queues behind it, within the limits, in
// one transaction, and answers each.
func (c *committer) group(first *job) {
	if err := first.ctx.Err(); err != nil {
		first.done <- outcome{err: err}
		return
	}
	// The transaction outlives any one caller's context: a caller that
	// goes away must not roll back the others' writes.
	tx, err := c.w.BeginTx(context.WithoutCancel(first.ctx), nil)
	if err != nil {
		first.done <- outcome{err: fmt.Errorf("begin: %w", err)}
		return
	}
	defer c.prepare(context.WithoutCancel(first.ctx))
	// The first runs bare: alone, it is a plain transaction, and if it
	// fails the whole transaction goes.
	if o := runJob(tx, first); o.err != nil || o.panicked {
		tx.Rollback()
		first.done <- o
		return
	}
	waiting := []*job{first}
	start := time.Now()
	for len(waiting) < groupMax && time.Since(start) < groupHold {
		var j *job
		select {
		case j = <-c.jobs:
		default:
		}
		if j == nil {
			break
		}
		if err := j.ctx.Err(); err != nil {
			j.done <- outcome{err: err}
			continue
		}
		if _, err := tx.Exec(`SAVEPOINT g`); err != nil {
			j.done <- outcome{err: fmt.Errorf("savepoint: %w", err)}
			c.abort(tx, waiting, err)
			return
		}
		o := runJob(tx, j)
		if o.err == nil && !o.panicked {
			if _, err := tx.Exec(`RELEASE g`); err != nil {
				j.done <- outcome{err: fmt.Errorf("release savepoint: %w", err)}
				c.abort(tx, waiting, err)
				return
			}
			waiting = append(waiting, j)
			continue
		}
		// Undo this one's writes only. When SQLite has rolled back the
		// whole transaction itself (a full disk, say), there is no
		// savepoint left and the others' writes are gone too.
		_, rerr := tx.Exec(`ROLLBACK TO g`)
		if rerr == nil {
			_, rerr = tx.Exec(`RELEASE g`)
		}
		j.done <- o
		if rerr != nil {
			c.abort(tx, waiting, rerr)
			return
		}
	}
	err = tx.Commit()
	if err != nil {
		err = fmt.Errorf("commit: %w", err)
	}
	c.groups.Add(1)
	c.grouped.Add(int64(len(waiting)))
	for _, j := range waiting {
		j.done <- outcome{err: err}
	}
}

// abort rolls the group back and fails the transactions that had
// succeeded in it: none of their writes is kept.
func (c *committer) abort(tx *sql.Tx, waiting []*job, cause error) {
	tx.Rollback()
	for _, j := range waiting {
		j.done <- outcome{err: fmt.Errorf("transaction rolled back with its group: %w", cause)}
	}
}

// runJob runs j's fn in tx and catches a panic, to be raised again in the
// caller's goroutine.
func runJob(tx *sql.Tx, j *job) (o outcome) {
	defer func() {
		if p := recover(); p != nil {
			o = outcome{panicked: true, panic: p}
		}
	}()
	return outcome{err: j.fn(context.WithValue(j.ctx, txKey{}, tx))}
}
