package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/testdb"
)

// problem is one configuration problem serve must report on a line of its own.
type problem struct {
	key, env, says string
}

func TestServeRefusesABadConfiguration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		// file, when set, is written to a config file passed with --config.
		file string
		want []problem
	}{
		{
			name: "refuses an origin that is not http(s)",
			env:  map[string]string{"KEYSHIFT_ORIGIN": "ftp://x"},
			want: []problem{{"origin", "KEYSHIFT_ORIGIN", `"ftp://x" is not an http(s) URL`}},
		},
		{
			name: "refuses an RP ID that is not the origin's host or a parent of it",
			env: map[string]string{"KEYSHIFT_ORIGIN": "https://login.example.com", "KEYSHIFT_RP_ID": "evil.com",
				"KEYSHIFT_SMTP_URL": "smtp://mail.example.com:587"},
			want: []problem{{"rp_id", "KEYSHIFT_RP_ID", `"evil.com" is neither the origin's host "login.example.com" nor a parent domain of it`}},
		},
		{
			name: "refuses a public origin whose SMTP variable is misspelt",
			env: map[string]string{"KEYSHIFT_ORIGIN": "https://login.example.com",
				"KEYSHIFT_SMTP_ULR": "smtp://mail.example.com:587"},
			want: []problem{{"smtp_url", "KEYSHIFT_SMTP_URL", "no sign-in link, code or notice could be delivered"}},
		},
		{
			name: "refuses to trust every peer as a proxy",
			env:  map[string]string{"KEYSHIFT_TRUSTED_PROXIES": "0.0.0.0/0"},
			want: []problem{{"trusted_proxies", "KEYSHIFT_TRUSTED_PROXIES", "0.0.0.0/0 trusts every peer"}},
		},
		{
			name: "refuses a pepper too short, without showing it",
			env:  map[string]string{"KEYSHIFT_PEPPER": "c2VjcmV0LXBlcHBlcg=="},
			want: []problem{{"pepper", "KEYSHIFT_PEPPER", "at least 32 bytes"}},
		},
		{
			name: "refuses a session idle timeout that is not a duration",
			env:  map[string]string{"KEYSHIFT_SESSION_IDLE_TIMEOUT": "abc"},
			want: []problem{{"session.idle_timeout", "KEYSHIFT_SESSION_IDLE_TIMEOUT", `"abc" is not a duration`}},
		},
		{
			name: "reports every problem at once",
			env: map[string]string{
				"KEYSHIFT_ORIGIN":               "https://login.example.com",
				"KEYSHIFT_SMTP_URL":             "smtp://mail.example.com:587",
				"KEYSHIFT_RP_ID":                "evil.com",
				"KEYSHIFT_SESSION_IDLE_TIMEOUT": "abc",
				"KEYSHIFT_LISTEN":               "nowhere",
				"KEYSHIFT_HASH_CONCURRENCY":     "0",
				"KEYSHIFT_LOG_LEVEL":            "loud",
			},
			want: []problem{
				{"rp_id", "KEYSHIFT_RP_ID", `"evil.com" is neither`},
				{"session.idle_timeout", "KEYSHIFT_SESSION_IDLE_TIMEOUT", `"abc" is not a duration`},
				{"listen", "KEYSHIFT_LISTEN", `"nowhere" is not host:port`},
				{"password.hash_concurrency", "KEYSHIFT_HASH_CONCURRENCY", "is 0; want 1 to 1024"},
				{"log.level", "KEYSHIFT_LOG_LEVEL", `"loud" is not one of`},
			},
		},
		{
			name: "reports problems from the file and the environment together",
			env:  map[string]string{"KEYSHIFT_ORIGIN": "ftp://x"},
			file: "session:\n  idle_timout: 1h\n",
			want: []problem{
				{"session.idle_timout", "", "unknown key"},
				{"origin", "KEYSHIFT_ORIGIN", `"ftp://x" is not an http(s) URL`},
			},
		},
	}
	for _, tt := range tests {
		for _, cmd := range []string{"serve", "migrate"} {
			t.Run(cmd+" "+tt.name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				dbPath := filepath.Join(dir, "keyshift.db")
				env := map[string]string{"KEYSHIFT_DATABASE": "sqlite:" + dbPath}
				for k, v := range tt.env {
					env[k] = v
				}
				args := []string{cmd}
				if tt.file != "" {
					cfg := filepath.Join(dir, "keyshift.yaml")
					if err := os.WriteFile(cfg, []byte(tt.file), 0o600); err != nil {
						t.Fatal(err)
					}
					args = append(args, "--config", cfg)
				}
				r := runBounded(t, env, args...)
				if r.code != 1 {
					t.Fatalf("exit code = %d, want 1; stderr:\n%s", r.code, r.stderr)
				}
				checkProblemLines(t, cmd, r.stderr, tt.want)
				if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the database was opened despite the bad configuration (stat: %v)", err)
				}
				if strings.Contains(r.stderr, "keyshift is ready") {
					t.Errorf("the server started:\n%s", r.stderr)
				}
			})
		}
	}
}

