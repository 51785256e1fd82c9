package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/testdb"
)

// unreachable is a database no server answers, so serve stops right after
// reading its configuration and logging what it warns about.
const unreachable = "postgres://keyshift@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"

// TestServeWarnsAboutUnknownKeyshiftVariables: a misspelt variable is
// ignored by the configuration, so serve says so, naming the setting meant.
// (Not parallel: it sets a variable of the process, as an operator would.)
func TestServeWarnsAboutUnknownKeyshiftVariables(t *testing.T) {
	t.Setenv("KEYSHIFT_SMTP_ULR", "smtp://mail.example.com:587")
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	getenv := func(k string) string {
		if k == "KEYSHIFT_DATABASE" {
			return unreachable
		}
		return os.Getenv(k)
	}
	if code := run(ctx, []string{"keyshift", "serve"}, getenv, &stdout, &stderr); code != 1 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "KEYSHIFT_SMTP_ULR is not a keyshift setting and is ignored; did you mean KEYSHIFT_SMTP_URL?") {
		t.Errorf("serve does not warn about the misspelt variable:\n%s", stderr.String())
	}
}

func TestServeDevFlagIsDevMode(t *testing.T) {
	t.Parallel()
	env := map[string]string{"KEYSHIFT_DATABASE": unreachable, "KEYSHIFT_ORIGIN": "https://login.example.com"}
	if r := runBounded(t, env, "serve"); !strings.Contains(r.stderr, "smtp_url (KEYSHIFT_SMTP_URL): is not set") {
		t.Fatalf("without --dev a public origin without SMTP must be refused; stderr:\n%s", r.stderr)
	}
	r := runBounded(t, env, "serve", "--dev")
	if r.code != 1 || strings.Contains(r.stderr, "config:") || !strings.Contains(r.stderr, "is unreachable") {
		t.Errorf("serve --dev: code %d; want the configuration accepted (dev mailer) and the database's error; stderr:\n%s", r.code, r.stderr)
	}
}

// TestServeOnPostgreSQLNeedsAPepper: several nodes share PostgreSQL, so no
// node may make a pepper of its own: serve refuses to start and says how to
// make one, unless dev mode keeps one in the database.
func TestServeOnPostgreSQLNeedsAPepper(t *testing.T) {
	t.Parallel()
	database := testdb.PostgresURL(t)
	r := runBounded(t, map[string]string{"KEYSHIFT_DATABASE": database}, "serve")
	if r.code != 1 || !strings.Contains(r.stderr, "no pepper is set") || !strings.Contains(r.stderr, "openssl rand -base64 32") {
		t.Fatalf("serve on PostgreSQL without a pepper: code %d, stderr:\n%s", r.code, r.stderr)
	}

	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	env := map[string]string{"KEYSHIFT_DATABASE": database, "KEYSHIFT_LISTEN": addr, "KEYSHIFT_ORIGIN": "http://localhost:" + port}
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		run(ctx, []string{"keyshift", "serve", "--dev"}, envOf(env), &stdout, &stderr)
	}()
	defer func() { cancel(); <-exited }()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	waitReady(t, c, "http://localhost:"+port, exited, stderr.String)
	if !strings.Contains(stderr.String(), "the pepper is kept in the database") {
		t.Errorf("dev mode on PostgreSQL does not warn where the pepper is:\n%s", stderr.String())
	}
}
