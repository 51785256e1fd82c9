package outbox_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/pepper"
	"github.com/keyshift/keyshift/internal/testdb"
)

// secretMail is a mail whose subject and bodies carry secrets, as a sign-in
// mail's do.
func secretMail(to string) outbox.Message {
	return outbox.Message{To: to, Kind: "signin", Subject: "Your sign-in code: 493817",
		Text: "Open https://auth.example.com/email/verify?token=Zq9-SECRET-TOKEN or type 493817.",
		HTML: `<a href="https://auth.example.com/email/verify?token=Zq9-SECRET-TOKEN">sign in</a>`}
}

// wantNoSecret fails when a stored row shows any of the mail's secrets.
func wantNoSecret(t *testing.T, m outbox.Mail) {
	t.Helper()
	stored := m.Subject + m.Text + m.HTML + string(m.Sealed)
	for _, secret := range []string{"493817", "SECRET-TOKEN"} {
		if strings.Contains(stored, secret) {
			t.Errorf("row %d stores %q in clear: %+v", m.ID, secret, m)
		}
	}
}

// TestTheOutboxStoresMailSealedAndWipesItOnceSent: a queued mail's subject
// and bodies are sealed in the row (readable only through an outbox with the
// key), and a sent mail's are gone, unless the dev mailer keeps them.
func TestTheOutboxStoresMailSealedAndWipesItOnceSent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		r := newRig(t, database)
		r.enqueue(t, secretMail("ada@example.com"))
		row := r.only(t)
		wantNoSecret(t, row)
		if len(row.Sealed) == 0 || row.Subject != "" || row.Text != "" || row.To != "ada@example.com" || row.Kind != "signin" {
			t.Errorf("queued row %+v, want only recipient and kind in clear", row)
		}
		opened, err := r.outbox.Find(context.Background(), outbox.Filter{})
		if err != nil || len(opened) != 1 || opened[0].Subject != "Your sign-in code: 493817" || !strings.Contains(opened[0].HTML, "SECRET-TOKEN") {
			t.Fatalf("Find = %+v, %v; want the mail opened", opened, err)
		}
		if other, _ := r.outboxOn(r.db).Find(context.Background(), outbox.Filter{}); other[0].Text != opened[0].Text {
			t.Error("another outbox with the same keys (another node) does not open the mail")
		}
		stranger := outbox.NewOutbox(r.db, r.clock.Now, outbox.WithKeys(newPepper(t).Keys(outbox.SealPurpose)))
		if got, _ := stranger.Find(context.Background(), outbox.Filter{}); strings.Contains(got[0].Text, "SECRET") {
			t.Error("an outbox under another pepper opened the mail")
		}

		srv := mailtest.Start(t)
		run(t, outbox.NewWorker(r.outbox, smtpSender(t, srv.URL()), fast, nil, nil))
		got := mailtest.Decode(t, srv.Wait(t, 1, tenSeconds)[0].Raw)
		if got.Subject != "Your sign-in code: 493817" || !strings.Contains(got.Text, "SECRET-TOKEN") {
			t.Errorf("delivered %q / %q, want the mail as queued", got.Subject, got.Text)
		}
		eventually(t, "the row is marked sent", func() bool { return r.only(t).Status == outbox.StatusSent })
		if sent := r.only(t); len(sent.Sealed) != 0 || sent.Subject != "" || sent.Text != "" {
			t.Errorf("sent row keeps its content: %+v", sent)
		}
	})
}

func TestTheDevMailerKeepsSentMailSealed(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		r := newRig(t, database)
		r.outbox = r.outboxOn(r.db, outbox.KeepSentMail())
		var logs syncBuffer
		run(t, outbox.NewWorker(r.outbox, outbox.DevSender{Log: slog.New(slog.NewTextHandler(&logs, nil))}, fast, nil, nil))
		r.enqueue(t, secretMail("ada@example.com"))
		eventually(t, "the row is marked sent", func() bool { return r.only(t).Status == outbox.StatusSent })
		row := r.only(t)
		wantNoSecret(t, row)
		if len(row.Sealed) == 0 {
			t.Error("the dev mailer's sent mail was wiped: /dev/mail could not show it")
		}
		wantLogWithoutSecrets(t, logs.String(), "example.com")
	})
}

