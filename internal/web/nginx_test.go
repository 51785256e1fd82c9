package web_test

// The forward-auth test with a real nginx: Debian's nginx (scripts/test
// installs it; KEYSHIFT_TEST_NGINX=0 skips) runs as the current user on a
// loopback port, with a prefix, pid file and error log of its own in the
// test's directory, in front of a tiny app and keyshift — configured with
// the very nginx block of docs/integrate.md, so the documentation cannot
// drift from what works.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/web/browsertest"
)

// The names the test's browser uses; every one of them is this machine
// (the client dials 127.0.0.1 whatever the name), and .localhost names may
// use http and share a parent domain for cookies.
const (
	nginxDomain = "ks.localhost"
	loginHost   = "login." + nginxDomain
	appHost     = "app." + nginxDomain
)

func TestNginxForwardAuth(t *testing.T) {
	nginx := nginxBinary(t)
	t.Parallel()
	rig := newForwardAuthRig(t)
	startNginx(t, nginx, rig.proxyPort, rig.app.Listener.Addr().String(), rig.keyshiftAddr)

	browser := newLoopbackBrowser(t)
	checkForwardAuth(t, browser, rig.login, rig.appOrigin, &rig.appHits)
	hits := rig.appHits.Load()
	// Another host behind the same nginx is not an allowed return
	// address: a plain 401, no redirect anywhere.
	r := browser.do(t, http.MethodGet, "http://other."+nginxDomain+":"+strconv.Itoa(rig.proxyPort)+"/", "", "")
	if r.Status != http.StatusUnauthorized || r.Header.Get("Location") != "" {
		t.Errorf("another host, anonymous: %d to %q, want a plain 401", r.Status, r.Header.Get("Location"))
	}
	if rig.appHits.Load() != hits {
		t.Error("the app was reached without a session")
	}
}

// forwardAuthRig is what a proxy is put in front of: a tiny app that says
// which member the proxy told it about, and keyshift on its own host name
// sharing the parent domain's cookie, trusting the proxy on loopback.
type forwardAuthRig struct {
	app                            *httptest.Server
	appHits                        atomic.Int32
	proxyPort                      int
	appOrigin, login, keyshiftAddr string
}

func newForwardAuthRig(t *testing.T) *forwardAuthRig {
	rig := &forwardAuthRig{proxyPort: freePort(t)}
	rig.app = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rig.appHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"id": r.Header.Get("X-Auth-User-Id"), "email": r.Header.Get("X-Auth-Email"),
			"method": r.Header.Get("X-Auth-Method"), "path": r.URL.RequestURI(),
		})
	}))
	t.Cleanup(rig.app.Close)
	rig.appOrigin = "http://" + appHost + ":" + strconv.Itoa(rig.proxyPort)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rig.keyshiftAddr = ln.Addr().String()
	rig.login = "http://" + loginHost + ":" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	servertest.StartOn(t, ln, "sqlite:"+testdb.SQLitePath(t), func(c *config.Config) {
		c.Origin = rig.login
		c.CookieDomain = nginxDomain
		c.AllowedReturnOrigins = []string{rig.appOrigin}
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		c.Password.HashQueueTimeout = time.Minute
	})
	return rig
}

// checkForwardAuth runs the forward-auth scenario through a proxy in front
// of the app at appOrigin and keyshift at login: an anonymous browser is
// sent to sign in, comes back signed in, the app sees the member (and never
// a client's own X-Auth-* headers), and after signing out is sent to sign
// in again. appHits counts the app's requests.
func checkForwardAuth(t *testing.T, browser *loopbackBrowser, login, appOrigin string, appHits *atomic.Int32) {
	t.Helper()
	wantStatus(t, browser.do(t, http.MethodPost, login+"/api/signup", "application/json",
		`{"email":"ada@example.com","password":"`+goodPassword+`"}`), http.StatusCreated)
	browser.do(t, http.MethodDelete, login+"/api/session", "", "") // signed out; a fresh start

	// Anonymous: sent to sign in, with the way back; the app sees nothing.
	page := appOrigin + "/docs/page?x=1&y=two"
	r := browser.do(t, http.MethodGet, page, "", "")
	signin := login + "/signin?return_to=" + url.QueryEscape(page)
	if r.Status != http.StatusFound || r.Header.Get("Location") != signin {
		t.Fatalf("anonymous: %d to %q, want 302 to %q\n%s", r.Status, r.Header.Get("Location"), signin, r.Body)
	}
	if n := appHits.Load(); n != 0 {
		t.Fatalf("the app was reached %d times without a session", n)
	}

	// Signing in there comes back to the page, and the app gets the member.
	wantPage(t, browser.do(t, http.MethodGet, signin, "", ""), http.StatusOK)
	r = browser.do(t, http.MethodPost, login+"/signin", "application/x-www-form-urlencoded",
		url.Values{"email": {"ada@example.com"}, "password": {goodPassword}}.Encode())
	// A fresh install nudges a member without a passkey first; the nudge
	// carries the way back, and "Not now" takes it.
	nudge := "/welcome/passkey?next=" + url.QueryEscape(page)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != nudge {
		t.Fatalf("sign-in: %d to %q, want 303 to %q", r.Status, r.Header.Get("Location"), nudge)
	}
	wantPage(t, browser.do(t, http.MethodGet, login+nudge, "", ""), http.StatusOK)
	r = browser.do(t, http.MethodPost, login+"/welcome/passkey", "application/x-www-form-urlencoded",
		url.Values{"action": {"later"}, "next": {page}}.Encode())
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != page {
		t.Fatalf("the nudge's \"Not now\": %d to %q, want 303 to %q", r.Status, r.Header.Get("Location"), page)
	}
	// A client's own X-Auth-* headers never reach the app.
	r = browser.doWith(t, http.MethodGet, page, http.Header{"X-Auth-Email": {"mallory@example.com"}, "X-Auth-User-Id": {"1"}})
	wantStatus(t, r, http.StatusOK)
	var seen map[string]string
	r.JSON(t, &seen)
	me := browser.do(t, http.MethodGet, login+"/api/session", "", "")
	var session sessionView
	me.JSON(t, &session)
	if seen["id"] != session.User.ID || seen["email"] != "ada@example.com" || seen["method"] != "password" || seen["path"] != "/docs/page?x=1&y=two" {
		t.Errorf("the app saw %v, want member %s, ada@example.com, password, /docs/page?x=1&y=two", seen, session.User.ID)
	}

	// Signed out: sent to sign in again.
	browser.do(t, http.MethodDelete, login+"/api/session", "", "")
	hits := appHits.Load()
	r = browser.do(t, http.MethodGet, page, "", "")
	if r.Status != http.StatusFound || r.Header.Get("Location") != signin {
		t.Errorf("after sign-out: %d to %q, want 302 to %q", r.Status, r.Header.Get("Location"), signin)
	}
	if appHits.Load() != hits {
		t.Error("the app was reached without a session")
	}
}

