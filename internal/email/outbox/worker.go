package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Policy is how hard the worker tries.
type Policy struct {
	// Batch is how many mails one claim takes (default 10).
	Batch int
	// Concurrency is how many of them are sent at once (default 4).
	Concurrency int
	// Lease is how long a claimed mail stays with one worker before another
	// may take it (default 5 min); it must outlast a send through every
	// provider.
	Lease time.Duration
	// FirstRetry is the wait after the first failed attempt, doubled after
	// each further one (default 30 s) up to MaxRetry (default 1 h).
	FirstRetry, MaxRetry time.Duration
	// MaxAttempts is when a failing mail is given up (default 20, about 15 h).
	MaxAttempts int
	// Poll is how often the worker looks for due mail when not woken (default 5 s).
	Poll time.Duration
	// SendTimeout bounds one mail's delivery through all providers (default 2 min).
	SendTimeout time.Duration
}

func (p Policy) withDefaults() Policy {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&p.Lease, 5*time.Minute)
	def(&p.FirstRetry, 30*time.Second)
	def(&p.MaxRetry, time.Hour)
	def(&p.Poll, 5*time.Second)
	def(&p.SendTimeout, 2*time.Minute)
	if p.Batch <= 0 {
		p.Batch = 10
	}
	if p.Concurrency <= 0 {
		p.Concurrency = 4
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 20
	}
	return p
}

// Backoff is the wait after attempt number n (1-based) failed.
func (p Policy) Backoff(n int) time.Duration {
	p = p.withDefaults()
	d := p.FirstRetry
	for i := 1; i < n && d < p.MaxRetry; i++ {
		d *= 2
	}
	return min(d, p.MaxRetry)
}

// Worker delivers the outbox's due mail.
type Worker struct {
	outbox  *Outbox
	sender  Sender
	policy  Policy
	log     *slog.Logger
	metrics *Metrics
}

// NewWorker returns a worker delivering o's mail through s. log and m may be nil.
func NewWorker(o *Outbox, s Sender, p Policy, log *slog.Logger, m *Metrics) *Worker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{outbox: o, sender: s, policy: p.withDefaults(), log: log, metrics: m}
}

// eagerFor is how long after a wake-up the worker keeps looking every
// eagerEvery: Enqueue wakes it before the caller's transaction commits, and
// the row shows only after the commit.
const (
	eagerFor   = 2 * time.Second
	eagerEvery = 50 * time.Millisecond
)

// Run delivers mail until ctx ends. Sends under way when ctx ends finish
// (each within Policy.SendTimeout) and are recorded before Run returns.
func (w *Worker) Run(ctx context.Context) {
	poll := time.NewTimer(0)
	defer poll.Stop()
	var eagerUntil time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.outbox.wake:
			eagerUntil = time.Now().Add(eagerFor)
		case <-poll.C:
		}
		for {
			n, err := w.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				w.log.Warn("mail: claiming due mail", "err", err)
			}
			if err != nil || n < w.policy.Batch || ctx.Err() != nil {
				break
			}
		}
		next := w.policy.Poll
		if time.Now().Before(eagerUntil) {
			next = min(next, eagerEvery)
		}
		poll.Reset(next)
	}
}

// RunOnce claims one batch of due mail, sends it and records the outcome. It
// returns how many mails it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	now := w.outbox.now()
	lease := newLease()
	batch, err := w.outbox.store.ClaimOutbox(ctx, now, now.Add(w.policy.Lease), lease, w.policy.Batch)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, w.policy.Concurrency)
	for _, m := range batch {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			w.deliver(context.WithoutCancel(ctx), m)
		})
	}
	wg.Wait()
	return len(batch), nil
}

// deliver sends one claimed mail and records what happened. Marking sent
// comes only after the server accepted the mail.
func (w *Worker) deliver(ctx context.Context, m Mail) {
	// A mail this node cannot open was sealed under a pepper it lacks: in
	// a rolling rotation another node may have it, so it is retried (and
	// given up after MaxAttempts like any failing mail), never sent garbled.
	provider, err := "", w.outbox.sealer.open(&m)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, w.policy.SendTimeout)
		provider, err = w.sender.Send(sctx, m)
		cancel()
	}
	now := w.outbox.now()
	log := w.log.With("id", m.ID, "kind", m.Kind, "attempt", m.Attempts)
	var perr *PermanentError
	var markErr error
	switch {
	case err == nil:
		markErr = w.outbox.store.MarkOutboxSent(ctx, m.ID, m.Lease, now, provider, !w.outbox.keepSent)
		w.metrics.sent(provider)
		log.Info("mail sent", "provider", provider)
	case errors.As(err, &perr) || m.Attempts >= w.policy.MaxAttempts:
		markErr = w.outbox.store.MarkOutboxFailed(ctx, m.ID, m.Lease, now, errText(err))
		w.metrics.failed()
		log.Error("mail failed permanently; see keyshift admin mail", "err", err)
	default:
		due := now.Add(w.policy.Backoff(m.Attempts))
		markErr = w.outbox.store.MarkOutboxRetry(ctx, m.ID, m.Lease, due, errText(err))
		w.metrics.retried()
		log.Warn("mail not sent; will retry", "err", err, "retry_at", due)
	}
	if markErr != nil {
		// The lease runs out and the mail is tried again: sent twice at
		// worst, never lost.
		log.Error("mail: recording the outcome", "err", markErr)
	}
}

// errText keeps the stored error short.
func errText(err error) string {
	s := err.Error()
	if len(s) > 2000 {
		s = s[:2000]
	}
	return s
}

func newLease() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
