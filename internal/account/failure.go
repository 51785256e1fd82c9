package account

import (
	"context"
	"time"

	"github.com/keyshift/keyshift/internal/throttle"
)

// Failure is a refused attempt that no account can be tied to (an unknown
// address, link, flow or passkey). Such failures come from anyone, as fast
// as per-IP limits allow, so they are not appended to the audit log one row
// each: they are counted, one row per minute, type, method, outcome, reason
// and IP subject (Store.CountFailure), and that table is pruned. Failures of
// a known account stay events, bounded by that account's own limits.
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

// PolicyRedeemIP limits, per client address, sign-in redemptions that do
// not need a password — email links and codes, passkey assertions — so
// failures from one address (IPv6: one /64, and its /48 beside it) stay
// few. Every redemption reserves one; a success gives it back.
var PolicyRedeemIP = throttle.Policy{Name: "redeem-ip", Free: 30, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour}

// RecordFailure writes a refused attempt: an event when e names an account,
// otherwise a count in the failure table (see Failure), keyed by c's IP
// subject and e's type, method, outcome and Data["reason"]. It joins the
// transaction in ctx.
func (s *Service) RecordFailure(ctx context.Context, e *Event, c Client) error {
	if e.UserID != "" {
		return s.event(ctx, e, c)
	}
	reason, _ := e.Data["reason"].(string)
	return s.Store.CountFailure(ctx, &Failure{
		At: s.Now(), Type: e.Type, Method: e.Method, Outcome: e.Outcome, Reason: reason, IP: throttle.IPSubject(c.IP),
	})
}

// Reserve counts one attempt on checks before the work, as
// throttle.Limiter.Reserve does, and turns a refusal into EThrottled with
// its Retry-After. The counts are those of an allowed attempt.
func (s *Service) Reserve(ctx context.Context, checks ...throttle.Check) ([]int, error) {
	r, err := s.Limiter.Reserve(ctx, checks...)
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
