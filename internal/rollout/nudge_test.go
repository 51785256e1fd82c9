package rollout

import (
	"testing"
	"time"
)

func TestTheNudgeSnoozesAWeekThenAMonth(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var n Nudge
	if !n.Due(now) {
		t.Fatal("a member never asked is not due")
	}
	n = n.Later(now)
	if n.Due(now.Add(FirstSnooze-time.Second)) || !n.Due(now.Add(FirstSnooze)) {
		t.Fatalf("first 'Not now' should wait exactly a week: %+v", n)
	}
	now = now.Add(FirstSnooze)
	n = n.Later(now)
	if n.Due(now.Add(LaterSnooze-time.Second)) || !n.Due(now.Add(LaterSnooze)) {
		t.Fatalf("second 'Not now' should wait a month: %+v", n)
	}
	n = n.Later(now).Later(now)
	if !n.Until.Equal(now.Add(LaterSnooze)) || n.Snoozes != 4 {
		t.Fatalf("later snoozes stay a month: %+v", n)
	}
	n = n.Decline()
	if n.Due(now.Add(10 * 365 * 24 * time.Hour)) {
		t.Fatal("'Don't ask again' came back")
	}
	if n = n.Undecline(); !n.Due(now) || n.Snoozes != 0 {
		t.Fatalf("asking to be asked again: %+v", n)
	}
}