// runBounded runs keyshift with a deadline, so a command that wrongly
// starts serving fails the test instead of hanging it.
func runBounded(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	return runCmd(t, ctx, env, args...)
}

// checkProblemLines checks that stderr holds exactly one line per problem,
// each naming the key and, for known keys, the environment variable.
func checkProblemLines(t *testing.T, cmd, stderr string, want []problem) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if len(lines) != len(want) {
		t.Errorf("stderr has %d lines, want one per problem (%d):\n%s", len(lines), len(want), stderr)
	}
	if prefix := "keyshift " + cmd + ": config: "; !strings.HasPrefix(stderr, prefix) {
		t.Errorf("stderr does not start with %q:\n%s", prefix, stderr)
	}
	for _, p := range want {
		name := p.key + ":"
		if p.env != "" {
			name = p.key + " (" + p.env + "):"
		}
		found := false
		for _, l := range lines {
			found = found || (strings.Contains(l, "config: "+name) && strings.Contains(l, p.says))
		}
		if !found {
			t.Errorf("no line says %q … %q:\n%s", "config: "+name, p.says, stderr)
		}
	}
}

func TestServeNamesAMissingConfigFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "no-such.yaml")
	for _, cmd := range []string{"serve", "migrate"} {
		t.Run(cmd, func(t *testing.T) {
			t.Parallel()
			r := runBounded(t, nil, cmd, "--config", path)
			if r.code != 1 {
				t.Errorf("exit code = %d, want 1", r.code)
			}
			if want := "keyshift " + cmd + ": config: reading the config file: open " + path + ": no such file or directory\n"; r.stderr != want {
				t.Errorf("stderr = %q, want %q", r.stderr, want)
			}
		})
	}
}

func TestServeReportsAnUnreachableDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		database string
		// secret must not appear anywhere in the output.
		secret string
		skip   string
	}{
		{
			name:     "hides the password of a URL whose user and password are the same",
			database: "postgres://keyshift_test:keyshift_test@127.0.0.1:1/x?sslmode=disable&connect_timeout=2",
			secret:   ":keyshift_test@",
		},
		{
			name:     "hides the password of a URL",
			database: "postgres://keyshift:Sup3r-Secret-Pw@127.0.0.1:1/x?sslmode=disable&connect_timeout=2",
			secret:   "Sup3r-Secret-Pw",
		},
		{
			name:     "hides a password given as a query parameter",
			database: "postgres://keyshift@127.0.0.1:1/x?password=Sup3r-Secret-Pw&sslmode=disable&connect_timeout=2",
			secret:   "Sup3r-Secret-Pw",
		},
	}
	for _, tt := range tests {
		for _, cmd := range []string{"serve", "migrate"} {
			t.Run(cmd+" "+tt.name, func(t *testing.T) {
				t.Parallel()
				if tt.skip != "" {
					t.Skip(tt.skip)
				}
				r := runBounded(t, map[string]string{"KEYSHIFT_DATABASE": tt.database}, cmd)
				if r.code != 1 {
					t.Errorf("exit code = %d, want 1", r.code)
				}
				if !strings.HasPrefix(r.stderr, "keyshift "+cmd+": database postgres://") || !strings.Contains(r.stderr, "is unreachable") {
					t.Errorf("stderr does not say the database is unreachable:\n%s", r.stderr)
				}
				if n := strings.Count(strings.TrimSuffix(r.stderr, "\n"), "\n"); n != 0 {
					t.Errorf("stderr has %d lines, want 1:\n%s", n+1, r.stderr)
				}
				if out := r.stdout + r.stderr; strings.Contains(out, tt.secret) {
					t.Errorf("the output shows the password (%q):\n%s", tt.secret, out)
				}
			})
		}
	}
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// waitReady polls GET /readyz until it answers 200. It gives up after 10
// seconds, or as soon as exited is closed (the server is gone).
func waitReady(t *testing.T, c *http.Client, base string, exited <-chan struct{}, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("keyshift exited before it was ready; its log:\n%s", logs())
		default:
		}
		resp, err := c.Get(base + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%s %s", resp.Status, body)
		} else {
			last = err.Error()
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("GET /readyz did not answer 200 within 10s (last: %s); log:\n%s", last, logs())
}

