package outbox_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/pepper"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fast is the policy of most tests: polls often, retries after 30 s of the
// test clock.
var fast = outbox.Policy{Poll: 20 * time.Millisecond, SendTimeout: 5 * time.Second}

type rig struct {
	database string
	db       *store.DB
	clock    *clock
	keys     []pepper.Key
	outbox   *outbox.Outbox
}

func newRig(t *testing.T, database string) *rig {
	t.Helper()
	r := &rig{database: database, clock: &clock{t: t0}, keys: newPepper(t).Keys(outbox.SealPurpose)}
	r.db = r.open(t)
	r.outbox = r.outboxOn(r.db)
	return r
}

// newPepper returns a fresh random pepper set.
func newPepper(t *testing.T) pepper.Set {
	t.Helper()
	p, err := pepper.New([]byte(rand.Text() + rand.Text()))
	if err != nil {
		t.Fatal(err)
	}
	return pepper.Set{Current: p}
}

// outboxOn returns an outbox over db with the rig's keys, as another node
// sharing the pepper would have; opts add to it.
func (r *rig) outboxOn(db *store.DB, opts ...outbox.OutboxOption) *outbox.Outbox {
	return outbox.NewOutbox(db, r.clock.Now, append([]outbox.OutboxOption{outbox.WithKeys(r.keys)}, opts...)...)
}

// open opens another handle on the rig's database: what a new process or
// another node would have.
func (r *rig) open(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), r.database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func smtpSender(t *testing.T, urls ...string) *outbox.SMTP {
	t.Helper()
	s, err := outbox.NewSMTP(urls, "Keyshift <keyshift@example.com>", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// run runs w until the test ends.
func run(t *testing.T, w *outbox.Worker) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *rig) enqueue(t *testing.T, msg outbox.Message) {
	t.Helper()
	err := r.db.InTx(context.Background(), func(ctx context.Context) error { return r.outbox.Enqueue(ctx, msg) })
	if err != nil {
		t.Fatal(err)
	}
}

func (r *rig) rows(t *testing.T) []outbox.Mail {
	t.Helper()
	ms, err := r.db.FindOutbox(context.Background(), outbox.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func (r *rig) only(t *testing.T) outbox.Mail {
	t.Helper()
	ms := r.rows(t)
	if len(ms) != 1 {
		t.Fatalf("outbox has %d rows, want 1", len(ms))
	}
	return ms[0]
}

func sample(t *testing.T, to string) outbox.Message {
	t.Helper()
	msg, err := outbox.Render("sample", "sample", to, "Keyshift", map[string]any{
		"Site": "Keyshift", "Name": "Ada <3", "Link": "https://auth.example.com/email/verify?token=AbC_123-xyz&x=1",
	})
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestDeliversTheMailAsRendered(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		r := newRig(t, database)
		srv := mailtest.Start(t)
		run(t, outbox.NewWorker(r.outbox, smtpSender(t, srv.URL()), fast, nil, nil))
		r.enqueue(t, sample(t, "ada@example.com"))

		eventually(t, "the server has the mail", func() bool { return len(srv.Messages()) == 1 })
		got := srv.Messages()[0]
		if got.From != "keyshift@example.com" || len(got.To) != 1 || got.To[0] != "ada@example.com" {
			t.Errorf("envelope from %q to %q", got.From, got.To)
		}
		d := mailtest.Decode(t, got.Raw)
		link := "https://auth.example.com/email/verify?token=AbC_123-xyz&x=1"
		if d.Subject != "Hello from Keyshift" {
			t.Errorf("subject %q", d.Subject)
		}
		if !strings.Contains(d.Text, "Hello Ada <3,") || !strings.Contains(d.Text, link) {
			t.Errorf("text body lacks the name or link:\n%s", d.Text)
		}
		if !strings.Contains(d.HTML, "Ada &lt;3") || !strings.Contains(d.HTML, `href="https://auth.example.com/email/verify?token=AbC_123-xyz&amp;x=1"`) {
			t.Errorf("HTML body lacks the escaped name or link:\n%s", d.HTML)
		}
		eventually(t, "the row is marked sent", func() bool { return r.only(t).Status == outbox.StatusSent })
		if m := r.only(t); m.Provider != srv.Name() || m.Attempts != 1 || !m.DoneAt.Equal(t0) {
			t.Errorf("row = %+v, want provider %s, 1 attempt, done at t0", m, srv.Name())
		}
	})
}

func TestFallsBackToTheNextServer(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		r := newRig(t, database)
		fallback := mailtest.Start(t)
		run(t, outbox.NewWorker(r.outbox, smtpSender(t, "smtp://"+mailtest.ClosedAddr(t), fallback.URL()), fast, nil, nil))
		r.enqueue(t, sample(t, "ada@example.com"))
		eventually(t, "the row is marked sent", func() bool { return r.only(t).Status == outbox.StatusSent })
		if n := len(fallback.Messages()); n != 1 {
			t.Errorf("fallback received %d mails, want 1", n)
		}
		if p := r.only(t).Provider; p != fallback.Name() {
			t.Errorf("provider %q, want the fallback %s", p, fallback.Name())
		}
	})
}

