// Package throttle slows down guessing: every guessable thing (a password per
// account, attempts per IP, sign-ups per IP) has a key whose attempts are
// counted in the shared database, so several keyshift nodes enforce one limit.
//
// A key allows Free attempts without any wait; after the Free-th, the next
// attempt waits Base, and each further attempt doubles the wait (Base,
// 2·Base, 4·Base, …) up to Max. The wait is never permanent: after Max
// the key opens again for one try, and Forget after the last attempt the
// count starts over. So an attacker can slow a member's password down but
// never lock the member out for good, and the member's other doors (a
// trusted device, passkeys, email) stay open.
//
// An attempt is reserved before its work (Limiter.Reserve): the store adds
// one to every key of the attempt in one atomic step that also decides
// whether the keys allow it, so concurrent requests, on one node or many,
// cannot all slip past a check made before any of them was counted
// (CVE-2023-47111's class). A refused attempt writes nothing, so hammering a
// key never lengthens its wait. After the work, a success gives back what
// it took (Refund) or forgives the key (Reset); a failure keeps its count.
// No SQL here: the store turns a Rule into its one statement.
package throttle

import (
	"context"
	"math"
	"time"
)

// Policy is the back-off rule of one kind of key.
type Policy struct {
	Name   string        // prefix of the key, e.g. "pw-account"
	Free   int           // attempts allowed before any wait
	Base   time.Duration // wait after the first attempt past Free
	Max    time.Duration // longest wait
	Forget time.Duration // a key with no attempt for this long starts over
}

// State is what the store keeps of one key.
type State struct {
	Key      string
	Failures int // attempts counted (reserved and not refunded)
	// LastFailureAt is when the last attempt was reserved.
	LastFailureAt time.Time
}

// Rule is a Policy applied at one instant to one key: the back-off turned
// into the latest times at which the last attempt may lie for the next to
// be allowed, so that a store can decide in one statement, without
// arithmetic on durations. Allows is its definition; a store must decide
// exactly as Allows does.
type Rule struct {
	Key  string
	Free int
	// ForgetBefore: a key whose last attempt is at or before it is
	// forgotten — the attempt is allowed and the count starts over at one.
	ForgetBefore time.Time
	// Steps[i] is the latest last attempt that lets a key holding exactly
	// Free+i attempts take another.
	Steps []time.Time
	// Rest is the latest last attempt that lets a key holding
	// Free+len(Steps) attempts or more take another.
	Rest time.Time
}

// Allows reports whether a key in state s allows one more attempt, and
// whether that attempt starts the count over.
func (r Rule) Allows(s State) (allowed, forgotten bool) {
	switch {
	case !s.LastFailureAt.After(r.ForgetBefore):
		return true, true
	case s.Failures < r.Free:
		return true, false
	case s.Failures-r.Free < len(r.Steps):
		return !s.LastFailureAt.After(r.Steps[s.Failures-r.Free]), false
	}
	return !s.LastFailureAt.After(r.Rest), false
}

// Rule returns p applied to key at now.
func (p Policy) Rule(key string, now time.Time) Rule {
	r := Rule{Key: key, Free: p.Free, ForgetBefore: now.Add(-p.Forget), Rest: now.Add(-p.Max)}
	for n := 1; n <= 40; n++ {
		d := p.backoff(n)
		if d >= p.Max {
			break
		}
		r.Steps = append(r.Steps, now.Add(-d))
	}
	return r
}

// Store keeps throttle state.
type Store interface {
	// FindThrottles returns the states of the keys that exist.
	FindThrottles(ctx context.Context, keys []string) ([]State, error)
	// ReserveThrottles counts one attempt at now on the key of every rule,
	// all or none: in one transaction of its own, or in a savepoint of the
	// transaction ctx carries, each key is updated by one atomic statement
	// that also decides, as Rule.Allows does on the key's current state,
	// whether the attempt is allowed. It returns the new count of each key
	// in rules' order, or ok false when any key refused, having written
	// nothing. Rules name distinct keys.
	ReserveThrottles(ctx context.Context, now time.Time, rules []Rule) (counts []int, ok bool, err error)
	// RefundThrottle takes one attempt back from key (never below zero);
	// a key that does not exist is left alone.
	RefundThrottle(ctx context.Context, key string) error
	// DeleteThrottle forgets key.
	DeleteThrottle(ctx context.Context, key string) error
}

