// Package throttle slows down guessing: every guessable thing (a password per
// account, attempts per IP, sign-ups per IP) has a key whose failures are
// counted in the shared database, so several keyshift nodes enforce one limit.
//
// A key allows Free failures without any wait; after the Free-th, the next
// attempt waits Base, and each further failure doubles the wait (Base,
// 2·Base, 4·Base, …) up to Max. The wait is never permanent: after Max
// the key opens again for one try, and Forget after the last failure the
// count starts over. So an attacker can slow a member's password down but
// never lock the member out for good, and the member's other doors (a
// trusted device, passkeys, email) stay open.
package throttle

import (
	"context"
	"math"
	"time"
)

// Policy is the back-off rule of one kind of key.
type Policy struct {
	Name   string        // prefix of the key, e.g. "pw-account"
	Free   int           // failures allowed before any wait
	Base   time.Duration // wait after the first failure past Free
	Max    time.Duration // longest wait
	Forget time.Duration // a key with no failure for this long starts over
}

// State is what the store keeps of one key.
type State struct {
	Key           string
	Failures      int
	LastFailureAt time.Time
}

// Store keeps throttle state. Implementations must make Fail atomic (an
// upsert), since concurrent failures on one key must all count.
type Store interface {
	// FindThrottles returns the states of the keys that exist.
	FindThrottles(ctx context.Context, keys []string) ([]State, error)
	// FailThrottle adds one failure to key at now, first resetting the count
	// when the last failure is before forgetBefore, and returns the new state.
	FailThrottle(ctx context.Context, key string, now, forgetBefore time.Time) (State, error)
	// DeleteThrottle forgets key (after a success).
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

// Limiter checks and records attempts against a Store.
type Limiter struct {
	Store Store
	Now   func() time.Time
}

// Wait returns the longest wait among checks (zero when all may go ahead),
// with one store round trip.
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

// Fail records one failure on each check.
func (l *Limiter) Fail(ctx context.Context, checks ...Check) error {
	now := l.Now()
	for _, c := range checks {
		if _, err := l.Store.FailThrottle(ctx, c.Key(), now, now.Add(-c.Policy.Forget)); err != nil {
			return err
		}
	}
	return nil
}

// Reset forgets the failures of each check.
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
