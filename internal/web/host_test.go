package web_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/web"
)

// hostHeader is a header that sends the request with another Host, as a
// page on a rebound name does.
func hostHeader(host string) http.Header { return http.Header{"Host": {host}} }

// TestEveryRouteRefusesAnotherHost: DNS rebinding. A page on
// rebind.example whose name resolves to this machine reads a local keyshift
// as its own origin; the browser still says Host: rebind.example, so every
// route answers 421 misdirected_request and nothing else. The probes stay
// open to any Host: they carry nothing.
func TestEveryRouteRefusesAnotherHost(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database, devMode)
		c := s.member("ada@example.com")
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
		for _, host := range []string{"rebind.example:" + port, "127.0.0.1:" + port, "localhost", "localhost:1" + port} {
			for _, path := range []string{"/dev/mail", "/", "/signin", "/account", "/api/session", "/api/sessions", "/static/app.js", "/nowhere"} {
				r := c.Do(http.MethodGet, path, nil, hostHeader(host))
				e := wantAPIError(t, r, http.StatusMisdirectedRequest, "misdirected_request")
				if strings.Contains(string(r.Body), "ada@") || strings.Contains(e.Error.Message, "<") {
					t.Errorf("GET %s for Host %s shows content: %s", path, host, r.Body)
				}
			}
			r := c.Do(http.MethodPost, "/api/signin/password", []byte(`{"email":"ada@example.com","password":"x"}`),
				http.Header{"Host": {host}, "Content-Type": {"application/json"}})
			wantAPIError(t, r, http.StatusMisdirectedRequest, "misdirected_request")
			for _, probe := range []string{"/healthz", "/readyz"} {
				wantStatus(t, c.Do(http.MethodGet, probe, nil, hostHeader(host)), http.StatusOK)
			}
		}
		// The origin's host in another case is the origin's host.
		wantStatus(t, c.Do(http.MethodGet, "/api/session", nil, hostHeader("LOCALHOST:"+port)), http.StatusOK)
	})
}

func TestTheHostCheckKnowsDefaultPorts(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		origin, host string
		ok           bool
		origins      []string
	}{
		{"https://login.example.com", "login.example.com", true, nil},
		{"https://login.example.com", "login.example.com:443", true, nil},
		{"https://login.example.com", "Login.Example.COM", true, nil},
		{"https://login.example.com", "login.example.com:80", false, nil},
		{"https://login.example.com", "login.example.com.", false, nil},
		{"https://login.example.com", "example.com", false, nil},
		{"https://login.example.com:8443", "login.example.com", false, nil},
		{"http://[::1]:8080", "[::1]:8080", true, nil},
		{"http://[::1]", "[::1]:80", true, nil},
		{"http://localhost", "localhost:80", true, nil},
		{"https://login.example.com", "login.example.org", true, []string{"https://login.example.org"}},
		{"https://login.example.com", "login.example.org:443", true, []string{"https://login.example.org"}},
		{"https://login.example.com", "login.example.com", true, []string{"https://login.example.org"}},
		{"https://login.example.com", "login.example.org:8443", false, []string{"https://login.example.org"}},
		{"https://login.example.com", "www.example.org", false, []string{"https://login.example.org"}},
	} {
		cfg := config.Default()
		cfg.Origin, cfg.Origins = tt.origin, tt.origins
		s, err := web.New(web.Options{Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, "/nowhere", nil)
		req.Host = tt.host
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if got := rec.Code != http.StatusMisdirectedRequest; got != tt.ok {
			t.Errorf("origin %s, Host %q: answered %d; want accepted %v", tt.origin, tt.host, rec.Code, tt.ok)
		}
	}
}

