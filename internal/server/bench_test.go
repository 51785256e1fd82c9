package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/bench"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/password"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// The benchmarks run keyshift as deployed: default Argon2id parameters, one
// hashing slot per core, the real store over loopback HTTP. Figures and the
// command that produced them are in docs/benchmarks.md; `keyshift bench`
// runs the same scenarios through the same package (internal/bench).

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

// BenchmarkBareArgon2id is the floor for a password sign-in: one Verify at
// the default parameters, no HTTP, no database.
func BenchmarkBareArgon2id(b *testing.B) {
	h := password.NewHasher(password.DefaultParams(), password.NewGate(1, time.Minute))
	ctx := context.Background()
	enc, err := h.Hash(ctx, benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, benchPassword, enc, "argon2id"); !ok || err != nil {
			b.Fatal("verify failed", err)
		}
	}
}

// BenchmarkPasswordSignin is POST /api/signin/password end to end, one at a
// time: parse, throttle check, user lookup, Argon2id, session, event, cookie.
func BenchmarkPasswordSignin(b *testing.B) {
	eachBackend(b, func(b *testing.B, database string) {
		in := servertest.Start(b, database, defaults)
		t := bench.NewTarget(in.URL)
		ctx := context.Background()
		if _, err := t.Signup(ctx, "bench@example.com", benchPassword); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := t.Signin(ctx, "bench@example.com", benchPassword); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSignup is POST /api/signup end to end, one at a time, each from
// an address of its own: the password policy (the breached list and its
// variants), Argon2id, the account, its confirmation mail and session. Its
// figure is what the policy check is measured against (docs/benchmarks.md).
func BenchmarkSignup(b *testing.B) {
	eachBackend(b, func(b *testing.B, database string) {
		in := servertest.Start(b, database, defaults, trustLoopback)
		ctx := context.Background()
		i := 0
		for b.Loop() {
			i++
			t := bench.NewTarget(in.URL).From(fmt.Sprintf("10.1.%d.%d", i/250, i%250+1))
			if _, err := t.Signup(ctx, fmt.Sprintf("new%d@example.com", i), benchPassword); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSessionValidation is GET /api/session with a valid cookie, from
// 32 concurrent clients: the request every protected page makes.
func BenchmarkSessionValidation(b *testing.B) {
	eachBackend(b, func(b *testing.B, database string) {
		in := servertest.Start(b, database)
		t := bench.NewTarget(in.URL)
		ctx := context.Background()
		cookie, err := t.Signup(ctx, "bench@example.com", benchPassword)
		if err != nil {
			b.Fatal(err)
		}
		b.SetParallelism(16) // 16 × GOMAXPROCS(2) = 32 clients
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := t.Session(ctx, cookie); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
}

// BenchmarkConcurrentSignins fires 200 password sign-ins at once (200
// members, each from an address of its own) and reports
// the process's peak resident memory while they run. The hashing gate keeps
// it near (slots × 19 MiB) above the baseline, whatever the request count.
func BenchmarkConcurrentSignins(b *testing.B) {
	in := servertest.Start(b, "sqlite:"+testdb.SQLitePath(b), defaults, trustLoopback)
	ctx := context.Background()
	members := burstMembers(b, in, 200)
	var peak, base float64
	var refused int
	for b.Loop() {
		base = max(base, bench.RSSMiB())
		bench.ResetPeakRSS()
		outcomes := burst(ctx, in.URL, members)
		peak = max(peak, bench.PeakRSSMiB())
		if outcomes["ok"]+outcomes[bench.ErrBusy.Error()] != 200 {
			b.Fatalf("outcomes %v", outcomes)
		}
		refused = outcomes[bench.ErrBusy.Error()]
	}
	b.ReportMetric(peak, "peak-RSS-MiB")
	b.ReportMetric(base, "base-RSS-MiB")
	b.ReportMetric(float64(refused), "refused-503")
}

// trustLoopback makes keyshift believe X-Forwarded-For from loopback, so
// that a burst can come from many client addresses.
func trustLoopback(c *config.Config) {
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
}

// burstMembers stores n members with benchPassword and returns their
// addresses. One hash serves them all, written straight to the store as an
// import would, so that setting them up costs no hashing.
func burstMembers(tb testing.TB, in *servertest.Instance, n int) []string {
	tb.Helper()
	ctx := context.Background()
	hash, err := in.Hasher.Hash(ctx, benchPassword)
	if err != nil {
		tb.Fatal(err)
	}
	emails := make([]string, n)
	now := in.Clock.Now()
	for i := range emails {
		emails[i] = fmt.Sprintf("bench%d@example.com", i)
		u := &account.User{ID: in.Random.NewID(), Email: emails[i], EmailKey: emails[i], WebAuthnID: []byte(in.Random.NewID()),
			Origin: account.OriginImport, CreatedAt: now, UpdatedAt: now}
		if err := in.DB.CreateUser(ctx, u); err != nil {
			tb.Fatal(err)
		}
		if err := in.DB.CreateCredential(ctx, &account.Credential{ID: in.Random.NewID(), UserID: u.ID, Type: account.CredentialPassword,
			PasswordHash: hash, PasswordFormat: "argon2id", CreatedAt: now, UpdatedAt: now}); err != nil {
			tb.Fatal(err)
		}
	}
	return emails
}

// burst signs every member in at once, each from a client address of its
// own: distinct people, whom keyshift's per-account and per-IP throttles
// let through (one account's or one address's concurrent attempts are
// reserved before any hash, and all but the free ones refused).
func burst(ctx context.Context, url string, members []string) map[string]int {
	var next atomic.Int64
	return bench.Burst(ctx, len(members), func(ctx context.Context) error {
		i := int(next.Add(1)) - 1
		t := bench.NewTarget(url).From(fmt.Sprintf("10.0.%d.%d", i/250, i%250+1))
		return t.Signin(ctx, members[i], benchPassword)
	})
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
	}, trustLoopback)
	ctx := context.Background()
	members := burstMembers(t, in, 200)
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
	outcomes := burst(ctx, in.URL, members)
	close(stop)
	wg.Wait()
	if outcomes["ok"]+outcomes[bench.ErrBusy.Error()] != 200 || outcomes["ok"] < 2*64 {
		t.Errorf("outcomes %v: want 200 answers, 200 or 503, at least 128 of them 200", outcomes)
	}
	if maxInUse > 2 || maxInUse == 0 {
		t.Errorf("hashes at once peaked at %d, want 1..2", maxInUse)
	}
	// The burst leaves keyshift answering.
	res, err := http.Get(in.URL + "/readyz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("keyshift is not ready after the burst: %v", err)
	}
	res.Body.Close()
}
