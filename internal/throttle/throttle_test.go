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
