package importer

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress reports how far a run is: on a terminal one line redrawn in
// place at most five times a second, elsewhere (a log, a pipe) a plain line
// every few seconds. The ETA comes from the bytes left in the file at the
// rate bytes went so far.
type progress struct {
	w        io.Writer
	terminal bool
	size     int64
	start    time.Time
	offset0  int64 // where this run started in the file
	rows0    int64 // rows counted before this run (a resumed one)
	last     time.Time
	now      func() time.Time
}

const (
	redrawEvery = 200 * time.Millisecond
	lineEvery   = 5 * time.Second
	barWidth    = 24
)

func newProgress(w io.Writer, terminal bool, size, offset, rows int64, start time.Time) *progress {
	return &progress{w: w, terminal: terminal, size: size, start: start, offset0: offset, rows0: rows, last: start, now: time.Now}
}

// update reports offset bytes and rows read in all; final forces a report
// (and ends the terminal's line).
func (p *progress) update(offset, rows int64, final bool) {
	if p == nil || p.w == nil {
		return
	}
	now := p.now()
	every := lineEvery
	if p.terminal {
		every = redrawEvery
	}
	if !final && now.Sub(p.last) < every {
		return
	}
	p.last = now
	line := p.line(offset, rows, now.Sub(p.start))
	if p.terminal {
		end := ""
		if final {
			end = "\n"
		}
		fmt.Fprintf(p.w, "\r\033[K%s%s", line, end)
		return
	}
	fmt.Fprintln(p.w, "import: "+line)
}

func (p *progress) line(offset, rows int64, elapsed time.Duration) string {
	frac := 1.0
	if p.size > 0 {
		frac = float64(offset) / float64(p.size)
	}
	secs := elapsed.Seconds()
	rate, eta := 0.0, "?"
	if secs > 0 {
		rate = float64(rows-p.rows0) / secs
		if bytesPerSec := float64(offset-p.offset0) / secs; bytesPerSec > 0 {
			eta = time.Duration(float64(p.size-offset) / bytesPerSec * float64(time.Second)).Round(time.Second).String()
		}
	}
	var b strings.Builder
	if p.terminal {
		n := int(frac * barWidth)
		b.WriteString("[" + strings.Repeat("=", n) + strings.Repeat(" ", barWidth-n) + "] ")
	}
	fmt.Fprintf(&b, "%5.1f%%  %s rows  %s rows/s  ETA %s", 100*frac, group(rows), group(int64(rate)), eta)
	return b.String()
}

// group writes n with thousands separators: 1,000,000.
func group(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
