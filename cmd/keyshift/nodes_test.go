package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/bench"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// node is one `keyshift serve` process of a cluster.
type node struct {
	addr string
	cmd  *exec.Cmd
	log  *syncBuffer
	dead atomic.Bool
}

// cluster is keyshift nodes behind one origin, reached the way a load
// balancer without affinity would: every request on a new connection to the
// next live node.
type cluster struct {
	origin string
	nodes  []*node
	next   atomic.Uint64
}

// dial connects to the next live node; a node that refuses the connection
// is marked dead and skipped, as a balancer's health check would.
func (c *cluster) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	for range 2 * len(c.nodes) {
		n := c.nodes[c.next.Add(1)%uint64(len(c.nodes))]
		if n.dead.Load() {
			continue
		}
		conn, err := (&net.Dialer{}).DialContext(ctx, network, n.addr)
		if err == nil {
			return conn, nil
		}
		n.dead.Store(true)
	}
	return nil, errors.New("no live node")
}

// client returns an HTTP client for the cluster (no keep-alive, so that
// consecutive requests, a ceremony's begin and finish included, land on
// different nodes).
func (c *cluster) client() *http.Client {
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true, DialContext: c.dial}}
}

// to returns a client for node i alone.
func (c *cluster) to(i int) *http.Client {
	addr := c.nodes[i].addr
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}}
}

func startCluster(t *testing.T, bin string, n int, env map[string]string) *cluster {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = freeAddr(t)
	}
	_, port, _ := net.SplitHostPort(addrs[0])
	c := &cluster{origin: "http://localhost:" + port}
	for i, addr := range addrs {
		nd := &node{addr: addr, log: &syncBuffer{}}
		nd.cmd = exec.Command(bin, "serve")
		nd.cmd.Env = []string{"PATH=/usr/bin:/bin", "KEYSHIFT_LISTEN=" + addr, "KEYSHIFT_ORIGIN=" + c.origin}
		for k, v := range env {
			nd.cmd.Env = append(nd.cmd.Env, k+"="+v)
		}
		nd.cmd.Stdout, nd.cmd.Stderr = nd.log, nd.log
		if err := nd.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if !nd.dead.Load() {
				nd.cmd.Process.Signal(syscall.SIGTERM)
			}
			nd.cmd.Wait()
			if t.Failed() {
				t.Logf("node %d log:\n%s", i, nd.log.String())
			}
		})
		c.nodes = append(c.nodes, nd)
		exited := make(chan struct{})
		waitReady(t, c.to(i), c.origin, exited, nd.log.String)
	}
	return c
}

