package bench

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
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
// children once reaped. The work is measured in CPU time the kernel
// reports otherwise (getrusage, the child's wait status), never in wall
// time: on a loaded machine 300 ms of spinning may get 60 ms of CPU.
func TestProcCPUCountsWorkAndChildren(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	before, err := ProcCPU(os.Getpid(), false)
	if err != nil {
		t.Fatal(err)
	}
	// Spin until getrusage says 300 ms of CPU were spent (or 30 s passed).
	start := CPUTime()
	for end := time.Now().Add(30 * time.Second); CPUTime()-start < 300*time.Millisecond && time.Now().Before(end); {
	}
	spent := CPUTime() - start
	after, _ := ProcCPU(os.Getpid(), false)
	// /proc counts in clock ticks; the test's other goroutines add, not
	// subtract.
	if got := after - before; got < spent-2*clockTick {
		t.Errorf("%s of CPU spent spinning counted %s", spent, got)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	withKids, _ := ProcCPU(os.Getpid(), true)
	cmd := exec.Command(sh, "-c", `i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done`)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	reaped, _ := ProcCPU(os.Getpid(), true)
	childCPU := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if childCPU < 50*time.Millisecond {
		t.Fatalf("the child spent only %s of CPU: too little to tell", childCPU)
	}
	if got := reaped - withKids; got < childCPU-2*clockTick {
		t.Errorf("a child that spent %s of CPU counted %s", childCPU, got)
	}
}

// TestMeasureIsDoneWithProgressWhenItReturns: the progress line is written
// by a goroutine of Measure's; a caller may read what it wrote as soon as
// Measure returns (under -race, a goroutine still printing is a race).
func TestMeasureIsDoneWithProgressWhenItReturns(t *testing.T) {
	t.Parallel()
	var progress bytes.Buffer
	sc := Scenario{Name: "nap", Op: func(ctx context.Context) error {
		time.Sleep(time.Millisecond)
		return nil
	}}
	m, err := Measure(t.Context(), sc, 2, 0, 1100*time.Millisecond, Probe{}, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if m.Ops == 0 || !strings.Contains(progress.String(), "nap × 2:") {
		t.Errorf("%d ops, progress %q", m.Ops, progress.String())
	}
}
