package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/password"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// The benchmarks run keyshift as deployed: default Argon2id parameters, one
// hashing slot per core, the real store over loopback HTTP. Figures and the
// command that produced them are in docs/benchmarks.md.

const benchPassword = "correct horse battery staple"

// defaults restores the production hashing parameters that servertest
// lowers for speed, and a queue long enough that no request is refused.
func defaults(c *config.Config) {
	d := config.Default()
	c.Password = d.Password
	c.Password.HashQueueTimeout = time.Minute
}

func eachBackend(b *testing.B, fn func(b *testing.B, database string)) {
	for _, be := range testdb.Backends() {
		b.Run(be.Name, func(b *testing.B) { fn(b, be.Database(b)) })
	}
}

func newHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
}

// post sends body as JSON and returns the status; safe from any goroutine.
func post(c *http.Client, url string, body any) (int, error) {
	buf, _ := json.Marshal(body)
	res, err := c.Post(url, "application/json", bytes.NewReader(buf))
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// BenchmarkBareArgon2id is the floor for a password sign-in: one Verify at
// the default parameters, no HTTP, no database.
func BenchmarkBareArgon2id(b *testing.B) {
	h := password.NewHasher(password.DefaultParams(), password.NewGate(1, time.Minute))
	ctx := context.Background()
	enc, err := h.Hash(ctx, benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, benchPassword, enc); !ok || err != nil {
			b.Fatal("verify failed", err)
		}
	}
}

// BenchmarkPasswordSignin is POST /api/signin/password end to end, one at a
// time: parse, throttle check, user lookup, Argon2id, session, event, cookie.
func BenchmarkPasswordSignin(b *testing.B) {
	eachBackend(b, func(b *testing.B, database string) {
		in := servertest.Start(b, database, defaults)
		in.Client(b).Signup("bench@example.com", benchPassword)
		c := newHTTPClient()
		body := map[string]string{"email": "bench@example.com", "password": benchPassword}
		b.ResetTimer()
		for b.Loop() {
			if status, err := post(c, in.URL+"/api/signin/password", body); status != http.StatusOK {
				b.Fatalf("status %d, %v", status, err)
			}
		}
	})
}

// BenchmarkSessionValidation is GET /api/session with a valid cookie, from
// 32 concurrent clients: the request every protected page makes.
func BenchmarkSessionValidation(b *testing.B) {
	eachBackend(b, func(b *testing.B, database string) {
		in := servertest.Start(b, database)
		cl := in.Client(b)
		cl.Signup("bench@example.com", benchPassword)
		cookie := "ks_session=" + cl.Cookie("ks_session")
		c := newHTTPClient()
		b.SetParallelism(16) // 16 × GOMAXPROCS(2) = 32 clients
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest(http.MethodGet, in.URL+"/api/session", nil)
				req.Header.Set("Cookie", cookie)
				res, err := c.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Errorf("status %d", res.StatusCode)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
}

// BenchmarkConcurrentSignins fires 200 password sign-ins at once and reports
// the process's peak resident memory while they run. The hashing gate keeps
// it near (slots × 19 MiB) above the baseline, whatever the request count.
func BenchmarkConcurrentSignins(b *testing.B) {
	in := servertest.Start(b, "sqlite:"+testdb.SQLitePath(b), defaults)
	in.Client(b).Signup("bench@example.com", benchPassword)
	body := map[string]string{"email": "bench@example.com", "password": benchPassword}
	var peak, base float64
	var refused int
	b.ResetTimer()
	for b.Loop() {
		base = max(base, rssMiB("VmRSS"))
		resetPeakRSS()
		statuses := fire200(in.URL, body)
		peak = max(peak, rssMiB("VmHWM"))
		if statuses[http.StatusOK]+statuses[http.StatusServiceUnavailable] != 200 {
			b.Fatalf("statuses %v", statuses)
		}
		refused = statuses[http.StatusServiceUnavailable]
	}
	b.ReportMetric(float64(refused), "refused-503")
	b.ReportMetric(peak, "peak-RSS-MiB")
	b.ReportMetric(base, "base-RSS-MiB")
}

// fire200 sends 200 sign-ins at once, each from its own client, and
// counts the answers by status (0 for a transport error).
func fire200(base string, body any) map[int]int {
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			status, _ := post(&http.Client{}, base+"/api/signin/password", body)
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return statuses
}

// resetPeakRSS resets VmHWM (Linux: writing 5 to clear_refs).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// rssMiB reads a Vm* line of /proc/self/status in MiB.
func rssMiB(field string) float64 {
	f, err := os.Open("/proc/self/status")
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

// TestPeakMemoryIsBoundedByTheGate checks the property the benchmark
// measures, without timing anything: 200 concurrent sign-ins never hash
// more than the configured number at once; those past the gate's queue
// (64 waiters per slot) are refused at once with 503 and Retry-After, and
// every other one succeeds.
func TestPeakMemoryIsBoundedByTheGate(t *testing.T) {
	in := servertest.Start(t, "sqlite:"+testdb.SQLitePath(t), func(c *config.Config) {
		c.Password.HashConcurrency = 2
		c.Password.HashQueueTimeout = time.Minute
	})
	in.Client(t).Signup("bench@example.com", benchPassword)
	stop := make(chan struct{})
	maxInUse := 0
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				maxInUse = max(maxInUse, in.Gate.InUse())
				time.Sleep(100 * time.Microsecond)
			}
		}
	})
	statuses := fire200(in.URL, map[string]string{"email": "bench@example.com", "password": benchPassword})
	close(stop)
	wg.Wait()
	if statuses[http.StatusOK]+statuses[http.StatusServiceUnavailable] != 200 || statuses[http.StatusOK] < 2*64 {
		t.Errorf("statuses %v: want 200 answers, 200 or 503, at least 128 of them 200", statuses)
	}
	if maxInUse > 2 || maxInUse == 0 {
		t.Errorf("hashes at once peaked at %d, want 1..2", maxInUse)
	}
}
