package telemetry

import (
	"testing"
	"time"
)

// TestServerMs: a request's server time is whole milliseconds, at least
// one, and nothing when it cannot be one (negative, or past ten minutes, as
// across a clock that moved).
func TestServerMs(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int
	}{
		{0, 1}, {300 * time.Microsecond, 1}, {1500 * time.Millisecond, 1500}, {10 * time.Minute, 600000},
		{10*time.Minute + time.Millisecond, 0}, {-time.Millisecond, 0}, {30 * 24 * time.Hour, 0},
	} {
		if got := ServerMs(tt.d); got != tt.want {
			t.Errorf("ServerMs(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}
