package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/keyshift/keyshift/internal/throttle"
)

// Failure is a refused attempt that no account can be tied to (an unknown
// address, link, flow or passkey). Such failures come from anyone, as fast
// as per-IP limits allow, so they are not appended to the audit log one row
// each: they are counted, one row per minute, type, method, outcome, reason
// and IP subject (AuditStore.CountFailure), and that table is pruned.
// Failures of a known account stay events, bounded by that account's own
// limits.
type Failure struct {
	At      time.Time
	Type    string // an event type, e.g. EventSignin
	Method  string
	Outcome string // OutcomeFailure, or a refinement a caller documents
	Reason  string // e.g. "unknown_token"; "" when there is none
	// IP is the client's throttle subject (throttle.IPSubject): an IPv6
	// client's /64, so rotating inside it adds no rows.
	IP string
}

// AuditStore keeps the audit log and the counts of failures. Both methods
// join the transaction in ctx.
type AuditStore interface {
	// AppendEvent adds one row to the audit log.
	AppendEvent(ctx context.Context, e *Event) error
	// CountFailure adds one to the count of f's minute, type, method,
	// outcome, reason and IP (see Failure), in one statement.
	CountFailure(ctx context.Context, f *Failure) error
}

// Audit writes what happened: events stamped with the time and the client
// (Event.Stamp), and failures no account is tied to as counts. Every
// package that writes events writes them through an Audit, so none stamps
// them differently.
type Audit struct {
	Store AuditStore
	Now   func() time.Time
	// Observer, when set, also sees every event and refused attempt, in
	// the same transaction: the rollout's telemetry.
	Observer Observer
}

// Observer sees what Audit writes, as it is written, and keeps what it
// needs of it in the transaction of ctx (package telemetry): an event and
// its telemetry commit or roll back together.
type Observer interface {
	// Observe takes note of e, stamped already, from c.
	Observe(ctx context.Context, e *Event, c Client) error
}

// Record appends e, stamped at now with c, in the transaction of ctx.
func (a Audit) Record(ctx context.Context, e *Event, c Client) error {
	if err := a.Store.AppendEvent(ctx, e.Stamp(a.Now(), c)); err != nil {
		return err
	}
	return a.observe(ctx, e, c)
}

// Telemetry shows e to the Observer alone, stamped at now: for what the
// rollout's figures count but the audit log has no use for (the sign-in
// page offering passkey autofill). Without an
// Observer it does nothing.
func (a Audit) Telemetry(ctx context.Context, e *Event, c Client) error {
	e.Stamp(a.Now(), c)
	return a.observe(ctx, e, c)
}

func (a Audit) observe(ctx context.Context, e *Event, c Client) error {
	if a.Observer == nil {
		return nil
	}
	return a.Observer.Observe(ctx, e, c)
}

// RecordFailure writes a refused attempt: an event when e names an account,
// otherwise a count in the failure table (see Failure), keyed by c's IP
// subject and e's type, method, outcome and Data["reason"]. It joins the
// transaction in ctx.
func (a Audit) RecordFailure(ctx context.Context, e *Event, c Client) error {
	if e.UserID != "" {
		return a.Record(ctx, e, c)
	}
	reason, _ := e.Data["reason"].(string)
	err := a.Store.CountFailure(ctx, &Failure{
		At: a.Now(), Type: e.Type, Method: e.Method, Outcome: e.Outcome, Reason: reason, IP: throttle.IPSubject(c.IP),
	})
	if err != nil {
		return err
	}
	return a.Telemetry(ctx, e, c)
}

// PolicyRedeemIP limits, per client address, sign-in redemptions that do
// not need a password — email links and codes, passkey assertions — so
// failures from one address (IPv6: one /64, and its /48 beside it) stay
// few. Every redemption reserves one; a success gives it back.
var PolicyRedeemIP = throttle.Policy{Name: "redeem-ip", Free: 30, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour}

// Reserve counts one attempt on checks with l before the work, as
// throttle.Limiter.Reserve does, and turns a refusal into EThrottled with
// its Retry-After. The counts are those of an allowed attempt.
func Reserve(ctx context.Context, l *throttle.Limiter, checks ...throttle.Check) ([]int, error) {
	r, err := l.Reserve(ctx, checks...)
	if err != nil {
		return nil, err
	}
	if !r.Allowed {
		return nil, Throttled(r.Wait)
	}
	return r.Counts, nil
}

// Throttled is the EThrottled error of a wait of d.
func Throttled(d time.Duration) *Error {
	return &Error{Code: EThrottled, RetryAfter: throttle.RetryAfterSeconds(d), Detail: "throttled for " + d.Round(time.Second).String()}
}

// AttemptKeys are the throttle keys of one attempt at a member's secret:
// the client's IP keys, which a success refunds, and the member's own key
// (the account's, or their trusted device's), which a success forgives.
type AttemptKeys struct {
	IP  []throttle.Check
	Own throttle.Check
}

// All returns every key of the attempt.
func (k AttemptKeys) All() []throttle.Check { return append(k.IP[:len(k.IP):len(k.IP)], k.Own) }

// Succeeded forgives the member's key and gives the IP keys back their
// attempt, with l; it joins the transaction in ctx.
func (k AttemptKeys) Succeeded(ctx context.Context, l *throttle.Limiter) error {
	if err := l.Reset(ctx, k.Own); err != nil {
		return err
	}
	return l.Refund(ctx, k.IP...)
}

// OwnCheck is the member's own key of an attempt for the address emailKey:
// under device, when c is a trusted device of u (the address's account,
// at its current device epoch: Device.Trusted); under account otherwise —
// known address or not, so that throttling tells nothing about who exists.
func OwnCheck(account, device throttle.Policy, emailKey string, u *User, c Client) throttle.Check {
	if c.Device.Trusted(u) {
		return throttle.Check{Policy: device, Subject: c.Device.ID + ":" + HashSubject(emailKey)}
	}
	return throttle.Check{Policy: account, Subject: HashSubject(emailKey)}
}

// HashSubject keeps addresses out of the throttle table and the audit log:
// the table also holds keys for addresses that have no account.
func HashSubject(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}
