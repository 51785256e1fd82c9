package bench

import (
	"os"
	"os/exec"
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
// children, first live and then reaped.
func TestProcCPUCountsWorkAndChildren(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	before, err := ProcCPU(os.Getpid(), false)
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
	}
	after, _ := ProcCPU(os.Getpid(), false)
	if after-before < 100*time.Millisecond {
		t.Errorf("300 ms of spinning counted %s", after-before)
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
	reaped, _ := ProcCPU(os.Getpid(), true)
	if reaped-withKids < 300*time.Millisecond {
		t.Errorf("a child's second of spinning counted %s", reaped-withKids)
	}
}
