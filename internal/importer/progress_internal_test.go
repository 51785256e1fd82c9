package importer

import (
	"strings"
	"testing"
	"time"
)

func TestProgressRedrawsAtMostFiveTimesASecond(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name     string
		terminal bool
		want     int // reports over 10 s of updates every 10 ms, plus the final one
	}{
		{"on a terminal, a bar redrawn every 200 ms", true, 10*5 + 1},
		{"elsewhere, a line every 5 s", false, 2 + 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			now := start
			p := newProgress(&out, tt.terminal, 1_000_000, 0, 0, start)
			p.now = func() time.Time { return now }
			for i := 1; i <= 1000; i++ {
				now = now.Add(10 * time.Millisecond)
				p.update(int64(i*1000), int64(i*10), false)
			}
			p.update(1_000_000, 10_000, true)
			got := strings.Count(out.String(), "rows/s")
			if got != tt.want {
				t.Errorf("%d reports, want %d:\n%s", got, tt.want, out.String())
			}
			if tt.terminal && (!strings.Contains(out.String(), "\r\033[K[") || !strings.HasSuffix(out.String(), "\n")) {
				t.Errorf("the bar is not redrawn in place, or the last one does not end its line: %q", out.String()[:80])
			}
		})
	}
}

func TestProgressLine(t *testing.T) {
	p := newProgress(nil, true, 1000, 200, 5000, time.Time{})
	// 200 → 600 of 1,000 bytes and 5,000 → 25,000 rows in 10 s: 40 bytes/s
	// leave 10 s; 2,000 rows/s.
	got := p.line(600, 25_000, 10*time.Second)
	want := "[==============          ]  60.0%  25,000 rows  2,000 rows/s  ETA 10s"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