// answer is one HTTP exchange's outcome.
type answer struct {
	status int
	body   string
	err    error
}

// postJSON posts v as JSON to url and reads the whole answer.
func postJSON(c *http.Client, url string, v any) answer {
	b, err := json.Marshal(v)
	if err != nil {
		return answer{err: err}
	}
	resp, err := c.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: string(body), err: err}
}

// TestServeDrainsInFlightRequestsOnShutdown runs keyshift as main does, signs
// up through the API, and then shuts it down by cancelling run's context (what
// SIGTERM does through signal.NotifyContext) while ten sign-ins are inside the
// server. Every sign-in must get its normal answer, new connections must be
// refused meanwhile, and run must return 0.
//
// The sign-ins are held in flight deterministically: each is sent with
// "Expect: 100-continue" and a body that the test releases only once the server
// is shutting down. The server answers 100 Continue when the handler starts to
// read the body, so ten 100s prove ten requests are being handled; no timing
// is guessed. With one hashing slot the ten then queue for it during the
// shutdown, each hash taking tens of milliseconds.
func TestServeDrainsInFlightRequestsOnShutdown(t *testing.T) {
	t.Parallel()
	const signins = 10
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	base := "http://localhost:" + port // the origin's host, or keyshift answers 421
	env := map[string]string{
		"KEYSHIFT_LISTEN":             addr,
		"KEYSHIFT_ORIGIN":             "http://localhost:" + port,
		"KEYSHIFT_DATABASE":           "sqlite:" + testdb.SQLitePath(t),
		"KEYSHIFT_LOG_FORMAT":         "json",
		"KEYSHIFT_HASH_CONCURRENCY":   "1",
		"KEYSHIFT_HASH_QUEUE_TIMEOUT": "30s", // none of the ten may get 503
	}
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan struct{})
	var code int
	go func() {
		defer close(exited)
		code = run(ctx, []string{"keyshift", "serve"}, envOf(env), &stdout, &stderr)
	}()
	tr := &http.Transport{ExpectContinueTimeout: time.Minute, DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr) // localhost may mean ::1 first; keyshift is on 127.0.0.1
	}}
	c := &http.Client{Transport: tr, Timeout: time.Minute}
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Errorf("run did not return within 30s of its context ending")
		}
		tr.CloseIdleConnections()
	})

	waitReady(t, c, base, exited, stderr.String)
	// Ten members, one sign-in each: ten at once for one account would be
	// mostly refused before any work (its five free attempts are reserved
	// first). Sign-up allows ten accounts from one address.
	creds := make([][]byte, signins)
	for i := range creds {
		m := map[string]string{"email": fmt.Sprintf("ada%d@example.com", i), "password": "violet harbor tangent 91"}
		if a := postJSON(c, base+"/api/signup", m); a.err != nil || a.status != http.StatusCreated {
			t.Fatalf("POST /api/signup = %d %s (err %v), want 201", a.status, a.body, a.err)
		}
		var err error
		if creds[i], err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	handling := make(chan struct{}, signins)
	answers := make(chan answer, signins)
	bodies := make([]*io.PipeWriter, signins)
	for i := range bodies {
		var pr *io.PipeReader
		pr, bodies[i] = io.Pipe()
		defer bodies[i].Close()
		go func() { answers <- heldPost(c, base+"/api/signin/password", pr, len(creds[i]), handling) }()
	}
	for range signins {
		select {
		case <-handling:
		case a := <-answers:
			t.Fatalf("a sign-in ended before the server read its body: %d %s (err %v)", a.status, a.body, a.err)
		case <-time.After(10 * time.Second):
			t.Fatalf("the server did not start handling all %d sign-ins within 10s", signins)
		}
	}

	cancel() // what SIGTERM does
	waitRefused(t, addr, exited)
	if !strings.Contains(stderr.String(), `"msg":"shutting down: finishing in-flight requests"`) {
		t.Errorf("the listener closed but the log does not say the server is shutting down:\n%s", stderr.String())
	}
	for i, w := range bodies {
		go w.Write(creds[i]) // the pipe hands it to the transport, which sends it
	}
	deadline := time.After(30 * time.Second)
	for range signins {
		var a answer
		select {
		case a = <-answers:
		case <-deadline:
			t.Fatalf("the in-flight sign-ins were not all answered within 30s of shutdown; log:\n%s", stderr.String())
		}
		switch {
		case a.err != nil:
			t.Errorf("an in-flight sign-in failed: %v", a.err)
		case a.status != http.StatusOK:
			t.Errorf("an in-flight sign-in got %d %s, want 200", a.status, a.body)
		case !strings.Contains(a.body, `"email":"ada`):
			t.Errorf("an in-flight sign-in got 200 but an unexpected body: %s", a.body)
		}
	}
	select {
	case <-exited:
	case <-time.After(25 * time.Second):
		t.Fatalf("run did not return within 25s of the context ending")
	}
	if code != 0 {
		t.Errorf("run returned %d, want 0; stderr:\n%s", code, stderr.String())
	}
	if stdout.String() != "" {
		t.Errorf("serve wrote to stdout: %q", stdout.String())
	}
	recs := checkJSONLog(t, stderr.String(), addr)
	if n := signinsAfterShutdown(recs); n != signins {
		t.Errorf("%d sign-ins were answered after shutdown began, want %d:\n%s", n, signins, stderr.String())
	}
}

