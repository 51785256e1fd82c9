package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
)

// envOf returns a getenv that reads m instead of the process environment,
// so tests configure keyshift exactly as an operator would, without touching
// the real environment.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// result is what one call of run produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCmd calls run as main does, with getenv reading env, and returns what it
// printed.
func runCmd(t *testing.T, ctx context.Context, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(ctx, append([]string{"keyshift"}, args...), envOf(env), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a running
// server's logger and the test's reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"lists the commands and fails when no command is given", nil, 2},
		{"lists the commands for --help", []string{"--help"}, 0},
		{"lists the commands for -h", []string{"-h"}, 0},
		{"lists the commands for help", []string{"help"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCmd(t, t.Context(), nil, tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d", r.code, tt.wantCode)
			}
			out := r.stdout + r.stderr
			if !strings.Contains(out, "Usage: keyshift <command>") {
				t.Errorf("output has no usage line:\n%s", out)
			}
			for _, cmd := range []string{"serve", "migrate", "version"} {
				if !strings.Contains(out, "\n  "+cmd+" ") {
					t.Errorf("usage does not list %q:\n%s", cmd, out)
				}
			}
			if tt.wantCode == 0 && r.stderr != "" {
				t.Errorf("asking for help wrote to stderr:\n%s", r.stderr)
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	r := runCmd(t, t.Context(), nil, "serv")
	if r.code != 2 {
		t.Errorf("exit code = %d, want 2", r.code)
	}
	first, _, _ := strings.Cut(r.stderr, "\n")
	if first != `keyshift: unknown command "serv"` {
		t.Errorf("first line of stderr = %q, want it to name the unknown command", first)
	}
	if !strings.Contains(r.stderr, "Usage: keyshift <command>") {
		t.Errorf("stderr has no usage after the error:\n%s", r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout = %q, want nothing", r.stdout)
	}
}

func TestCommandHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      []string
		wantLines []string
	}{
		{"serve --help prints serve's flags", []string{"serve", "--help"},
			[]string{"Usage: keyshift serve [--config FILE]", "-config file"}},
		{"serve -h prints serve's flags", []string{"serve", "-h"},
			[]string{"Usage: keyshift serve [--config FILE]", "-config file"}},
		{"migrate --help prints migrate's flags", []string{"migrate", "--help"},
			[]string{"Usage: keyshift migrate [--config FILE] [--status]", "-config file", "-status"}},
		{"--help wins over the other flags", []string{"migrate", "--status", "--help"},
			[]string{"Usage: keyshift migrate", "-status"}},
		{"version --help prints version's usage", []string{"version", "--help"},
			[]string{"Usage: keyshift version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A cancelled context: help must not start anything.
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			r := runCmd(t, ctx, nil, tt.args...)
			if r.code != 0 {
				t.Errorf("exit code = %d, want 0; stderr:\n%s", r.code, r.stderr)
			}
			for _, want := range tt.wantLines {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout does not contain %q:\n%s", want, r.stdout)
				}
			}
			if r.stderr != "" {
				t.Errorf("stderr = %q, want nothing", r.stderr)
			}
		})
	}
}

func TestBadArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"rejects an unknown serve flag", []string{"serve", "--nope"}, "flag provided but not defined: -nope"},
		{"rejects an unknown migrate flag", []string{"migrate", "--force"}, "flag provided but not defined: -force"},
		{"rejects --config without a file", []string{"serve", "--config"}, "flag needs an argument: -config"},
		{"rejects a non-boolean --status", []string{"migrate", "--status=maybe"}, `invalid boolean value "maybe" for -status`},
		{"rejects a stray argument to serve", []string{"serve", "now"}, `keyshift serve: unexpected argument "now"`},
		{"rejects a stray argument to version", []string{"version", "2"}, `keyshift version: unexpected argument "2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			r := runCmd(t, ctx, nil, tt.args...)
			if r.code != 2 {
				t.Errorf("exit code = %d, want 2", r.code)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantStderr, r.stderr)
			}
			if !strings.Contains(r.stderr, "Usage: keyshift "+tt.args[0]) {
				t.Errorf("stderr does not show %s's usage:\n%s", tt.args[0], r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}
