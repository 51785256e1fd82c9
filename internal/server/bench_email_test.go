package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/store"
)

// Email sign-in and mail delivery. Figures and commands
// are in docs/benchmarks.md, section "Email sign-in and mail delivery".

// BenchmarkEmailStart is POST /api/email/start from 32 concurrent clients,
// each request for a new address from a new client IP, while keyshift's mail
// worker sends to an SMTP server that takes 50 ms to accept each message.
// The request only queues the mail in the flow's transaction, so its latency
// must stay far below the server's 50 ms.
//
// Every request has its own address and its own X-Forwarded-For address
// (keyshift trusts loopback proxies here), so neither email-addr (5 free)
// nor email-ip (30 free) throttles: the policies stay as shipped.
func BenchmarkEmailStart(b *testing.B) {
	eachBackend(b, func(b *testing.B, database string) {
		smtpd := mailtest.Start(b, mailtest.Delay(50*time.Millisecond))
		in := servertest.Start(b, database, func(c *config.Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
			c.SMTPURLs = []string{smtpd.URL()}
		})
		client := &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 64},
		}
		defer client.CloseIdleConnections()
		var seq atomic.Uint64
		var mu sync.Mutex
		var latencies []time.Duration
		b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0))) // 32 clients
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var mine []time.Duration
			defer func() {
				mu.Lock()
				latencies = append(latencies, mine...)
				mu.Unlock()
			}()
			for pb.Next() {
				n := seq.Add(1)
				began := time.Now()
				if err := emailStart(client, in.URL, n); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(began))
			}
		})
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		if len(latencies) > 0 {
			slices.Sort(latencies)
			b.ReportMetric(ms(latencies[len(latencies)/2]), "p50-ms")
			b.ReportMetric(ms(latencies[(len(latencies)*99)/100]), "p99-ms")
		}
		// What the slow SMTP server took meanwhile: far fewer than the
		// requests answered, the rest still queued.
		b.ReportMetric(float64(smtpd.Count()), "mails-sent-meanwhile")
	})
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// emailStart sends request number n: address bench-n@example.com from
// client IP 10.x.y.z (n's low 24 bits), and wants 202.
func emailStart(client *http.Client, base string, n uint64) error {
	body := fmt.Appendf(nil, `{"email":"bench-%d@example.com"}`, n)
	req, err := http.NewRequest(http.MethodPost, base+"/api/email/start", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", byte(n>>16), byte(n>>8), byte(n)))
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusAccepted {
		return fmt.Errorf("email start %d: %d %s", n, res.StatusCode, answer)
	}
	return nil
}

// outboxBatch is how many mails BenchmarkOutboxDelivery queues per round.
const outboxBatch = 500

// BenchmarkOutboxDelivery queues 500 mails, then times the worker (the
// shipped policy: 10 mails a claim, 4 sends at once) delivering all of them
// to an SMTP server on loopback that accepts at once. Each send is a new
// SMTP connection; each outcome is a write to the outbox.
func BenchmarkOutboxDelivery(b *testing.B) {
	eachBackend(b, func(b *testing.B, database string) {
		smtpd := mailtest.Start(b)
		ctx := context.Background()
		db, err := store.Open(ctx, database)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		sender, err := outbox.NewSMTP([]string{smtpd.URL()}, "keyshift@localhost", 30*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		box := outbox.NewOutbox(db, time.Now)
		var delivered time.Duration
		sent := 0
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			for j := range outboxBatch {
				msg := outbox.Message{
					To: fmt.Sprintf("bench-%d-%d@example.com", i, j), Subject: "Your sign-in link",
					Text: "Sign in: https://localhost/email/link#token", Kind: "signin",
				}
				if err := box.Enqueue(ctx, msg); err != nil {
					b.Fatal(err)
				}
			}
			sent += outboxBatch
			b.StartTimer()
			began := time.Now()
			wctx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { outbox.NewWorker(box, sender, outbox.Policy{}, nil, nil).Run(wctx); close(done) }()
			err := waitSent(ctx, db, sent, 2*time.Minute)
			delivered += time.Since(began)
			stop()
			<-done
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(sent)/delivered.Seconds(), "mails/s")
	})
}

// waitSent polls until want mails are sent, for at most limit.
func waitSent(ctx context.Context, db *store.DB, want int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		n, err := db.CountOutbox(ctx, outbox.StatusSent)
		if err != nil {
			return err
		}
		if n >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d mails sent after %v", n, want, limit)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
