// Package servertest runs a whole keyshift (real store, real HTTP server on
// 127.0.0.1) for end-to-end tests, with a settable clock and cheap password
// hashing. It is an ordinary package so that every package's tests can use
// it; nothing outside tests should.
package servertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/server"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set puts the clock at t: nodes of one deployment started one after the
// other share one time (their clocks would otherwise differ by the first
// node's start-up, which can exceed a throttle's back-off).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Instance is a running keyshift.
type Instance struct {
	*server.Server
	URL   string // http://localhost:PORT, the origin
	Clock *Clock
}

// Option changes the configuration before start.
type Option func(*config.Config)

// Start runs keyshift on database ("sqlite:PATH" or a postgres URL, e.g.
// from testdb.Each) until the test ends. Argon2id runs with small
// parameters so tests stay fast; benchmarks pass an Option to restore the
// defaults.
func Start(t testing.TB, database string, opts ...Option) *Instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return StartOn(t, ln, database, opts...)
}

// StartOn is Start on a listener of the caller's: a test that stops one
// instance and starts another on the same port keeps the origin, which
// sealed ceremonies and passkeys are bound to (a restore, an upgrade).
func StartOn(t testing.TB, ln net.Listener, database string, opts ...Option) *Instance {
	t.Helper()
	port := ln.Addr().(*net.TCPAddr).Port
	cfg := config.Default()
	cfg.Database = database
	cfg.Listen = ln.Addr().String()
	// Browsers refuse WebAuthn on 127.0.0.1, so the origin is localhost.
	cfg.Origin = "http://localhost:" + strconv.Itoa(port)
	cfg.Password.ArgonMemoryKiB = 8192
	cfg.Password.ArgonIterations = 1
	// Failed sign-ins still wait for 5/4 of the slowest verification seen
	// (password.FailureFloor), not for production's 250 ms more.
	cfg.Password.FailureFloor = 0
	if strings.HasPrefix(database, "postgres") {
		// PostgreSQL has no file to keep a pepper beside; every instance on
		// one database (several nodes) gets the same one, as operators do.
		cfg.Pepper = PepperFor(database)
	}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	clock := &Clock{now: time.Now().UTC().Truncate(time.Millisecond)}
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := server.New(ctx, cfg, server.Options{Log: log, Now: clock.Now})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		s.Close()
	})
	return &Instance{Server: s, URL: cfg.Origin, Clock: clock}
}

// PepperFor returns the pepper Start gives every instance on a PostgreSQL
// database: the same for the same database, so several instances act as
// nodes of one deployment.
func PepperFor(database string) string {
	sum := sha256.Sum256([]byte("keyshift servertest pepper\x00" + database))
	return base64.StdEncoding.EncodeToString(sum[:])
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Client is a browser-like HTTP client: it keeps cookies and does not
// follow redirects, so tests see each answer.
type Client struct {
	t    testing.TB
	base string
	HTTP *http.Client
}

// Client returns a new client with an empty cookie jar.
func (in *Instance) Client(t testing.TB) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{t: t, base: in.URL, HTTP: &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// ClientAt returns a new client with an empty cookie jar for origin, one of
// the instance's origins (config origins) under a name no resolver knows,
// like b.localhost: it dials the instance on 127.0.0.1 whatever the host,
// and sends that host as a browser on origin would.
func (in *Instance) ClientAt(t testing.TB, origin string) *Client {
	c := in.Client(t)
	c.base = origin
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		return dialer.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	}}
	t.Cleanup(tr.CloseIdleConnections)
	c.HTTP.Transport = tr
	return c
}

// Response is an answer, read in full.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it is not JSON.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", r.Status, err, r.Body)
	}
}

// ErrorCode returns error.code of an error answer ("" when there is none).
func (r *Response) ErrorCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// Do sends a request with a raw body and headers and reads the answer. A
// "Host" header replaces the Host the request is sent with.
func (c *Client) Do(method, path string, body []byte, header http.Header) *Response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if h := header.Get("Host"); h != "" {
		req.Host = h // what a page on another name that resolves here sends
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// JSON sends v as a JSON body (nil sends no body).
func (c *Client) JSON(method, path string, v any) *Response {
	c.t.Helper()
	var body []byte
	if v != nil {
		var err error
		if body, err = json.Marshal(v); err != nil {
			c.t.Fatal(err)
		}
	}
	return c.Do(method, path, body, http.Header{"Content-Type": {"application/json"}})
}

// Form posts a urlencoded form, as a browser without JavaScript does.
func (c *Client) Form(path string, values url.Values) *Response {
	c.t.Helper()
	return c.Do(http.MethodPost, path, []byte(values.Encode()), http.Header{
		"Content-Type": {"application/x-www-form-urlencoded"},
		"Origin":       {c.base},
	})
}

// Signup creates an account and fails the test unless it worked.
func (c *Client) Signup(email, password string) *Response {
	c.t.Helper()
	r := c.JSON(http.MethodPost, "/api/signup", map[string]string{"email": email, "password": password})
	if r.Status != http.StatusCreated {
		c.t.Fatalf("signup %s: %d %s", email, r.Status, r.Body)
	}
	return r
}

// Signin signs in with a password and returns the answer, whatever it is.
func (c *Client) Signin(email, password string) *Response {
	c.t.Helper()
	return c.JSON(http.MethodPost, "/api/signin/password", map[string]string{"email": email, "password": password})
}

// Cookie returns the value of the named cookie in the jar ("" if none).
func (c *Client) Cookie(name string) string {
	u, _ := url.Parse(c.base)
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// SetCookie puts a cookie into the jar (forged or replayed values in tests).
func (c *Client) SetCookie(name, value string) {
	u, _ := url.Parse(c.base)
	c.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}
