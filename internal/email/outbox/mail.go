// Package mail is keyshift's durable mail: an outbox written in the same
// transaction as the change that causes a mail, a worker that delivers it
// with retries through an ordered list of SMTP servers (or the dev mailer),
// and the templates every mail is rendered from.
//
// A mail is marked sent only after a server accepted it, so a crash between
// "accepted" and "marked" may send it twice but never loses it.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/pepper"
)

// Message is one mail to one recipient.
type Message struct {
	To      string
	Subject string
	Text    string // plain-text body, always present
	HTML    string // optional HTML alternative
	// Kind names what the mail is for ("signin_link", "notice_passkey_added", …),
	// for listings and metrics.
	Kind string
}

// Status is where a mail stands in the outbox.
type Status string

// The outbox statuses.
const (
	StatusQueued Status = "queued" // waiting for a send, or being sent
	StatusSent   Status = "sent"   // a server (or the dev mailer) accepted it
	StatusFailed Status = "failed" // permanently refused, or out of attempts: kept for `keyshift admin mail`
)

// Mail is an outbox row: a Message and its delivery state.
type Mail struct {
	ID int64
	Message
	Status    Status
	Attempts  int
	CreatedAt time.Time
	// DueAt is when the next attempt may start; while a worker holds the
	// mail, the end of its lease.
	DueAt time.Time
	// DoneAt is when it was sent or given up; zero while queued.
	DoneAt    time.Time
	LastError string
	// Provider is the server that accepted it ("dev" for the dev mailer).
	Provider string
	// Lease is the token of the claim that handed the mail to a worker.
	Lease string
	// Sealed is the subject and bodies as the outbox stores them (seal.go);
	// the Outbox fills Subject, Text and HTML from it. Empty once a sent
	// mail is wiped, and for mail queued before sealing, which is in clear.
	Sealed []byte
}

// Filter selects outbox rows for listings; zero fields match everything.
type Filter struct {
	Statuses []Status
	// Troubled keeps only mail that failed at least one attempt.
	Troubled bool
	Limit    int // default 100
}

// Store is what the outbox needs from the database. Methods join the
// transaction in ctx, as every keyshift store method does.
type Store interface {
	// CreateOutbox inserts m as queued and sets m.ID.
	CreateOutbox(ctx context.Context, m *Mail) error
	// ClaimOutbox hands at most limit queued mails due at now to one
	// worker: their DueAt becomes leaseUntil, their Lease lease and their
	// Attempts one more. Concurrent claims never return the same row.
	ClaimOutbox(ctx context.Context, now, leaseUntil time.Time, lease string, limit int) ([]Mail, error)
	// MarkOutboxSent records that the mail held under lease was accepted
	// and, when wipe is set, forgets its subject and bodies: a sent mail's
	// links must not outlive their delivery in the database.
	MarkOutboxSent(ctx context.Context, id int64, lease string, at time.Time, provider string, wipe bool) error
	// MarkOutboxRetry gives the mail back to the queue, due at due.
	MarkOutboxRetry(ctx context.Context, id int64, lease string, due time.Time, lastErr string) error
	// MarkOutboxFailed gives up on the mail.
	MarkOutboxFailed(ctx context.Context, id int64, lease string, at time.Time, lastErr string) error
	// FindOutbox lists rows matching f, newest first.
	FindOutbox(ctx context.Context, f Filter) ([]Mail, error)
	// CountOutbox counts the rows in status.
	CountOutbox(ctx context.Context, status Status) (int, error)
}

// ErrInvalid marks a message the outbox refuses; nothing was written.
var ErrInvalid = errors.New("mail: invalid message")

// Outbox queues mail, sealed (seal.go). It is safe for concurrent use.
type Outbox struct {
	store    Store
	now      func() time.Time
	wake     chan struct{}
	sealer   *sealer
	keepSent bool
}

// OutboxOption adjusts NewOutbox.
type OutboxOption func(*Outbox)

// WithKeys seals new mail under keys[0] and opens mail sealed under any of
// keys: the outbox's keys derived from the current and previous peppers
// (pepper.Set.Keys(SealPurpose)). Every node must be given the same keys.
// It panics on keys pepper.Set.Keys cannot have made (none, or not 32
// bytes with a 4-byte hex id): that is a bug, not an input.
func WithKeys(keys []pepper.Key) OutboxOption {
	s, err := newSealer(keys)
	if err != nil {
		panic(err)
	}
	return func(o *Outbox) { o.sealer = s }
}

// KeepSentMail keeps a sent mail's sealed subject and bodies until the
// sent-mail purge instead of wiping them once sent: the dev mailer shows
// them at /dev/mail.
func KeepSentMail() OutboxOption {
	return func(o *Outbox) { o.keepSent = true }
}

// NewOutbox returns an outbox over s; now is the clock (nil: time.Now).
// Without WithKeys it seals under a random key that dies with it, which
// suits only tests and tools whose mail never outlives the process.
func NewOutbox(s Store, now func() time.Time, opts ...OutboxOption) *Outbox {
	if now == nil {
		now = time.Now
	}
	o := &Outbox{store: s, now: now, wake: make(chan struct{}, 1)}
	for _, opt := range opts {
		opt(o)
	}
	if o.sealer == nil {
		o.sealer = ephemeralSealer()
	}
	return o
}

// Enqueue writes msg to the outbox with the transaction in ctx, so the mail
// is sent if and only if that transaction commits, and wakes the worker.
// Subject and bodies are stored sealed, never in clear.
func (o *Outbox) Enqueue(ctx context.Context, msg Message) error {
	if err := check(msg); err != nil {
		return err
	}
	sealed, err := o.sealer.seal(msg)
	if err != nil {
		return fmt.Errorf("sealing mail: %w", err)
	}
	now := o.now()
	m := &Mail{Message: Message{To: msg.To, Kind: msg.Kind}, Sealed: sealed, Status: StatusQueued, CreatedAt: now, DueAt: now}
	if err := o.store.CreateOutbox(ctx, m); err != nil {
		return fmt.Errorf("queueing mail: %w", err)
	}
	o.Wake()
	return nil
}

// Find lists the outbox's mail matching f, newest first, opened: a mail no
// configured key opens comes with Subject and Text saying so.
func (o *Outbox) Find(ctx context.Context, f Filter) ([]Mail, error) {
	ms, err := o.store.FindOutbox(ctx, f)
	if err != nil {
		return nil, err
	}
	for i := range ms {
		if err := o.sealer.open(&ms[i]); err != nil {
			ms[i].Subject, ms[i].Text = "(sealed under another pepper)", "(sealed under another pepper)"
		}
	}
	return ms, nil
}

// Wake tells the worker that mail may be due; it never blocks.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Recent returns the newest mails, opened, for the dev mailer page.
func (o *Outbox) Recent(ctx context.Context, n int) ([]Mail, error) {
	return o.Find(ctx, Filter{Limit: n})
}

func check(msg Message) error {
	switch {
	case strings.ContainsAny(msg.To, "\r\n"), strings.ContainsAny(msg.Subject, "\r\n"):
		return fmt.Errorf("%w: line break in a header", ErrInvalid)
	case msg.Text == "":
		return fmt.Errorf("%w: no text body", ErrInvalid)
	}
	if _, err := mail.ParseAddress(msg.To); err != nil {
		return fmt.Errorf("%w: recipient %q: %v", ErrInvalid, msg.To, err)
	}
	return nil
}
