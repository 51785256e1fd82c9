package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Probe reads the CPU time of the server under load from /proc: keyshift's
// process (ServerPID) and, when PostgresPID is set, PostgreSQL's postmaster
// with its backends. Zero pids are not read. The load client must be
// another process: a client in the server's own process would be measured
// with it.
type Probe struct {
	ServerPID, PostgresPID int
}

// read returns the CPU used so far by the server and by PostgreSQL.
func (p Probe) read() (server, postgres time.Duration, err error) {
	if p.ServerPID > 0 {
		if server, err = ProcCPU(p.ServerPID, false); err != nil {
			return 0, 0, fmt.Errorf("server pid %d: %w", p.ServerPID, err)
		}
	}
	if p.PostgresPID > 0 {
		if postgres, err = ProcCPU(p.PostgresPID, true); err != nil {
			return 0, 0, fmt.Errorf("postgres pid %d: %w", p.PostgresPID, err)
		}
	}
	return server, postgres, nil
}

// resetPeak resets the server's resident-memory high-water mark (writing 5
// to /proc/PID/clear_refs, which needs the right to write there: the
// server's user or root). Where it cannot, the peak read after is the
// process's peak since it started, which is no lower.
func (p Probe) resetPeak() {
	if p.ServerPID > 0 {
		os.WriteFile(filepath.Join("/proc", strconv.Itoa(p.ServerPID), "clear_refs"), []byte("5"), 0)
	}
}

// peakRSSMiB reads the server's resident-memory high-water mark; 0 without
// a ServerPID or /proc.
func (p Probe) peakRSSMiB() float64 {
	if p.ServerPID <= 0 {
		return 0
	}
	return procStatusMiB(strconv.Itoa(p.ServerPID), "VmHWM")
}

// Scenario is one operation a load run repeats.
type Scenario struct {
	Name string
	Op   func(ctx context.Context) error
}

// Measurement is a scenario run at one concurrency: what the client saw,
// and, with a Probe, the server's CPU time per successful operation.
type Measurement struct {
	Scenario    string `json:"scenario"`
	Concurrency int    `json:"concurrency"`
	Ops         int    `json:"ops"`
	Errors      int    `json:"errors"`
	Throttled   int    `json:"throttled"`
	// Busy counts answers 503 with Retry-After (ErrBusy); Errors counts
	// them too, as it counts Throttled.
	Busy    int     `json:"busy"`
	Seconds float64 `json:"seconds"`
	Rate    float64 `json:"opsPerSecond"`
	P50Ms   float64 `json:"p50Ms"`
	P95Ms   float64 `json:"p95Ms"`
	P99Ms   float64 `json:"p99Ms"`
	// ServerCPUMs and PostgresCPUMs are CPU milliseconds per successful
	// operation; null when not measured.
	ServerCPUMs   *float64 `json:"serverCpuMsPerOp"`
	PostgresCPUMs *float64 `json:"postgresCpuMsPerOp"`
	// ServerPeakRSSMiB is the server process's peak resident memory
	// during the measured part (its high-water mark, reset first where
	// the kernel lets us); null without a ServerPID.
	ServerPeakRSSMiB *float64 `json:"serverPeakRssMiB,omitempty"`
}

// Measure runs sc for warmup (not measured: connections, caches, first
// rehashes), then for d at concurrency clients, reading the server's CPU
// time before and after the measured part. While it runs, progress (when
// not nil) gets a line a second, ending with "\r" so a terminal redraws it.
func Measure(ctx context.Context, sc Scenario, concurrency int, warmup, d time.Duration, probe Probe, progress io.Writer) (Measurement, error) {
	if warmup > 0 {
		Run(ctx, warmup, concurrency, sc.Op)
	}
	var done atomic.Int64
	op := func(ctx context.Context) error {
		err := sc.Op(ctx)
		done.Add(1)
		return err
	}
	stop := make(chan struct{})
	// Measure returns only once the progress goroutine is gone: a caller
	// may read progress (a buffer, say) as soon as Measure returns.
	var printer sync.WaitGroup
	defer printer.Wait()
	if progress != nil {
		printer.Go(func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			start := time.Now()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					n := done.Load()
					fmt.Fprintf(progress, "%s × %d: %d ops, %.0f/s, %.0fs of %.0fs   \r", sc.Name, concurrency, n,
						float64(n)/time.Since(start).Seconds(), time.Since(start).Seconds(), d.Seconds())
				}
			}
		})
	}
	probe.resetPeak()
	srv0, pg0, err := probe.read()
	if err != nil {
		close(stop)
		return Measurement{}, err
	}
	r := Run(ctx, d, concurrency, op)
	srv1, pg1, err := probe.read()
	close(stop)
	printer.Wait()
	if err != nil {
		return Measurement{}, err
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	m := Measurement{Scenario: sc.Name, Concurrency: concurrency, Ops: r.Ops, Errors: r.Errors, Throttled: r.Throttled, Busy: r.Busy,
		Seconds: r.Elapsed.Seconds(), Rate: r.Rate(), P50Ms: ms(r.P50), P95Ms: ms(r.P95), P99Ms: ms(r.P99)}
	if peak := probe.peakRSSMiB(); peak > 0 {
		m.ServerPeakRSSMiB = &peak
	}
	if ok := r.Ops - r.Errors; ok > 0 {
		if probe.ServerPID > 0 {
			v := ms(srv1-srv0) / float64(ok)
			m.ServerCPUMs = &v
		}
		if probe.PostgresPID > 0 {
			v := ms(pg1-pg0) / float64(ok)
			m.PostgresCPUMs = &v
		}
	}
	return m, ctx.Err()
}
