package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSystemdUnitIsValidAndHardened checks deploy/keyshift.service the way
// systemd will read it: `systemd-analyze verify` finds no error, and the
// offline security analysis rates its exposure at most 1.5 ("OK"). The
// unit's ExecStart names /usr/local/bin/keyshift, which verify requires to
// exist, so a copy naming an executable that exists here is verified.
// scripts/test installs systemd-analyze when it is missing.
func TestSystemdUnitIsValidAndHardened(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (scripts/test installs it)")
	}
	unit, err := os.ReadFile(filepath.Join("..", "..", "deploy", "keyshift.service"))
	if err != nil {
		t.Fatal(err)
	}
	const bin = "/usr/local/bin/keyshift"
	if !strings.Contains(string(unit), "ExecStart="+bin+" serve\n") {
		t.Fatalf("the unit's ExecStart is not %q", bin+" serve")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "keyshift.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), bin, self)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// --threshold keeps the exit status 0 whatever the level; the level is
	// read from the last line instead, to say what it was.
	out, err := exec.Command(analyze, "security", "--offline=true", "--threshold=100", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for keyshift\.service: ([0-9.]+) (\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	level, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || level > 1.5 || string(m[2]) != "OK" {
		t.Errorf("exposure level %s %s, want at most 1.5 OK:\n%s", m[1], m[2], out)
	}
}
