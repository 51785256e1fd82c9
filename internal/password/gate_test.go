package password

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond until it holds, failing the test after a few seconds.
// The gate has no hook for "a caller is now queued", so tests that need
// queued callers poll its own metrics.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGateNeverRunsMoreThanItsSlots(t *testing.T) {
	t.Parallel()
	const slots, callers = 2, 50
	gate := NewGate(slots, time.Minute)
	h := NewHasher(testParams(), gate)
	var running, peak atomic.Int32
	var overfull atomic.Bool
	next := h.derive
	h.derive = func(pw, salt []byte, p Params) []byte {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		if gate.InUse() > slots {
			overfull.Store(true)
		}
		time.Sleep(time.Millisecond) // hold the slot long enough for callers to pile up
		return next(pw, salt, p)
	}
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Go(func() {
			if i%2 == 0 {
				_, err := h.Hash(t.Context(), "correct horse battery staple")
				errs <- err
				return
			}
			errs <- h.VerifyDummy(t.Context(), "correct horse battery staple")
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a caller failed: %v", err)
		}
	}
	if got := peak.Load(); got != slots {
		t.Errorf("at most %d hashes ran at once, want exactly %d", got, slots)
	}
	if overfull.Load() {
		t.Errorf("gate reported more than %d slots in use", slots)
	}
	if gate.InUse() != 0 || gate.Waiting() != 0 {
		t.Errorf("after all callers: InUse %d, Waiting %d; want 0, 0", gate.InUse(), gate.Waiting())
	}
}

// fill takes every slot of g and returns a func that gives them back.
func fill(t *testing.T, g *Gate, slots int) func() {
	t.Helper()
	var releases []func()
	for range slots {
		release, err := g.Acquire(t.Context())
		if err != nil {
			t.Fatalf("Acquire on a free gate: %v", err)
		}
		releases = append(releases, release)
	}
	return func() {
		for _, r := range releases {
			r()
		}
	}
}

func TestGateRefusesAfterMaxWait(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		maxWait time.Duration
	}{
		{"refuses once maxWait has passed", 20 * time.Millisecond},
		{"refuses at once with no maxWait", 0},
		{"treats a negative maxWait as none", -time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := NewGate(1, tt.maxWait)
			defer fill(t, g, 1)()
			release, err := g.Acquire(t.Context())
			var busy *BusyError
			if !errors.As(err, &busy) || !errors.Is(err, ErrBusy) || release != nil {
				t.Fatalf("Acquire on a full gate = (%v, %v), want a *BusyError", release != nil, err)
			}
			if busy.RetryAfter < time.Second || busy.RetryAfter%time.Second != 0 {
				t.Errorf("RetryAfter = %v, want whole seconds, at least 1s", busy.RetryAfter)
			}
			if g.Waiting() != 0 {
				t.Errorf("Waiting after refusal = %d, want 0", g.Waiting())
			}
		})
	}
}