// TestMetricsAreForTheOperatorOnly: /metrics on the main listener answers a
// local request for the origin's host, or one bearing the admin token;
// anything a proxy forwarded, or a rebound page, gets 401.
func TestMetricsAreForTheOperatorOnly(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		token := strings.Repeat("k", 40)
		s := startSite(t, database, func(c *config.Config) { c.AdminToken = token })
		c := s.client()
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
		wantStatus(t, c.Do(http.MethodGet, "/metrics", nil, nil), http.StatusOK)
		for name, h := range map[string]http.Header{
			"forwarded by a proxy":         {"X-Forwarded-For": {"203.0.113.9"}},
			"forwarded (RFC 7239)":         {"Forwarded": {"for=203.0.113.9"}},
			"from a rebound page":          hostHeader("rebind.example:" + port),
			"with a wrong token":           {"X-Forwarded-For": {"203.0.113.9"}, "Authorization": {"Bearer " + strings.Repeat("x", 40)}},
			"with the token in a bad form": {"X-Forwarded-For": {"203.0.113.9"}, "Authorization": {token}},
		} {
			r := c.Do(http.MethodGet, "/metrics", nil, h)
			wantAPIError(t, r, http.StatusUnauthorized, "unauthenticated")
			if strings.Contains(string(r.Body), "keyshift_") || r.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: %s (WWW-Authenticate %q)", name, r.Body, r.Header.Get("WWW-Authenticate"))
			}
		}
		r := c.Do(http.MethodGet, "/metrics", nil, http.Header{"X-Forwarded-For": {"203.0.113.9"}, "Authorization": {"Bearer " + token},
			"Host": {"10.0.0.7:9000"}}) // a scraper that knows the token, by the pod's address
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(string(r.Body), "keyshift_http_requests_total") {
			t.Errorf("the token's answer lacks the metrics:\n%.300s", r.Body)
		}
	})
}

// TestMetricsOnTheirOwnAddress: with metrics_listen, /metrics is served
// there by a server of its own and is gone from the main listener.
func TestMetricsOnTheirOwnAddress(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database, func(c *config.Config) { c.MetricsListen = "127.0.0.1:0" })
		c := s.client()
		wantStatus(t, c.Do(http.MethodGet, "/metrics", nil, nil), http.StatusNotFound)
		addr := s.MetricsAddr()
		if addr == nil {
			t.Fatal("no metrics address")
		}
		res, err := http.Get("http://" + addr.String() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "keyshift_password_hashes_running") {
			t.Errorf("metrics address: %d\n%.300s", res.StatusCode, body)
		}
		res, err = http.Get("http://" + addr.String() + "/api/session")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("the metrics address serves the API: %d", res.StatusCode)
		}
	})
}

// brokenDB is a database whose errors name what an attacker wants to know.
type brokenDB struct{}

func (brokenDB) Ping(context.Context) error {
	return errors.New(`failed to connect to user=keyshift database=keyshift_prod host=db.internal.example.com:5432: password authentication failed`)
}
func (brokenDB) CheckReady(context.Context) error { return nil }

// TestReadyzSaysOnlyItsStatus: the reason a database is not ready names its
// user, name and address; it goes to the log, never to the answer.
func TestReadyzSaysOnlyItsStatus(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	s, err := web.New(web.Options{Config: config.Default(), Health: brokenDB{}, Log: newTextLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://10.1.2.3:8080/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || strings.TrimSpace(rec.Body.String()) != `{"status":"unavailable"}` {
		t.Errorf("GET /readyz = %d %s, want 503 {\"status\":\"unavailable\"} and nothing more", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "db.internal.example.com") {
		t.Errorf("the reason is not in the log:\n%s", logs.String())
	}
}

// TestClientAddressesBehindAProxyWithPortsAndJunk: a trusted proxy's
// X-Forwarded-For hop may carry a port or a zone; it is still the client's
// address. A hop that is no address is the client's key by its text, so
// such clients do not all share the proxy's throttle key. Every form of hop
// is clientip's table (TestOf); here, that a session records what it says.
func TestClientAddressesBehindAProxyWithPortsAndJunk(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database, trustLoopbackProxy)
		for i, tt := range []struct{ hop, want string }{
			{"[2001:db8::1]:443", "2001:db8::1"},
			{"unknown", "hop:unknown"},
			{"203.0.113.9, 198.51.100.77:1234", "198.51.100.77"},
		} {
			c := s.client()
			r := postJSON(c, "/api/signup", credentials(fmt.Sprintf("member%d@example.com", i), goodPassword), "X-Forwarded-For", tt.hop)
			wantStatus(t, r, http.StatusCreated)
			var list struct {
				Sessions []struct {
					IP string `json:"ip"`
				} `json:"sessions"`
			}
			c.JSON(http.MethodGet, "/api/sessions", nil).JSON(t, &list)
			if len(list.Sessions) != 1 || list.Sessions[0].IP != tt.want {
				t.Errorf("X-Forwarded-For %q: session IP %+v, want %q", tt.hop, list.Sessions, tt.want)
			}
		}
	})
}

// newTextLogger logs to w, for tests that read the log.
func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
