package password

import (
	"context"
	"slices"
	"sync"
	"time"
)

// FailureFloor makes every failed password sign-in take the same time,
// whether or not the account exists and whatever format its hash is in:
// an imported bcrypt hash at cost 12 takes about 250 ms to refuse, an
// unknown address (one Argon2id) about 26 ms, and that difference told
// imported members from strangers.
//
// The floor is the larger of a configured minimum and 5/4 of the slowest
// verification of the last day (Observe, fed by the [Hasher], and Wait,
// which times each whole failure), so that it follows the slowest hash
// format members actually have without a setting for each. "Slowest" is
// per format, and robust: a format's time in an hour is the median of its
// last verifications (up to 15), so one verification stalled by the
// machine (a pause, a busy neighbour) does not hold every failure for a
// day, while a format that is slow — however rarely its members sign in —
// and a machine or database that is slow for a while both raise the
// floor. The observed part is capped at 5 s.
//
// Wait pads a failure to the floor after the hash is done: it holds no
// hashing slot, only a sleeping goroutine. The caller leaves out of the
// padded time what it spent queued for a slot (WithSlotWait): that is the
// load's, the same for any address, and is added on top. A FailureFloor is
// safe for concurrent use; a nil one pads nothing.
type FailureFloor struct {
	min time.Duration
	// now is the clock of the day's window; tests replace it. Waits use
	// the monotonic clock.
	now func() time.Time

	mu sync.Mutex
	// hours keeps each of the last 24 hours' verifications by format, by
	// hour number since the Unix epoch; a slot whose hour is older than a
	// day counts for nothing.
	hours [24]hourTimes
}

// hourTimes is one hour's verification times, by format.
type hourTimes struct {
	hour     int64
	byFormat map[string]*recentTimes
}

// recentTimes keeps a format's last verification times in a ring.
type recentTimes struct {
	d    [15]time.Duration
	n    int // how many are kept, up to len(d)
	next int
}

func (r *recentTimes) add(d time.Duration) {
	r.d[r.next] = d
	r.next = (r.next + 1) % len(r.d)
	r.n = min(r.n+1, len(r.d))
}

// median is the middle of the kept times (the upper one of two).
func (r *recentTimes) median() time.Duration {
	kept := slices.Clone(r.d[:r.n])
	slices.Sort(kept)
	return kept[len(kept)/2]
}

// failurePrefix marks the times of whole failed sign-ins among those of
// verifications, by the format of the hash they failed against.
const failurePrefix = "failure:"

// maxObservedFloor bounds what observed verifications can raise the floor
// to. No format keyshift verifies, at a sane cost, comes near it.
const maxObservedFloor = 5 * time.Second

// NewFailureFloor returns a floor of at least min (0: only the observed
// verifications count).
func NewFailureFloor(min time.Duration) *FailureFloor {
	return &FailureFloor{min: max(min, 0), now: time.Now}
}

// Observe records how long one verification of a hash in format took.
func (f *FailureFloor) Observe(format string, d time.Duration) {
	if f == nil {
		return
	}
	h := f.now().Unix() / 3600
	f.mu.Lock()
	defer f.mu.Unlock()
	slot := &f.hours[h%24]
	if slot.hour != h || slot.byFormat == nil {
		*slot = hourTimes{hour: h, byFormat: map[string]*recentTimes{}}
	}
	r := slot.byFormat[format]
	if r == nil {
		r = &recentTimes{}
		slot.byFormat[format] = r
	}
	r.add(d)
}

// Floor returns how long a failed sign-in takes at least now: the
// configured minimum, or 5/4 of the slowest format's time in any of the
// last 24 hours if that is longer (at most 5 s).
func (f *FailureFloor) Floor() time.Duration {
	if f == nil {
		return 0
	}
	h := f.now().Unix() / 3600
	f.mu.Lock()
	defer f.mu.Unlock()
	var slowest time.Duration
	for _, s := range f.hours {
		if s.hour <= h-24 || s.hour > h {
			continue
		}
		for _, r := range s.byFormat {
			slowest = max(slowest, r.median())
		}
	}
	return max(f.min, min(slowest*5/4, maxObservedFloor))
}

// Wait records how long a failed sign-in against a hash in format ("" for
// none: an unknown address) has taken since since (its start, from
// time.Now) — the whole of it, lookups and writes with the hash, so that
// the floor also follows a database slow for a while — and returns when
// Floor has passed since since, or at once when it has already, or when
// ctx is done (the client went away, and with it anyone timing the answer).
func (f *FailureFloor) Wait(ctx context.Context, format string, since time.Time) {
	if f == nil {
		return
	}
	floor, took := f.Floor(), time.Since(since)
	f.Observe(failurePrefix+format, took) // for the failures after this one
	left := floor - took
	if left <= 0 {
		return
	}
	t := time.NewTimer(left)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