func TestGateHonoursContext(t *testing.T) {
	t.Parallel()
	t.Run("returns the context error when cancelled while waiting", func(t *testing.T) {
		t.Parallel()
		g := NewGate(1, time.Minute)
		defer fill(t, g, 1)()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := g.Acquire(ctx)
			done <- err
		}()
		waitFor(t, "the caller queues", func() bool { return g.Waiting() == 1 })
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) || errors.Is(err, ErrBusy) {
			t.Errorf("Acquire = %v, want context.Canceled", err)
		}
		if g.Waiting() != 0 {
			t.Errorf("Waiting after cancel = %d, want 0", g.Waiting())
		}
	})
	t.Run("returns DeadlineExceeded when the deadline comes before maxWait", func(t *testing.T) {
		t.Parallel()
		g := NewGate(1, time.Minute)
		defer fill(t, g, 1)()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		if _, err := g.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Acquire = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("refuses a cancelled context even when a slot is free", func(t *testing.T) {
		t.Parallel()
		g := NewGate(1, time.Minute)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := g.Acquire(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Acquire = %v, want context.Canceled", err)
		}
		if g.InUse() != 0 {
			t.Errorf("InUse = %d, want 0", g.InUse())
		}
	})
}

func TestGateRefusesAtOnceWhenTheQueueIsFull(t *testing.T) {
	t.Parallel()
	const slots = 2
	g := NewGate(slots, time.Hour)
	defer fill(t, g, slots)()
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range slots * waitersPerSlot {
		wg.Go(func() {
			if _, err := g.Acquire(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("queued Acquire = %v, want context.Canceled", err)
			}
		})
	}
	waitFor(t, "the queue is full", func() bool { return g.Waiting() == slots*waitersPerSlot })

	// With maxWait an hour, only the queue limit can answer this call.
	_, err := g.Acquire(t.Context())
	var busy *BusyError
	if !errors.As(err, &busy) {
		t.Fatalf("Acquire past the queue limit = %v, want a *BusyError", err)
	}
	// 128 waiting on 2 slots at the initial 50 ms estimate: 65 rounds, 3.25 s.
	if want := 4 * time.Second; busy.RetryAfter != want {
		t.Errorf("RetryAfter = %v, want %v for a full queue", busy.RetryAfter, want)
	}
	if g.Waiting() != slots*waitersPerSlot {
		t.Errorf("Waiting after refusal = %d, want %d", g.Waiting(), slots*waitersPerSlot)
	}
	cancel()
	wg.Wait()
}

func TestGateRelease(t *testing.T) {
	t.Parallel()
	g := NewGate(2, 0)
	first, err := g.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	second, err := g.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("counts the slots in use", func(t *testing.T) {
		if g.InUse() != 2 {
			t.Errorf("InUse = %d, want 2", g.InUse())
		}
	})
	t.Run("frees one slot however often a release is called", func(t *testing.T) {
		first()
		first()
		if g.InUse() != 1 {
			t.Errorf("InUse after double release = %d, want 1", g.InUse())
		}
	})
	t.Run("hands a freed slot to the next caller", func(t *testing.T) {
		third, err := g.Acquire(t.Context())
		if err != nil {
			t.Fatalf("Acquire after release: %v", err)
		}
		third()
		second()
		if g.InUse() != 0 {
			t.Errorf("InUse = %d, want 0", g.InUse())
		}
	})
}

func TestGateWakesAWaiterOnRelease(t *testing.T) {
	t.Parallel()
	g := NewGate(1, time.Minute)
	release := fill(t, g, 1)
	done := make(chan error, 1)
	go func() {
		r, err := g.Acquire(t.Context())
		if err == nil {
			r()
		}
		done <- err
	}()
	waitFor(t, "the caller queues", func() bool { return g.Waiting() == 1 })
	release()
	if err := <-done; err != nil {
		t.Errorf("queued Acquire = %v, want a slot", err)
	}
}

func TestBusyErrorRetryAfterFollowsHoldTimes(t *testing.T) {
	t.Parallel()
	g := NewGate(1, 0)
	for range 64 {
		g.recordHold(3 * time.Second) // as if each hash took 3 s
	}
	defer fill(t, g, 1)()
	_, err := g.Acquire(t.Context())
	var busy *BusyError
	if !errors.As(err, &busy) {
		t.Fatalf("Acquire = %v, want a *BusyError", err)
	}
	if busy.RetryAfter != 3*time.Second {
		t.Errorf("RetryAfter = %v, want 3s after slow hashes", busy.RetryAfter)
	}
}

func TestNewGatePanicsWithoutSlots(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("NewGate(0, ...) did not panic")
		}
	}()
	NewGate(0, time.Second)
}

// A failed sign-in is padded not counting its time queued for a slot
// (FailureFloor): WithSlotWait adds up exactly that time.
func TestWithSlotWaitAddsUpTheTimeQueued(t *testing.T) {
	t.Parallel()
	g := NewGate(1, time.Minute)
	ctx, queued := WithSlotWait(t.Context())
	release, err := g.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if queued() != 0 {
		t.Errorf("a free slot counted %v of waiting", queued())
	}
	done := make(chan func())
	go func() {
		r, err := g.Acquire(ctx)
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	waitFor(t, "the second caller queues", func() bool { return g.Waiting() == 1 })
	time.Sleep(50 * time.Millisecond)
	release()
	(<-done)()
	if got := queued(); got < 50*time.Millisecond || got > 5*time.Second {
		t.Errorf("queued %v, want the 50 ms or so the slot was held", got)
	}
	if _, other := WithSlotWait(t.Context()); other() != 0 {
		t.Error("another context's total is not its own")
	}
}