// nginxBinary finds nginx, or skips t (fails it in CI) without it.
func nginxBinary(t *testing.T) string {
	t.Helper()
	if os.Getenv("KEYSHIFT_TEST_NGINX") == "0" {
		t.Skip("KEYSHIFT_TEST_NGINX=0")
	}
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if browsertest.InCI() {
		t.Fatal("the forward-auth test needs nginx; scripts/test installs it")
	}
	t.Skip("skipping: no nginx; scripts/test installs it (apt-get install -y nginx)")
	return ""
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startNginx runs nginx in the foreground, in one process as the current
// user, with the server block of docs/integrate.md pointed at app and
// keyshift, until t ends.
func startNginx(t *testing.T, nginx string, port int, app, keyshift string) {
	t.Helper()
	prefix := t.TempDir()
	server := documentedProxyConfig(t, "nginx")
	for _, r := range []struct{ old, new string }{
		{"listen 443 ssl;", fmt.Sprintf("listen 127.0.0.1:%d;", port)},
		{"server_name wiki.example.com;", "server_name " + appHost + ";"},
		{"proxy_pass http://127.0.0.1:3000;", "proxy_pass http://" + app + ";"},
		{"proxy_pass http://127.0.0.1:8080/api/verify;", "proxy_pass http://" + keyshift + "/api/verify;"},
	} {
		if !strings.Contains(server, r.old) {
			t.Fatalf("docs/integrate.md's nginx block no longer holds %q; update the test with the documentation", r.old)
		}
		server = strings.Replace(server, r.old, r.new, 1)
	}
	server = regexp.MustCompile(`(?m)^\s*#\s*ssl_certificate.*$`).ReplaceAllString(server, "")
	var temps strings.Builder
	for _, kind := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&temps, "  %s_temp_path %s;\n", kind, filepath.Join(prefix, kind))
	}
	conf := fmt.Sprintf(`daemon off;
master_process off;
pid %s;
error_log %s info;
events { worker_connections 64; }
http {
  access_log off;
%s%s
}
`, filepath.Join(prefix, "nginx.pid"), filepath.Join(prefix, "error.log"), temps.String(), server)
	path := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	errLog := filepath.Join(prefix, "error.log")
	cmd := exec.Command(nginx, "-p", prefix, "-c", path, "-e", errLog)
	if out, err := exec.Command(nginx, "-t", "-p", prefix, "-c", path, "-e", errLog).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s\n%s", err, out, conf)
	}
	runProxy(t, "nginx", cmd, syscall.SIGQUIT, port, errLog)
}

// runProxy starts a proxy's cmd, stops it with stop when t ends (killing
// it after 10 s), and waits until it listens on port; its log at logPath
// goes into t's output when t fails.
func runProxy(t *testing.T, name string, cmd *exec.Cmd, stop os.Signal, port int, logPath string) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(stop)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(logPath)
			t.Logf("%s's log:\n%s", name, log)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("%s did not listen on %d: %v\n%s", name, port, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// documentedProxyConfig is the first block of docs/integrate.md fenced as
// lang (nginx, caddyfile).
func documentedProxyConfig(t *testing.T, lang string) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/integrate.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatalf("docs/integrate.md holds no %s block", lang)
	}
	return string(m[1])
}

// loopbackBrowser keeps cookies as a browser does, by host name, and
// reaches every name on 127.0.0.1; it follows no redirect.
type loopbackBrowser struct{ http *http.Client }

func newLoopbackBrowser(t *testing.T) *loopbackBrowser {
	jar, _ := cookiejar.New(nil)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &loopbackBrowser{http: &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return dialer.DialContext(ctx, network, "127.0.0.1:"+port)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *loopbackBrowser) do(t *testing.T, method, rawURL, contentType, body string) *servertest.Response {
	t.Helper()
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return b.send(t, method, rawURL, h, body)
}

func (b *loopbackBrowser) doWith(t *testing.T, method, rawURL string, h http.Header) *servertest.Response {
	t.Helper()
	return b.send(t, method, rawURL, h, "")
}

func (b *loopbackBrowser) send(t *testing.T, method, rawURL string, h http.Header, body string) *servertest.Response {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	res, err := b.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer res.Body.Close()
	var buf strings.Builder
	if _, err := io.Copy(&buf, res.Body); err != nil {
		t.Fatal(err)
	}
	return &servertest.Response{Status: res.StatusCode, Header: res.Header, Body: []byte(buf.String())}
}
