package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// ChildResult is one measured run of a child process.
type ChildResult struct {
	Wall time.Duration
	// MaxRSSKiB is the child's peak resident memory (getrusage ru_maxrss,
	// KiB on Linux); 0 where the OS does not report it.
	MaxRSSKiB int64
	Stdout    string
	Stderr    string
}

// MaxRSSMiB returns the peak resident memory in MiB.
func (r ChildResult) MaxRSSMiB() float64 { return float64(r.MaxRSSKiB) / 1024 }

// RunChild runs bin with args and env (added to the environment, minus
// every KEYSHIFT_ variable of this process, so only what the caller sets
// reaches the child), waits for it and measures its wall time and peak
// memory. A non-zero exit is an error that carries the child's stderr.
func RunChild(ctx context.Context, bin string, args []string, env map[string]string) (ChildResult, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KEYSHIFT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := ChildResult{Wall: time.Since(start), Stdout: stdout.String(), Stderr: stderr.String()}
	if cmd.ProcessState != nil {
		r.MaxRSSKiB = maxRSSKiB(cmd.ProcessState)
	}
	if err != nil {
		return r, fmt.Errorf("%s %s: %w\n%s", bin, strings.Join(args, " "), err, strings.TrimSpace(r.Stderr))
	}
	return r, nil
}

// LoadAverage returns the 1, 5 and 15 minute load averages ("" where
// /proc/loadavg is missing): the machine's other work, for the record.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