// heldPost posts a JSON body of size bytes read from body, announcing
// "Expect: 100-continue", and signals handling when the server answers 100
// Continue, that is when the handler starts to read the body.
func heldPost(c *http.Client, url string, body io.ReadCloser, size int, handling chan<- struct{}) answer {
	trace := &httptrace.ClientTrace{Got100Continue: func() { handling <- struct{}{} }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "POST", url, body)
	if err != nil {
		return answer{err: err}
	}
	req.ContentLength = int64(size)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Expect", "100-continue")
	resp, err := c.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: string(b), err: err}
}

// waitRefused waits until connections to addr are refused: the server has
// closed its listener.
func waitRefused(t *testing.T, addr string, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		conn.Close()
		select {
		case <-exited:
			t.Fatalf("run returned before the in-flight sign-ins were answered")
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatalf("%s still accepts connections 10s after shutdown began", addr)
}

// signinsAfterShutdown counts the sign-in requests logged after the
// shutting-down line.
func signinsAfterShutdown(recs []map[string]any) int {
	n, shutting := 0, false
	for _, r := range recs {
		switch {
		case r["msg"] == "shutting down: finishing in-flight requests":
			shutting = true
		case shutting && r["msg"] == "request" && r["path"] == "/api/signin/password" && r["status"] == 200.0:
			n++
		}
	}
	return n
}

// checkJSONLog checks that every line of log is a JSON object, and that the
// server said it was ready (on addr), that it was shutting down, once, and,
// last, that it stopped. It returns the records.
func checkJSONLog(t *testing.T, log, addr string) []map[string]any {
	t.Helper()
	var msgs []string
	var recs []map[string]any
	var ready map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line %d is not JSON (%v): %s", i+1, err, line)
			continue
		}
		recs = append(recs, rec)
		msg, _ := rec["msg"].(string)
		msgs = append(msgs, msg)
		if msg == "keyshift is ready" {
			ready = rec
		}
	}
	if ready == nil {
		t.Errorf("no %q line in the log:\n%s", "keyshift is ready", log)
	} else if ready["listen"] != addr || ready["database"] != "sqlite" || ready["level"] != "INFO" {
		t.Errorf("the ready line = %v, want listen %s, database sqlite, level INFO", ready, addr)
	}
	if len(msgs) == 0 || msgs[len(msgs)-1] != "stopped" {
		t.Errorf("the log does not end with %q:\n%s", "stopped", log)
	}
	count := 0
	for _, m := range msgs {
		if m == "shutting down: finishing in-flight requests" {
			count++
		}
	}
	if count != 1 {
		t.Errorf("the log says it is shutting down %d times, want once:\n%s", count, log)
	}
	return recs
}