func TestKeepsMailQueuedWhileEveryServerIsDown(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		r := newRig(t, database)
		primary, fallback := mailtest.ClosedAddr(t), mailtest.ClosedAddr(t)
		run(t, outbox.NewWorker(r.outbox, smtpSender(t, "smtp://"+primary+"?tls=none", "smtp://"+fallback+"?tls=none"), fast, nil, nil))
		r.enqueue(t, sample(t, "ada@example.com"))
		eventually(t, "the first attempt failed", func() bool { return r.only(t).LastError != "" })
		m := r.only(t)
		if m.Status != outbox.StatusQueued || m.Attempts != 1 || !m.DueAt.Equal(t0.Add(30*time.Second)) {
			t.Fatalf("after a failed attempt: %+v, want queued, 1 attempt, due in 30 s", m)
		}

		srv := mailtest.Start(t, mailtest.At(primary))
		time.Sleep(100 * time.Millisecond) // several polls: nothing is due yet
		if n := len(srv.Messages()); n != 0 {
			t.Fatalf("sent %d mails before the retry was due", n)
		}
		r.clock.Advance(30 * time.Second)
		eventually(t, "the row is marked sent", func() bool { return r.only(t).Status == outbox.StatusSent })
		if n := len(srv.Messages()); n != 1 {
			t.Errorf("server received %d mails, want 1", n)
		}
		if a := r.only(t).Attempts; a != 2 {
			t.Errorf("attempts = %d, want 2", a)
		}
	})
}

func TestRetriesATemporaryRefusal(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		r := newRig(t, database)
		srv := mailtest.Start(t, mailtest.Reply(func(n int) error {
			if n == 1 {
				return mailtest.Refusal(451, "try again later")
			}
			return nil
		}))
		run(t, outbox.NewWorker(r.outbox, smtpSender(t, srv.URL()), fast, nil, nil))
		r.enqueue(t, sample(t, "ada@example.com"))
		eventually(t, "the first attempt failed", func() bool { return r.only(t).LastError != "" })
		if m := r.only(t); m.Status != outbox.StatusQueued || !strings.Contains(m.LastError, "451") {
			t.Fatalf("after a 451: %+v, want queued with the reply kept", m)
		}
		r.clock.Advance(30 * time.Second)
		eventually(t, "the row is marked sent", func() bool { return r.only(t).Status == outbox.StatusSent })
		if n := len(srv.Messages()); n != 1 {
			t.Errorf("server accepted %d mails, want 1", n)
		}
	})
}

func TestGivesUpOnAPermanentRefusal(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		r := newRig(t, database)
		srv := mailtest.Start(t, mailtest.Reply(func(int) error { return mailtest.Refusal(550, "no such user") }))
		run(t, outbox.NewWorker(r.outbox, smtpSender(t, srv.URL()), fast, nil, nil))
		r.enqueue(t, sample(t, "nobody@example.com"))
		eventually(t, "the row is marked failed", func() bool { return r.only(t).Status == outbox.StatusFailed })
		if m := r.only(t); m.Attempts != 1 || !strings.Contains(m.LastError, "550") {
			t.Errorf("failed row = %+v, want 1 attempt and the 550 reply", m)
		}
		stuck, err := r.db.FindOutbox(context.Background(), outbox.Filter{Statuses: []outbox.Status{outbox.StatusFailed}})
		if err != nil || len(stuck) != 1 {
			t.Errorf("FindOutbox(failed) = %d rows, %v; want 1", len(stuck), err)
		}
	})
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		r := newRig(t, database)
		p := fast
		p.MaxAttempts = 3
		w := outbox.NewWorker(r.outbox, smtpSender(t, "smtp://"+mailtest.ClosedAddr(t)), p, nil, nil)
		r.enqueue(t, sample(t, "ada@example.com"))
		for i := range 3 {
			if n, err := w.RunOnce(context.Background()); n != 1 || err != nil {
				t.Fatalf("attempt %d claimed %d, %v", i+1, n, err)
			}
			r.clock.Advance(time.Hour)
		}
		if m := r.only(t); m.Status != outbox.StatusFailed || m.Attempts != 3 {
			t.Errorf("after 3 attempts: %+v, want failed", m)
		}
	})
}

