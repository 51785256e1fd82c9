//go:build unix

package bench

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	raw := []byte("4242 (post gres: a (b)) S 1 4242 4242 0 -1 4194304 12 0 0 0 250 75 30 5 20 0 1 0 100 1000 10\n")
	st, err := parseStat(raw)
	if err != nil {
		t.Fatal(err)
	}
	if st.ppid != 1 || st.utime != 2500*time.Millisecond || st.stime != 750*time.Millisecond || st.cutime != 300*time.Millisecond || st.cstime != 50*time.Millisecond {
		t.Errorf("parsed %+v", st)
	}
	for _, bad := range []string{"", "1 (x S 1", "1 (x) S 1 2 3"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestProcCPUCountsWorkAndChildren: busy work shows in this process's CPU
// time, and a child that burns CPU shows in the parent's count with
// children once reaped. Each is compared with what the kernel reports by
// getrusage for the same span, not with wall time: on a loaded machine a
// second of spinning may get a fraction of a second of CPU.
func TestProcCPUCountsWorkAndChildren(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	// /proc counts in clock ticks (10 ms); allow two of them either way.
	const slack = 20 * time.Millisecond
	before, err := ProcCPU(os.Getpid(), false)
	if err != nil {
		t.Fatal(err)
	}
	ruBefore := selfCPU(t)
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
	}
	after, _ := ProcCPU(os.Getpid(), false)
	ruAfter := selfCPU(t)
	if got, want := after-before, ruAfter-ruBefore; got < want-slack-want/10 || want <= 0 {
		t.Errorf("spinning counted %s in /proc, getrusage %s", got, want)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	withKids, _ := ProcCPU(os.Getpid(), true)
	cmd := exec.Command(sh, "-c", `end=$(($(date +%s)+1)); while [ $(date +%s) -le $end ]; do :; done`)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	child := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	reaped, _ := ProcCPU(os.Getpid(), true)
	if got := reaped - withKids; got < child-slack || child <= 0 {
		t.Errorf("a child that used %s of CPU counted %s", child, got)
	}
}

// selfCPU is this process's user + system time by getrusage.
func selfCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
