package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// clockTick is the unit of /proc/PID/stat's CPU times (USER_HZ): 100 on
// every Linux ABI Go supports.
const clockTick = 10 * time.Millisecond

// ProcCPU returns the CPU time (user + system) process pid has used so far,
// read from /proc/PID/stat. With children it also counts the process's
// live children and the children it has reaped: PostgreSQL's postmaster
// and its backends, where the work happens. Its resolution is the clock
// tick (10 ms): measure over seconds, not requests.
func ProcCPU(pid int, children bool) (time.Duration, error) {
	st, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	total := st.utime + st.stime
	if !children {
		return total, nil
	}
	total += st.cutime + st.cstime
	kids, err := childrenOf(pid)
	if err != nil {
		return 0, err
	}
	for _, k := range kids {
		if ks, err := readStat(k); err == nil { // a child may end meanwhile
			total += ks.utime + ks.stime + ks.cutime + ks.cstime
		}
	}
	return total, nil
}

type procStat struct {
	ppid                         int
	utime, stime, cutime, cstime time.Duration
}

// readStat parses /proc/PID/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from its last ')'.
func readStat(pid int) (procStat, error) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(raw)
}

func parseStat(raw []byte) (procStat, error) {
	end := bytes.LastIndexByte(raw, ')')
	if end < 0 {
		return procStat{}, fmt.Errorf("bench: /proc stat without a command name")
	}
	f := bytes.Fields(raw[end+1:])
	// After the name: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("bench: /proc stat has %d fields after the name", len(f))
	}
	num := func(i int) (int64, error) { return strconv.ParseInt(string(f[i-3]), 10, 64) }
	var st procStat
	vals := make([]int64, 5)
	for j, i := range []int{4, 14, 15, 16, 17} {
		v, err := num(i)
		if err != nil {
			return procStat{}, fmt.Errorf("bench: /proc stat field %d: %w", i, err)
		}
		vals[j] = v
	}
	st.ppid = int(vals[0])
	st.utime, st.stime = time.Duration(vals[1])*clockTick, time.Duration(vals[2])*clockTick
	st.cutime, st.cstime = time.Duration(vals[3])*clockTick, time.Duration(vals[4])*clockTick
	return st, nil
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(p); err == nil && st.ppid == pid {
			out = append(out, p)
		}
	}
	return out, nil
}
