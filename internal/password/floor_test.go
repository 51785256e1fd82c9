package password

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock for FailureFloor's window.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestFailureFloorFollowsTheSlowestFormatOfTheDay(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)}
	f := NewFailureFloor(100 * time.Millisecond)
	f.now = clock.Now
	want := func(what string, d time.Duration) {
		t.Helper()
		if got := f.Floor(); got != d {
			t.Errorf("%s: Floor() = %v, want %v", what, got, d)
		}
	}
	want("nothing observed: the configured minimum", 100*time.Millisecond)
	for range 20 {
		f.Observe("argon2id", 40*time.Millisecond)
	}
	want("verifications faster than 4/5 of the minimum do not raise it", 100*time.Millisecond)
	f.Observe("bcrypt", 240*time.Millisecond) // one member's bcrypt at cost 12
	want("5/4 of the slowest format, however rare", 300*time.Millisecond)
	f.Observe("argon2id", 3*time.Second) // one stalled verification among many
	want("one stalled verification of a format does not count", 300*time.Millisecond)
	for range 8 {
		f.Observe("argon2id", 400*time.Millisecond) // a machine slow for a while
	}
	want("a format slow for most of its recent verifications does", 500*time.Millisecond)
	clock.Advance(3 * time.Hour)
	f.Observe("bcrypt", 80*time.Millisecond)
	want("a faster hour later does not lower it", 500*time.Millisecond)
	clock.Advance(20*time.Hour + 29*time.Minute)
	want("still within the day", 500*time.Millisecond)
	clock.Advance(time.Hour)
	want("a day later the slow hour is forgotten; the later one is not", 100*time.Millisecond)
	clock.Advance(48 * time.Hour)
	f.Observe("md5", time.Millisecond) // reuses the slot of two days ago
	want("a slot reused after two days starts afresh", 100*time.Millisecond)
	for range 15 {
		f.Observe("scrypt", time.Minute)
	}
	want("observations raise it to 5 s at most", 5*time.Second)

	if got := NewFailureFloor(-time.Second).Floor(); got != 0 {
		t.Errorf("a negative minimum gives %v, want 0", got)
	}
	var none *FailureFloor
	none.Observe("bcrypt", time.Second)
	if none.Floor() != 0 {
		t.Error("a nil floor is not zero")
	}
	none.Wait(t.Context(), "", time.Now()) // returns at once
}

func TestFailureFloorWait(t *testing.T) {
	t.Parallel()
	const floor = 80 * time.Millisecond
	t.Run("waits out what is left of the floor", func(t *testing.T) {
		t.Parallel()
		f := NewFailureFloor(floor)
		start := time.Now()
		time.Sleep(20 * time.Millisecond) // the work of a failure
		f.Wait(t.Context(), "bcrypt", start)
		if took := time.Since(start); took < floor {
			t.Errorf("returned after %v, before the floor of %v", took, floor)
		}
	})
	t.Run("returns at once when the failure took longer", func(t *testing.T) {
		t.Parallel()
		f := NewFailureFloor(floor)
		start := time.Now().Add(-time.Second)
		began := time.Now()
		f.Wait(t.Context(), "bcrypt", start)
		if took := time.Since(began); took > floor/2 {
			t.Errorf("waited %v past a floor already passed", took)
		}
	})
	t.Run("returns when the client goes away", func(t *testing.T) {
		t.Parallel()
		f := NewFailureFloor(time.Hour)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		done := make(chan struct{})
		go func() { f.Wait(ctx, "", time.Now()); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Wait outlived its context")
		}
	})
}

// The hasher tells the floor how long each verification takes, by format,
// and a slow imported hash raises the floor for every failure.
func TestHasherFeedsTheFailureFloor(t *testing.T) {
	t.Parallel()
	f := NewFailureFloor(0)
	h := NewHasher(testParams(), NewGate(1, time.Second), WithFailureFloor(f))
	var rounds atomic.Int32
	rounds.Store(1)
	next := h.derive
	h.derive = func(pw, salt []byte, p Params) []byte {
		var key []byte
		for range rounds.Load() { // a dearer hash: the same work, repeated
			key = next(pw, salt, p)
		}
		return key
	}
	if f.Floor() != 0 {
		t.Fatalf("before any verification Floor() = %v", f.Floor())
	}
	if err := h.VerifyDummy(t.Context(), "x"); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := h.Verify(t.Context(), "wrong", legacyMD5, "md5"); ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
	cheap := f.Floor()
	if cheap <= 0 {
		t.Fatal("no verification was observed")
	}
	// 200 times the work, checked for 5 times the floor: one stall of the
	// cheap verification on a loaded machine (16 ms instead of 2 seen
	// once) must not make the dear one look cheap.
	rounds.Store(200)
	if ok, _, err := h.Verify(t.Context(), "wrong", legacyBcrypt, "bcrypt"); ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
	if dear := f.Floor(); dear < 5*cheap {
		t.Errorf("a verification 200 times dearer raised the floor from %v to %v only", cheap, dear)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var formats []string
	for _, h := range f.hours {
		for format := range h.byFormat {
			formats = append(formats, format)
		}
	}
	slices.Sort(formats)
	if !slices.Equal(formats, []string{"argon2id", "bcrypt", "md5"}) {
		t.Errorf("formats observed: %v", formats)
	}
}

// Wait times each whole failure too — lookups and writes with the hash —
// so a database slow for a while raises the floor as a slow hash does.
func TestFailureFloorLearnsFromWholeFailures(t *testing.T) {
	t.Parallel()
	f := NewFailureFloor(10 * time.Millisecond)
	for range 3 {
		f.Wait(t.Context(), "argon2id", time.Now().Add(-80*time.Millisecond)) // a failure that took 80 ms
	}
	if got := f.Floor(); got < 100*time.Millisecond || got > 150*time.Millisecond {
		t.Errorf("after failures of 80 ms Floor() = %v, want 5/4 of that", got)
	}
}
