//go:build unix

package bench

import (
	"os"
	"syscall"
	"time"
)

// CPUTime returns the CPU time this process has used so far, user and
// system; the difference over a run divided by its operations is the CPU an
// operation costs, a figure other load on the machine changes far less than
// the rate.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// maxRSSKiB returns a finished child's peak resident memory: ru_maxrss,
// which Linux reports in KiB (macOS in bytes; the figures here are Linux's).
func maxRSSKiB(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Maxrss)
	}
	return 0
}