func TestDeliversAfterACrashBeforeDelivery(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		r := newRig(t, database)
		r.enqueue(t, sample(t, "ada@example.com")) // committed; the process dies before any worker ran
		r.db.Close()

		srv := mailtest.Start(t)
		db := r.open(t)
		run(t, outbox.NewWorker(r.outboxOn(db), smtpSender(t, srv.URL()), fast, nil, nil))
		eventually(t, "the server has the mail", func() bool { return len(srv.Messages()) == 1 })
	})
}

func TestRedeliversMailAWorkerDiedHolding(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		r := newRig(t, database)
		r.enqueue(t, sample(t, "ada@example.com"))
		// A worker claims the mail and dies before sending it.
		if ms, err := r.db.ClaimOutbox(context.Background(), t0, t0.Add(5*time.Minute), "dead", 10); err != nil || len(ms) != 1 {
			t.Fatalf("claim = %d, %v", len(ms), err)
		}
		srv := mailtest.Start(t)
		run(t, outbox.NewWorker(r.outboxOn(r.open(t)), smtpSender(t, srv.URL()), fast, nil, nil))
		time.Sleep(100 * time.Millisecond)
		if n := len(srv.Messages()); n != 0 {
			t.Fatalf("sent %d mails while another worker's lease held", n)
		}
		r.clock.Advance(5 * time.Minute)
		eventually(t, "the server has the mail", func() bool { return len(srv.Messages()) == 1 })
	})
}

func TestTwoWorkersSendEachMailOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		r := newRig(t, database)
		srv := mailtest.Start(t)
		const n = 50
		for i := range n {
			r.enqueue(t, outbox.Message{To: fmt.Sprintf("u%d@example.com", i), Subject: fmt.Sprintf("mail %d", i), Text: "hi"})
		}
		p := fast
		p.Batch = 5
		for range 2 {
			run(t, outbox.NewWorker(r.outboxOn(r.open(t)), smtpSender(t, srv.URL()), p, nil, nil))
		}
		eventually(t, "every mail is marked sent", func() bool {
			n, err := r.db.CountOutbox(context.Background(), outbox.StatusSent)
			return err == nil && n == 50
		})
		seen := map[string]int{}
		for _, m := range srv.Messages() {
			seen[mailtest.Decode(t, m.Raw).Subject]++
		}
		for i := range n {
			if c := seen[fmt.Sprintf("mail %d", i)]; c != 1 {
				t.Errorf("mail %d delivered %d times", i, c)
			}
		}
		if len(srv.Messages()) != n {
			t.Errorf("server received %d mails, want %d", len(srv.Messages()), n)
		}
	})
}

func TestRollbackLeavesNoMail(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		r := newRig(t, database)
		boom := errors.New("boom")
		err := r.db.InTx(context.Background(), func(ctx context.Context) error {
			if err := r.outbox.Enqueue(ctx, sample(t, "ada@example.com")); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v", err)
		}
		if ms := r.rows(t); len(ms) != 0 {
			t.Errorf("outbox has %d rows after a rollback, want 0", len(ms))
		}
	})
}

func TestWakesPromptlyAfterCommit(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		r := newRig(t, database)
		srv := mailtest.Start(t)
		p := fast
		p.Poll = time.Hour // only the wake-up can deliver in time
		run(t, outbox.NewWorker(r.outbox, smtpSender(t, srv.URL()), p, nil, nil))
		time.Sleep(50 * time.Millisecond) // the first poll has run
		err := r.db.InTx(context.Background(), func(ctx context.Context) error {
			if err := r.outbox.Enqueue(ctx, sample(t, "ada@example.com")); err != nil {
				return err
			}
			time.Sleep(200 * time.Millisecond) // the worker woke before this commit
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "the server has the mail", func() bool { return len(srv.Messages()) == 1 })
	})
}

func TestDevMailerKeepsTheMail(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		r := newRig(t, database)
		r.outbox = r.outboxOn(r.db, outbox.KeepSentMail())
		run(t, outbox.NewWorker(r.outbox, outbox.DevSender{}, fast, nil, nil))
		r.enqueue(t, sample(t, "ada@example.com"))
		eventually(t, "the row is marked sent", func() bool { return r.only(t).Status == outbox.StatusSent })
		recent, err := r.outbox.Recent(context.Background(), 10)
		if err != nil || len(recent) != 1 || recent[0].Provider != "dev" || !strings.Contains(recent[0].Text, "email/verify") {
			t.Errorf("Recent = %+v, %v; want the mail, delivered to dev", recent, err)
		}
	})
}
