package throttle

import (
	"testing"
	"time"
)

func TestPolicyWait(t *testing.T) {
	t.Parallel()
	p := Policy{Name: "x", Free: 3, Base: time.Second, Max: 10 * time.Second, Forget: time.Hour}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		failures int
		since    time.Duration // now - last failure
		want     time.Duration
	}{
		{"lets attempts through before free failures", 2, 0, 0},
		{"waits the base once the free failures are used", 3, 0, time.Second},
		{"doubles the wait with each further failure", 5, 0, 4 * time.Second},
		{"counts the wait from the last failure", 5, 3 * time.Second, time.Second},
		{"opens again once the wait has passed", 5, 5 * time.Second, 0},
		{"caps the wait at max", 20, 0, 10 * time.Second},
		{"never overflows with absurd counts", 1 << 30, 0, 10 * time.Second},
		{"forgets old failures", 20, time.Hour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.Wait(State{Failures: tt.failures, LastFailureAt: t0}, t0.Add(tt.since))
			if got != tt.want {
				t.Errorf("Wait = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		d    time.Duration
		want int
	}{{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {1500 * time.Millisecond, 2}, {time.Minute, 60}} {
		if got := RetryAfterSeconds(tt.d); got != tt.want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

// TestRuleAllowsExactlyWhenWaitIsZero pins the one definition the store's
// statement must follow (Rule.Allows) to the policy's Wait, over policies,
// counts and times around every step of the back-off.
func TestRuleAllowsExactlyWhenWaitIsZero(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	policies := []Policy{
		{Name: "pw", Free: 5, Base: 2 * time.Second, Max: 15 * time.Minute, Forget: 24 * time.Hour},
		{Name: "quiet", Free: 1, Base: time.Minute, Max: time.Minute, Forget: time.Minute},
		{Name: "budget", Free: 50, Base: 24 * time.Hour, Max: 24 * time.Hour, Forget: 24 * time.Hour},
		{Name: "none", Free: 0, Base: time.Second, Max: 10 * time.Second, Forget: time.Hour},
		{Name: "tiny", Free: 2, Base: time.Nanosecond, Max: time.Hour, Forget: 2 * time.Hour},
	}
	for _, p := range policies {
		var sinces []time.Duration
		for n := 0; n <= 45; n++ {
			d := p.backoff(n)
			sinces = append(sinces, d-time.Millisecond, d, d+time.Millisecond)
		}
		sinces = append(sinces, p.Forget-time.Millisecond, p.Forget, p.Forget+time.Millisecond, 0)
		for f := 0; f <= p.Free+45; f++ {
			for _, since := range sinces {
				now := t0.Add(since)
				s := State{Key: "k", Failures: f, LastFailureAt: t0}
				allowed, forgotten := p.Rule("k", now).Allows(s)
				if want := p.Wait(s, now) == 0; allowed != want {
					t.Fatalf("%s: %d attempts, last %v ago: Allows %v, but Wait is %v", p.Name, f, since, allowed, p.Wait(s, now))
				}
				if want := since >= p.Forget; forgotten != want {
					t.Fatalf("%s: %d attempts, last %v ago: forgotten %v, want %v", p.Name, f, since, forgotten, want)
				}
			}
		}
	}
}

func TestRuleStepsEndAtMax(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := Policy{Name: "pw", Free: 5, Base: 2 * time.Second, Max: 15 * time.Minute, Forget: 24 * time.Hour}
	r := p.Rule("pw:x", now)
	// 2 s, 4 s, … 512 s are below 15 min; 1,024 s is capped.
	if len(r.Steps) != 9 || !r.Steps[0].Equal(now.Add(-2*time.Second)) || !r.Steps[8].Equal(now.Add(-512*time.Second)) {
		t.Errorf("steps %v", r.Steps)
	}
	if !r.Rest.Equal(now.Add(-15*time.Minute)) || !r.ForgetBefore.Equal(now.Add(-24*time.Hour)) || r.Free != 5 || r.Key != "pw:x" {
		t.Errorf("rule %+v", r)
	}
}