// TestMailSealedBeforeARotationIsStillSent: a mail queued under the old
// pepper is delivered by a node that has the new one and the old one as
// previous; a node without the old one sends nothing and leaves it to be
// retried, by a node that may have the key.
func TestMailSealedBeforeARotationIsStillSent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		r := newRig(t, database)
		r.enqueue(t, secretMail("ada@example.com"))
		old := r.keys
		newer := newPepper(t)
		r.keys = pepper.Set{Current: newer.Current}.Keys(outbox.SealPurpose)
		forgetful := r.outboxOn(r.db)
		r.keys = append(r.keys, old...)
		rotated := r.outboxOn(r.db)

		srv := mailtest.Start(t)
		if n, err := outbox.NewWorker(rotated, smtpSender(t, srv.URL()), fast, nil, nil).RunOnce(context.Background()); n != 1 || err != nil {
			t.Fatalf("RunOnce = %d, %v", n, err)
		}
		if got := mailtest.Decode(t, srv.Wait(t, 1, tenSeconds)[0].Raw); !strings.Contains(got.Text, "SECRET-TOKEN") {
			t.Errorf("delivered %q", got.Text)
		}

		r.enqueue(t, secretMail("bob@example.com"))
		if n, err := outbox.NewWorker(forgetful, smtpSender(t, srv.URL()), fast, nil, nil).RunOnce(context.Background()); n != 1 || err != nil {
			t.Fatalf("RunOnce = %d, %v", n, err)
		}
		retried, _ := r.db.FindOutbox(context.Background(), outbox.Filter{Statuses: []outbox.Status{outbox.StatusQueued}, Troubled: true})
		if len(retried) != 1 || !strings.Contains(retried[0].LastError, "pepper") || srv.Count() != 1 {
			t.Errorf("a mail no key of this node opens: %+v, %d delivered; want it left for a retry, not sent", retried, srv.Count())
		}
	})
}

// TestMailLogDeliversNothingAndLogsNoSecret: without SMTP outside dev
// mode, a mail is logged by id, kind and recipient domain only, and kept as
// failed — never reported sent.
func TestMailLogDeliversNothingAndLogsNoSecret(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		r := newRig(t, database)
		var logs syncBuffer
		log := slog.New(slog.NewJSONHandler(&logs, nil))
		if n, err := func() (int, error) {
			r.enqueue(t, secretMail("ada@example.com"))
			return outbox.NewWorker(r.outbox, outbox.LogSender{Log: log}, fast, log, nil).RunOnce(context.Background())
		}(); n != 1 || err != nil {
			t.Fatalf("RunOnce = %d, %v", n, err)
		}
		row := r.only(t)
		if row.Status != outbox.StatusFailed || !strings.Contains(row.LastError, "not delivered") {
			t.Errorf("row %+v, want failed as not delivered", row)
		}
		wantNoSecret(t, row)
		wantLogWithoutSecrets(t, logs.String(), "example.com")
		if strings.Contains(logs.String(), "ada@") {
			t.Errorf("the log names the recipient:\n%s", logs.String())
		}
	})
}

func wantLogWithoutSecrets(t *testing.T, logs, domain string) {
	t.Helper()
	if !strings.Contains(logs, domain) || !strings.Contains(logs, "signin") {
		t.Errorf("the log lacks the kind and the recipient's domain:\n%s", logs)
	}
	for _, secret := range []string{"493817", "SECRET-TOKEN", "sign-in code"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log shows %q:\n%s", secret, logs)
		}
	}
}

func TestWithKeysRefusesKeysPepperCannotMake(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("WithKeys accepted no key at all")
		}
	}()
	outbox.WithKeys(nil)
}

// syncBuffer is a bytes.Buffer safe for a worker's concurrent logging.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tenSeconds bounds a wait for the SMTP server.
const tenSeconds = 10 * time.Second