// Key returns the key of subject under p.
func (p Policy) Key(subject string) string { return p.Name + ":" + subject }

// Wait returns how long a key in state s must wait from now before the next
// attempt is allowed; zero when it may go ahead.
func (p Policy) Wait(s State, now time.Time) time.Duration {
	if s.Failures < p.Free || now.Sub(s.LastFailureAt) >= p.Forget {
		return 0
	}
	until := s.LastFailureAt.Add(p.backoff(s.Failures - p.Free + 1))
	if d := until.Sub(now); d > 0 {
		return d
	}
	return 0
}

// backoff is Base·2^(n-1), capped at Max, without overflowing.
func (p Policy) backoff(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	if n > 40 {
		return p.Max
	}
	d := float64(p.Base) * math.Pow(2, float64(n-1))
	if d >= float64(p.Max) {
		return p.Max
	}
	return time.Duration(d)
}

// Check is a key under a policy, to be looked up together with others.
type Check struct {
	Policy  Policy
	Subject string
}

// Key returns the storage key of c.
func (c Check) Key() string { return c.Policy.Key(c.Subject) }

// Limiter reserves, refunds and inspects attempts against a Store.
type Limiter struct {
	Store Store
	Now   func() time.Time
}

// Reservation is what Reserve decided.
type Reservation struct {
	// Allowed says the attempt was counted on every check.
	Allowed bool
	// Counts are, when Allowed, the attempts counted on each check
	// (this one included), in the order of the checks.
	Counts []int
	// Wait is, when refused, how long until the checks would allow an
	// attempt: at least one second, for Retry-After.
	Wait time.Duration
}

// Reserve counts one attempt on every check before its work, all or none,
// and reports whether the checks allowed it. The decision is the store's
// answer to its atomic update, never a read made before it, so N concurrent
// attempts on a key with Free attempts left let exactly Free through. A
// refused attempt writes nothing. Inside a transaction (ctx from InTx) the
// reservation commits or rolls back with it.
func (l *Limiter) Reserve(ctx context.Context, checks ...Check) (Reservation, error) {
	now := l.Now()
	rules := make([]Rule, len(checks))
	for i, c := range checks {
		rules[i] = c.Policy.Rule(c.Key(), now)
	}
	counts, ok, err := l.Store.ReserveThrottles(ctx, now, rules)
	if err != nil {
		return Reservation{}, err
	}
	if ok {
		return Reservation{Allowed: true, Counts: counts}, nil
	}
	// Only the Retry-After hint is read: the decision is made.
	d, err := l.Wait(ctx, checks...)
	if err != nil {
		return Reservation{}, err
	}
	return Reservation{Wait: max(d, time.Second)}, nil
}

// Refund gives back the attempt Reserve counted on each check, after the
// work succeeded: an address that is not throttled as a whole (an IP, a
// budget of guesses) keeps what it spent on failures only.
func (l *Limiter) Refund(ctx context.Context, checks ...Check) error {
	for _, c := range checks {
		if err := l.Store.RefundThrottle(ctx, c.Key()); err != nil {
			return err
		}
	}
	return nil
}

// Wait returns the longest wait among checks (zero when all may go ahead),
// with one store round trip. It only reads: for hints, never to decide.
func (l *Limiter) Wait(ctx context.Context, checks ...Check) (time.Duration, error) {
	keys := make([]string, len(checks))
	for i, c := range checks {
		keys[i] = c.Key()
	}
	states, err := l.Store.FindThrottles(ctx, keys)
	if err != nil {
		return 0, err
	}
	now := l.Now()
	var longest time.Duration
	for _, s := range states {
		for _, c := range checks {
			if c.Key() == s.Key {
				longest = max(longest, c.Policy.Wait(s, now))
			}
		}
	}
	return longest, nil
}

// Reset forgets the attempts of each check (a member's key after their
// success).
func (l *Limiter) Reset(ctx context.Context, checks ...Check) error {
	for _, c := range checks {
		if err := l.Store.DeleteThrottle(ctx, c.Key()); err != nil {
			return err
		}
	}
	return nil
}

// RetryAfterSeconds rounds d up to whole seconds, at least 1, for the
// Retry-After header.
func RetryAfterSeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	return max(s, 1)
}
