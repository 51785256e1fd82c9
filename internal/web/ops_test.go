package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/testdb"
)

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		c := s.client()

		wantStatus(t, c.Do(http.MethodGet, "/healthz", nil, nil), http.StatusOK)

		r := c.Do(http.MethodGet, "/readyz", nil, nil)
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
