package bench

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunCountsCallsAndErrors(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	r := Run(context.Background(), 50*time.Millisecond, 4, func(ctx context.Context) error {
		if n.Add(1)%2 == 0 {
			return errors.New("even")
		}
		time.Sleep(time.Millisecond)
		return nil
	})
	if r.Ops == 0 || r.Errors == 0 || r.Errors > r.Ops || r.Rate() <= 0 {
		t.Errorf("result %+v", r)
	}
	if r.P50 > r.P99 {
		t.Errorf("p50 %v above p99 %v", r.P50, r.P99)
	}
}

// A call that outlasts the duration still counts: on a loaded machine one
// Argon2id sign-in can take longer than a short run.
func TestRunCountsACallLongerThanTheDuration(t *testing.T) {
	t.Parallel()
	r := Run(context.Background(), time.Millisecond, 2, func(ctx context.Context) error {
		time.Sleep(20 * time.Millisecond)
		return nil
	})
	if r.Ops != 2 || r.Errors != 0 || r.Rate() <= 0 || r.Elapsed < 20*time.Millisecond {
		t.Errorf("result %+v, want one finished call per goroutine", r)
	}
}

// Cancelling ctx stops the run without counting the cut-off calls as errors.
func TestRunStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	r := Run(ctx, time.Hour, 2, func(ctx context.Context) error {
		if n.Add(1) == 5 {
			cancel()
		}
		<-time.After(time.Millisecond)
		return ctx.Err()
	})
	if r.Errors != 0 || r.Ops > 6 {
		t.Errorf("result %+v", r)
	}
}

func TestSummarisePercentiles(t *testing.T) {
	t.Parallel()
	var lat []time.Duration
	for i := 100; i >= 1; i-- {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	r := summarise(lat, 0, time.Second)
	if r.P50 != 51*time.Millisecond || r.P99 != 100*time.Millisecond || r.Rate() != 100 {
		t.Errorf("got p50 %v p99 %v rate %v", r.P50, r.P99, r.Rate())
	}
}

func TestBurstCountsOutcomes(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	got := Burst(context.Background(), 10, func(context.Context) error {
		if n.Add(1) <= 3 {
			return errors.New("status 503")
		}
		return nil
	})
	if got["ok"] != 7 || got["status 503"] != 3 {
		t.Errorf("outcomes %v", got)
	}
}

func TestPeakRSSSeesAnAllocation(t *testing.T) {
	if RSSMiB() == 0 {
		t.Skip("no /proc/self/status on this system")
	}
	ResetPeakRSS()
	before := PeakRSSMiB()
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i) // touch every page so it is resident
	}
	if grown := PeakRSSMiB() - before; grown < 48 {
		t.Errorf("peak grew %.0f MiB after touching 64 MiB", grown)
	}
	_ = buf[len(buf)-1]
}

// TestRunCountsThrottledAndBusyApart: a load run tells the answers the
// design gives under overload — 429 from a throttle, 503 with Retry-After
// from the hashing gate — from failures; a 503 without Retry-After is a
// failure.
func TestRunCountsThrottledAndBusyApart(t *testing.T) {
	t.Parallel()
	answer := func(status int, retryAfter string) error {
		res := &http.Response{StatusCode: status, Header: http.Header{}}
		if retryAfter != "" {
			res.Header.Set("Retry-After", retryAfter)
		}
		_, err := expect(res, nil, http.StatusOK)
		return err
	}
	errs := []error{answer(http.StatusOK, ""), answer(http.StatusTooManyRequests, "1"), answer(http.StatusServiceUnavailable, "2"),
		answer(http.StatusServiceUnavailable, ""), answer(http.StatusInternalServerError, "")}
	var n atomic.Int64
	r := RunN(context.Background(), len(errs), 1, func(context.Context) error { return errs[n.Add(1)-1] })
	if r.Ops != 5 || r.Errors != 4 {
		t.Errorf("ops %d, errors %d; want 5 and 4", r.Ops, r.Errors)
	}
	r = Run(context.Background(), 20*time.Millisecond, 1, func(context.Context) error { return errs[n.Add(1)%5] })
	if r.Throttled == 0 || r.Busy == 0 || r.Throttled+r.Busy >= r.Errors {
		t.Errorf("throttled %d, busy %d, errors %d: want both counted, apart from the other failures", r.Throttled, r.Busy, r.Errors)
	}
}
