// Package bench drives load against a running keyshift and measures it:
// rate, latency percentiles and peak memory. `keyshift bench` and the Go
// benchmarks both use it, so the figures in docs/benchmarks.md come from
// one implementation.
package bench

import (
	"bufio"
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Result summarises one load run.
type Result struct {
	Ops     int
	Errors  int
	Elapsed time.Duration
	// Throttled counts the errors that were ErrThrottled, Busy those that
	// were ErrBusy.
	Throttled     int
	Busy          int
	P50, P95, P99 time.Duration
}

// Rate returns successful operations per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops-r.Errors) / r.Elapsed.Seconds()
}

// Run calls op from concurrency goroutines until d has passed (or ctx
// ends) and measures every call. op returns an error for a failed call.
// The deadline stops new calls only: a call under way finishes and counts,
// so every goroutine completes at least one call, and a scenario whose
// single call takes longer than d (a slow hash on a loaded machine) reports
// a low rate instead of none. Elapsed runs until the last call returns.
func Run(ctx context.Context, d time.Duration, concurrency int, op func(ctx context.Context) error) Result {
	var errs, throttled, busy atomic.Int64
	lat := make([][]time.Duration, concurrency)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range concurrency {
		wg.Go(func() {
			for first := true; first || time.Now().Before(deadline); first = false {
				if ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := op(ctx); err != nil {
					if ctx.Err() != nil {
						return // cancelled by the caller: not a failure
					}
					errs.Add(1)
					if errors.Is(err, ErrThrottled) {
						throttled.Add(1)
					} else if errors.Is(err, ErrBusy) {
						busy.Add(1)
					}
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		})
	}
	wg.Wait()
	r := summarise(slices.Concat(lat...), int(errs.Load()), time.Since(start))
	r.Throttled, r.Busy = int(throttled.Load()), int(busy.Load())
	return r
}

// RunN calls op n times in all, from concurrency goroutines, and measures
// every call: Run with a count instead of a duration, for Go benchmarks
// (b.N) that also want latency percentiles.
func RunN(ctx context.Context, n, concurrency int, op func(ctx context.Context) error) Result {
	var next, errs atomic.Int64
	lat := make([][]time.Duration, concurrency)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range concurrency {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				t0 := time.Now()
				if err := op(ctx); err != nil {
					errs.Add(1)
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		})
	}
	wg.Wait()
	return summarise(slices.Concat(lat...), int(errs.Load()), time.Since(start))
}

func summarise(all []time.Duration, errs int, elapsed time.Duration) Result {
	slices.Sort(all)
	r := Result{Ops: len(all), Errors: errs, Elapsed: elapsed}
	if len(all) > 0 {
		r.P50 = all[len(all)*50/100]
		r.P95 = all[min(len(all)*95/100, len(all)-1)]
		r.P99 = all[min(len(all)*99/100, len(all)-1)]
	}
	return r
}

// Burst starts n calls of op at once and waits for all; it returns how many
// returned each error text ("ok" for success).
func Burst(ctx context.Context, n int, op func(ctx context.Context) error) map[string]int {
	var mu sync.Mutex
	out := map[string]int{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			key := "ok"
			if err := op(ctx); err != nil {
				key = err.Error()
			}
			mu.Lock()
			out[key]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// ResetPeakRSS resets the process's resident-memory high-water mark
// (Linux: writing 5 to /proc/self/clear_refs); elsewhere it does nothing.
func ResetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// PeakRSSMiB returns the resident-memory high-water mark since the last
// reset, in MiB (0 where /proc is missing).
func PeakRSSMiB() float64 { return procStatusMiB("self", "VmHWM") }

// RSSMiB returns the resident memory now, in MiB.
func RSSMiB() float64 { return procStatusMiB("self", "VmRSS") }

func procStatusMiB(pid, field string) float64 {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