// TestThreeNodesOnOnePostgreSQL runs three keyshift processes on one
// PostgreSQL database behind one origin: ceremonies begun on one node
// finish on another, throttles count across nodes, each mail is sent once,
// a rollout change reaches every node within a second, and a node killed
// with SIGKILL under load loses nothing that was acknowledged while the
// others keep serving.
func TestThreeNodesOnOnePostgreSQL(t *testing.T) {
	t.Parallel()
	database := testdb.PostgresURL(t)
	bin := buildKeyshift(t)
	smtp := mailtest.Start(t)
	const admin = "an-admin-token-for-the-three-node-test"
	c := startCluster(t, bin, 3, map[string]string{
		"KEYSHIFT_DATABASE": database, "KEYSHIFT_SMTP_URL": smtp.URL(), "KEYSHIFT_MAIL_FROM": "keyshift@example.com",
		"KEYSHIFT_PEPPER": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "KEYSHIFT_ADMIN_TOKEN": admin,
		"KEYSHIFT_TRUSTED_PROXIES": "127.0.0.1", "KEYSHIFT_LOG_FORMAT": "json",
		"KEYSHIFT_ARGON2_MEMORY_KIB": "7168", "KEYSHIFT_ARGON2_ITERATIONS": "1", "KEYSHIFT_HASH_QUEUE_TIMEOUT": "30s",
	})
	ctx := t.Context()
	target := &bench.Target{URL: c.origin, HTTP: c.client()}
	ip := func(i int) string { return fmt.Sprintf("198.51.100.%d", i+1) }

	// Passkey ceremonies begun on one node and finished on the next.
	const members = 6
	keys := make([]*bench.Passkey, members)
	for i := range members {
		email := fmt.Sprintf("member%d@example.com", i)
		cookie, err := target.From(ip(i)).Signup(ctx, email, "correct horse battery staple")
		if err != nil {
			t.Fatal(err)
		}
		if keys[i], _, err = target.RegisterPasskey(ctx, cookie); err != nil {
			t.Fatalf("registering %s's passkey across nodes: %v", email, err)
		}
		for range 3 {
			if err := target.PasskeySignin(ctx, keys[i]); err != nil {
				t.Fatalf("%s's passkey sign-in across nodes: %v", email, err)
			}
		}
	}

	// Wrong passwords sent at once and spread over the nodes (and over client
	// addresses) are counted together: the account's five free attempts,
	// then 429. (Sent one after another on a slow machine, the 2-second
	// back-off after the fifth may run out and rightly allow a sixth.)
	statuses := map[int]int{}
	var smu sync.Mutex
	var swg sync.WaitGroup
	for i := range 12 {
		swg.Go(func() {
			res, err := postFrom(target.HTTP, c.origin+"/api/signin/password", ip(100+i),
				`{"email":"member0@example.com","password":"not the password at all"}`)
			if err != nil {
				t.Error(err)
				return
			}
			smu.Lock()
			statuses[res]++
			smu.Unlock()
		})
	}
	swg.Wait()
	if statuses[http.StatusUnauthorized] != 5 || statuses[http.StatusTooManyRequests] != 7 {
		t.Errorf("12 wrong passwords at once over 3 nodes: %v, want 5 × 401 and 7 × 429", statuses)
	}

	// Sign-in mails, asked of every node in turn: each mail of the outbox
	// is delivered once, whichever node's worker claims it.
	for i := range members {
		if err := target.From(ip(200+i)).EmailStart(ctx, fmt.Sprintf("member%d@example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	db, err := store.Open(ctx, database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows := waitOutboxSent(t, db, 30*time.Second)
	got := smtp.Messages()
	ids := map[string]int{}
	for _, m := range got {
		ids[messageID(m.Raw)]++
	}
	for id, n := range ids {
		if n != 1 || id == "" {
			t.Errorf("mail %q delivered %d times", id, n)
		}
	}
	if len(got) != rows || rows < 2*members {
		t.Errorf("%d mails delivered for %d outbox rows (want each once, at least %d)", len(got), rows, 2*members)
	}

	// A rollout change made on one node is seen by the others within a second.
	res, err := request(c.to(0), http.MethodPut, c.origin+"/api/admin/rollout", admin, `{"phase":"beta","reason":"three nodes"}`)
	if err != nil || res != http.StatusOK {
		t.Fatalf("PUT rollout on node 0: %d, %v", res, err)
	}
	changed := time.Now()
	for i := 1; i < 3; i++ {
		for {
			body, err := getBody(c.to(i), c.origin+"/api/admin/rollout", admin)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(body, `"phase":"beta"`) {
				break
			}
			// A node's copy is at most a second old; allow for a loaded machine.
			if time.Since(changed) > 3*time.Second {
				t.Fatalf("node %d still shows %s %s after the change", i, body, time.Since(changed))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// SIGKILL one node under load: what was acknowledged is kept, and the
	// other nodes answer everything sent after the kill.
	var (
		mu          sync.Mutex
		ackedSignup []string
		ackedMail   []string
		afterKill   []error
	)
	var killed atomic.Bool
	var killedAt time.Time
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var seq atomic.Int64
	for w := range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := int(seq.Add(1))
				email := fmt.Sprintf("load%d-%d@example.com", w, i)
				sent := time.Now()
				_, err := target.From(fmt.Sprintf("203.0.%d.%d", i/200, i%200+1)).Signup(ctx, email, "correct horse battery staple")
				mu.Lock()
				if err == nil {
					ackedSignup = append(ackedSignup, email)
				} else if killed.Load() && sent.After(killedAt.Add(200*time.Millisecond)) {
					afterKill = append(afterKill, err)
				}
				mu.Unlock()
				if err == nil {
					if err := target.From(fmt.Sprintf("203.1.%d.%d", i/200, i%200+1)).EmailStart(ctx, email); err == nil {
						mu.Lock()
						ackedMail = append(ackedMail, email)
						mu.Unlock()
					}
				}
			}
		})
	}
	time.Sleep(time.Second)
	mu.Lock()
	killedAt = time.Now()
	mu.Unlock()
	if err := c.nodes[2].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.nodes[2].dead.Store(true)
	killed.Store(true)
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	if len(afterKill) > 0 {
		t.Errorf("%d requests sent after the kill failed, first: %v", len(afterKill), afterKill[0])
	}
	if len(ackedSignup) < 4 {
		t.Fatalf("only %d sign-ups acknowledged under load", len(ackedSignup))
	}
	for _, email := range ackedSignup {
		if err := target.From("192.0.2.77").Signin(ctx, email, "correct horse battery staple"); err != nil {
			t.Errorf("%s was acknowledged before the kill but cannot sign in: %v", email, err)
		}
	}
	queued, err := db.FindOutbox(ctx, outbox.Filter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	mailed := map[string]bool{}
	for _, q := range queued {
		if q.Kind == "signin_link" {
			mailed[q.To] = true
		}
	}
	for _, email := range ackedMail {
		if !mailed[email] {
			t.Errorf("the sign-in mail to %s was acknowledged but is not in the outbox", email)
		}
	}
	t.Logf("under load: %d sign-ups and %d sign-in mails acknowledged; node 2 killed with SIGKILL", len(ackedSignup), len(ackedMail))
}

// waitOutboxSent waits until no mail is queued and returns how many were sent.
func waitOutboxSent(t *testing.T, db *store.DB, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		all, err := db.FindOutbox(t.Context(), outbox.Filter{Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		queued, sent := 0, 0
		for _, m := range all {
			switch m.Status {
			case outbox.StatusQueued:
				queued++
			case outbox.StatusSent:
				sent++
			}
		}
		if queued == 0 {
			return sent
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d mails still queued after %v", queued, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var messageIDLine = regexp.MustCompile(`(?im)^Message-ID:\s*(\S+)`)

func messageID(raw []byte) string {
	if m := messageIDLine.FindSubmatch(raw); m != nil {
		return string(m[1])
	}
	return ""
}

// postFrom posts body from the client address ip and returns the status.
func postFrom(c *http.Client, url, ip, body string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// request sends an admin API request and returns the status.
func request(c *http.Client, method, url, token, body string) (int, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// getBody GETs url with the admin token and returns the body.
func getBody(c *http.Client, url, token string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), err
}
