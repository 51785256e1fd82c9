package web_test

import (
	"fmt"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		c := s.client()

		r := c.Do(http.MethodGet, "/healthz", nil, nil)
		wantStatus(t, r, http.StatusOK)
		var health map[string]any
		r.JSON(t, &health)
		if health["status"] != "ok" || health["version"] == "" || health["version"] == nil || health["goVersion"] != runtime.Version() {
			t.Errorf("healthz answered %s, want status ok with the build's version and Go version", r.Body)
		}

		r = c.Do(http.MethodGet, "/readyz", nil, nil)
		wantStatus(t, r, http.StatusOK)
		var ready map[string]string
		r.JSON(t, &ready)
		if len(ready) != 1 || ready["status"] != "ready" {
			t.Errorf("readyz answered %s, want {\"status\":\"ready\"}", r.Body)
		}

		s.member("ada@example.com")
		wantStatus(t, s.client().Signin("ada@example.com", "not the password"), http.StatusUnauthorized)
		wantStatus(t, s.client().Signin("ada@example.com", goodPassword), http.StatusOK)
		wantStatus(t, c.Do(http.MethodGet, "/api/no-such-thing-7d1c", nil, nil), http.StatusNotFound)
		wantStatus(t, c.Do(http.MethodDelete, "/api/sessions/8a1f-raw-id", nil, nil), http.StatusUnauthorized)

		r = c.Do(http.MethodGet, "/metrics", nil, nil)
		wantStatus(t, r, http.StatusOK)
		metrics := string(r.Body)
		for _, line := range []string{
			`keyshift_signin_attempts_total{method="password",outcome="failure"} 1`,
			`keyshift_signin_attempts_total{method="password",outcome="success"} 1`,
			`keyshift_http_requests_total{method="POST",route="POST /api/signin/password",status="401"} 1`,
			`keyshift_http_requests_total{method="POST",route="POST /api/signin/password",status="200"} 1`,
			`keyshift_http_requests_total{method="POST",route="POST /api/signup",status="201"} 1`,
			`keyshift_http_requests_total{method="GET",route="GET /readyz",status="200"} 1`,
			`keyshift_http_requests_total{method="DELETE",route="DELETE /api/sessions/{id}",status="401"} 1`,
			`keyshift_http_requests_total{method="GET",route="/api/",status="404"} 1`,
			fmt.Sprintf(`keyshift_build_info{commit="%s",goversion="%s",version="%s"} 1`, orEmpty(health["commit"]), runtime.Version(), health["version"]),
		} {
			if !strings.Contains(metrics, line+"\n") {
				t.Errorf("/metrics lacks %s", line)
			}
		}
		// Route labels are mux patterns: raw paths would make a series per URL.
		for _, raw := range []string{"no-such-thing-7d1c", "8a1f-raw-id"} {
			if strings.Contains(metrics, raw) {
				t.Errorf("/metrics holds the raw path %q", raw)
			}
		}
		for _, m := range regexp.MustCompile(`keyshift_http_requests_total\{[^}]*route="([^"]*)"`).FindAllStringSubmatch(metrics, -1) {
			if !strings.Contains(m[1], "/") {
				t.Errorf("route label %q is not a pattern", m[1])
			}
		}
	})
}

// TestReadyzDuringARollingUpgrade: a running node stays ready when a newer
// node has migrated the schema past what it knows (docs/operations.md, the
// upgrade policy), and is not ready while a migration it knows is pending.
func TestReadyzDuringARollingUpgrade(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		raw := testdb.Raw(t, database)
		var latest int
		if err := raw.QueryRowContext(t.Context(), "SELECT MAX(version) FROM schema_migrations").Scan(&latest); err != nil {
			t.Fatal(err)
		}
		at := "0"
		if strings.HasPrefix(database, "postgres") {
			at = "now()"
		}
		exec := func(q string) {
			t.Helper()
			if _, err := raw.ExecContext(t.Context(), q); err != nil {
				t.Fatal(err)
			}
		}
		exec(fmt.Sprintf("INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, 'from_the_next_version', %s)", latest+1, at))
		if r := s.client().Do(http.MethodGet, "/readyz", nil, nil); r.Status != http.StatusOK {
			t.Errorf("schema one version ahead: readyz %d %s, want 200", r.Status, r.Body)
		}
		// Both rows gone: the binary's own latest migration now looks
		// pending, as on a database an operator restored from an older
		// backup under a running node.
		exec(fmt.Sprintf("DELETE FROM schema_migrations WHERE version >= %d", latest))
		if r := s.client().Do(http.MethodGet, "/readyz", nil, nil); r.Status != http.StatusServiceUnavailable {
			t.Errorf("a migration pending: readyz %d %s, want 503", r.Status, r.Body)
		}
	})
}

// TestAFullHashingGateAnswers503WithRetryAfter: when every hashing slot is
// taken and the queue wait runs out, a sign-in is refused with 503
// server_busy and a Retry-After, never left hanging or answered 500.
func TestAFullHashingGateAnswers503WithRetryAfter(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		// Eight members: eight sign-ins at once for one account would
		// mostly be throttled before any hash (its five free attempts).
		for i := range 8 {
			s.member(fmt.Sprintf("ada%d@example.com", i))
		}
		busy := servertest.Start(t, database, func(c *config.Config) {
			c.Password.HashConcurrency = 1
			c.Password.HashQueueTimeout = time.Millisecond
			// Production cost, so that one hash outlasts the queue wait.
			c.Password.ArgonMemoryKiB = config.Default().Password.ArgonMemoryKiB
			c.Password.ArgonIterations = 4
		})
		var mu sync.Mutex
		var refused []*servertest.Response
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				r := busy.Client(t).Signin(fmt.Sprintf("ada%d@example.com", i), goodPassword)
				if r.Status == http.StatusServiceUnavailable {
					mu.Lock()
					refused = append(refused, r)
					mu.Unlock()
				} else if r.Status != http.StatusOK {
					t.Errorf("status %d %s, want 200 or 503", r.Status, r.Body)
				}
			})
		}
		wg.Wait()
		if len(refused) == 0 {
			t.Fatal("eight sign-ins at once through one slot with a 1 ms queue: none refused")
		}
		for _, r := range refused {
			if r.ErrorCode() != "server_busy" || r.Header.Get("Retry-After") == "" {
				t.Errorf("refusal %s with Retry-After %q, want server_busy with Retry-After", r.Body, r.Header.Get("Retry-After"))
			}
		}
	})
}

// orEmpty is a JSON field that may be left out (omitempty) as text.
func orEmpty(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}
