package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/testdb"
)

// TestBinaryStopsCleanlyOnSIGTERM builds the real binary and sends SIGTERM
// to a running `keyshift serve`, which proves main's signal path: the
// process must drain, log that it stopped, and exit 0.
func TestBinaryStopsCleanlyOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the keyshift binary")
	}
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build keyshift with")
	}
	bin := filepath.Join(t.TempDir(), "keyshift")
	// Stamped the way a release is (scripts/image): /healthz must say it.
	const stamped = "9.8.7-test"
	build := exec.CommandContext(t.Context(), goTool, "build", "-ldflags", "-X main.Version="+stamped, "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	addr := freeAddr(t)
	var stdout, stderr syncBuffer
	cmd := exec.Command(bin, "serve")
	// Only what the test sets: nothing leaks in from the developer's shell.
	cmd.Env = []string{
		"KEYSHIFT_LISTEN=" + addr,
		"KEYSHIFT_DATABASE=sqlite:" + testdb.SQLitePath(t),
	}
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		defer close(exited)
		waitErr = cmd.Wait()
	}()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill() // the process this test started, by its PID
			<-exited
		}
	})

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	waitReady(t, c, "http://"+addr, exited, stderr.String)
	if resp, err := c.Get("http://" + addr + "/healthz"); err != nil {
		t.Error(err)
	} else {
		var health struct{ Status, Version string }
		err := json.NewDecoder(resp.Body).Decode(&health)
		resp.Body.Close()
		if err != nil || health.Status != "ok" || health.Version != stamped {
			t.Errorf("/healthz: %+v (%v), want status ok and version %s", health, err, stamped)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(25 * time.Second):
		t.Fatalf("keyshift did not exit within 25s of SIGTERM; log:\n%s", stderr.String())
	}
	if ee := (*exec.ExitError)(nil); errors.As(waitErr, &ee) {
		t.Fatalf("keyshift exited with %v after SIGTERM, want 0; log:\n%s", ee, stderr.String())
	} else if waitErr != nil {
		t.Fatal(waitErr)
	}
	// stderr is a pipe, not a terminal, so the log format auto means JSON.
	checkJSONLog(t, stderr.String(), addr)
	if stdout.String() != "" {
		t.Errorf("serve wrote to stdout: %q", stdout.String())
	}
}
