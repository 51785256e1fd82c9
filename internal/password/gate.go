package password

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// waitersPerSlot bounds the queue: a gate lets at most slots*waitersPerSlot
// callers wait. Past that a flood is refused at once, because each waiting
// caller holds a goroutine, a request and a connection, and a queue that deep
// would not drain within any sensible maxWait anyway.
const waitersPerSlot = 64

// initialHoldEstimate seeds the average time a slot is held, before the gate
// has seen any hash finish: about one Argon2id hash at OWASP's minimum on a
// small server (shared/TESTING.md measured 39 ms).
const initialHoldEstimate = 50 * time.Millisecond

// ErrBusy is what every [BusyError] matches with errors.Is, so callers can
// test for "hashing is saturated, try later" without a type assertion.
var ErrBusy = errors.New("password: too many password hashes in progress")

// BusyError reports that the [Gate] refused a caller, either because no slot
// came free within the gate's maxWait or because too many callers were
// already waiting. The HTTP layer answers it with 429 Too Many Requests.
type BusyError struct {
	// RetryAfter estimates when a slot is likely to be free again, rounded
	// up to whole seconds and at least one second, ready for a Retry-After
	// header (which counts in seconds).
	RetryAfter time.Duration
}

// Error describes the refusal for logs.
func (e *BusyError) Error() string {
	return fmt.Sprintf("%v; retry after %v", ErrBusy, e.RetryAfter)
}

// Unwrap makes errors.Is(err, ErrBusy) true for every BusyError.
func (e *BusyError) Unwrap() error { return ErrBusy }

// Gate lets at most a fixed number of password hashes run at once.
//
// Argon2id uses its full memory cost for every hash, so unbounded concurrency
// turns a burst of sign-ins into an out-of-memory kill (shared/TESTING.md: 256
// parallel hashes peaked at 5 GB; behind a 2-slot gate, 0.1 GB and finished
// sooner). A Gate queues callers for a short while and then refuses them, so
// overload degrades into 429 answers instead of a crash. One Gate should
// serve every [Hasher] in the process. A Gate is safe for concurrent use.
type Gate struct {
	slots      chan struct{}
	maxWait    time.Duration
	maxWaiting int64
	waiting    atomic.Int64
	// avgHold is an exponentially weighted average, in nanoseconds, of how
	// long a caller keeps a slot; it drives BusyError.RetryAfter.
	avgHold atomic.Int64
}

// NewGate returns a gate that lets slots hashes run at once and makes others
// wait up to maxWait for a slot; at most slots*64 callers may wait. Set slots
// to about the number of CPU cores: Argon2id with p=1 is CPU-bound, so more
// slots add memory use without adding throughput. A maxWait of zero or less
// refuses at once whenever every slot is busy. NewGate panics if slots < 1,
// because a gate that can never open is a configuration mistake that should
// stop the server at start, not refuse every sign-in.
func NewGate(slots int, maxWait time.Duration) *Gate {
	if slots < 1 {
		panic(fmt.Sprintf("password: NewGate needs at least one slot, got %d", slots))
	}
	g := &Gate{
		slots:      make(chan struct{}, slots),
		maxWait:    max(maxWait, 0),
		maxWaiting: int64(slots) * waitersPerSlot,
	}
	g.avgHold.Store(int64(initialHoldEstimate))
	return g
}

// Acquire waits for a free slot, up to the gate's maxWait or until ctx is
// done, whichever comes first. On success the caller must call release
// exactly once when its hash is done; extra calls do nothing, so a deferred
// release is always safe. When maxWait passes, or when slots*64 callers are
// already waiting, Acquire returns a *BusyError (errors.Is(err, ErrBusy)).
// When ctx ends first it returns ctx.Err(), so a client that went away is
// not counted as overload.
func (g *Gate) Acquire(ctx context.Context) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case g.slots <- struct{}{}:
		return g.releaser(), nil
	default:
	}
	if g.waiting.Add(1) > g.maxWaiting {
		g.waiting.Add(-1)
		return nil, g.busy(0)
	}
	defer g.waiting.Add(-1)
	if w, ok := ctx.Value(slotWaitKey{}).(*slotWait); ok {
		defer w.add(time.Now())
	}
	timer := time.NewTimer(g.maxWait)
	defer timer.Stop()
	select {
	case g.slots <- struct{}{}:
		return g.releaser(), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
		return nil, g.busy(1)
	}
}

// InUse reports how many slots are held right now, for metrics.
func (g *Gate) InUse() int { return len(g.slots) }

// Waiting reports how many callers are queued for a slot right now, for
// metrics.
func (g *Gate) Waiting() int { return int(g.waiting.Load()) }

// releaser returns the release func for a slot just taken. It records how
// long the slot was held, which feeds the RetryAfter estimate.
func (g *Gate) releaser() func() {
	start := time.Now()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.recordHold(time.Since(start))
			<-g.slots
		})
	}
}

// recordHold folds one hold time into the running average with weight 1/8:
// smooth enough to ignore one slow hash, quick enough to follow a change of
// parameters or machine load.
func (g *Gate) recordHold(d time.Duration) {
	for {
		old := g.avgHold.Load()
		next := old + (int64(d)-old)/8
		if g.avgHold.CompareAndSwap(old, next) {
			return
		}
	}
}

// busy builds the refusal for a caller of which self (0 or 1) is still
// counted in waiting. The estimate is the time for the others waiting to
// drain through the slots, plus one round for the slots' current holders, at
// one average hold per round; rounded up to whole seconds (the unit of
// Retry-After) and never under one second, so clients do not retry in a
// tight loop.
func (g *Gate) busy(self int64) *BusyError {
	slots := int64(cap(g.slots))
	ahead := max(g.waiting.Load()-self, 0)
	rounds := ahead/slots + 1
	est := time.Duration(rounds * g.avgHold.Load())
	est = (est + time.Second - 1).Truncate(time.Second)
	return &BusyError{RetryAfter: max(est, time.Second)}
}

// slotWait adds up how long the callers of one context waited for slots.
type slotWait struct{ ns atomic.Int64 }

type slotWaitKey struct{}

func (w *slotWait) add(since time.Time) { w.ns.Add(int64(time.Since(since))) }

// WithSlotWait returns a context in which every [Gate.Acquire] adds the
// time it waited for a slot to a total, and a func that reads the total.
// A failed sign-in is padded to its floor not counting that time
// ([FailureFloor]): queueing depends on the load, not on the account, and
// is added to every failure alike.
func WithSlotWait(ctx context.Context) (context.Context, func() time.Duration) {
	w := &slotWait{}
	return context.WithValue(ctx, slotWaitKey{}, w), func() time.Duration { return time.Duration(w.ns.Load()) }
}
