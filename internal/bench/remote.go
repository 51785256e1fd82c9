package bench

import (
	"context"
	"fmt"
	"io"
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

// Scenario is one operation a load run repeats.
type Scenario struct {
	Name string
	Op   func(ctx context.Context) error
}

// Measurement is a scenario run at one concurrency: what the client saw,
// and, with a Probe, the server's CPU time per successful operation.
type Measurement struct {
	Scenario    string  `json:"scenario"`
	Concurrency int     `json:"concurrency"`
	Ops         int     `json:"ops"`
	Errors      int     `json:"errors"`
	Throttled   int     `json:"throttled"`
	Seconds     float64 `json:"seconds"`
	Rate        float64 `json:"opsPerSecond"`
	P50Ms       float64 `json:"p50Ms"`
	P95Ms       float64 `json:"p95Ms"`
	P99Ms       float64 `json:"p99Ms"`
	// ServerCPUMs and PostgresCPUMs are CPU milliseconds per successful
	// operation; null when not measured.
	ServerCPUMs   *float64 `json:"serverCpuMsPerOp"`
	PostgresCPUMs *float64 `json:"postgresCpuMsPerOp"`
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
	// stopProgress ends the progress line's goroutine and waits for it, so
	// that nothing writes to progress once Measure returns (the caller
	// writes there next).
	stop, stopped := make(chan struct{}), make(chan struct{})
	stopProgress := func() { close(stop); <-stopped }
	if progress == nil {
		close(stopped)
	} else {
		go func() {
			defer close(stopped)
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
		}()
	}
	srv0, pg0, err := probe.read()
	if err != nil {
		stopProgress()
		return Measurement{}, err
	}
	r := Run(ctx, d, concurrency, op)
	srv1, pg1, err := probe.read()
	stopProgress()
	if err != nil {
		return Measurement{}, err
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	m := Measurement{Scenario: sc.Name, Concurrency: concurrency, Ops: r.Ops, Errors: r.Errors, Throttled: r.Throttled,
		Seconds: r.Elapsed.Seconds(), Rate: r.Rate(), P50Ms: ms(r.P50), P95Ms: ms(r.P95), P99Ms: ms(r.P99)}
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
