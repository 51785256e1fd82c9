package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		member := s.member("ada@example.com")
		anon := s.client()
		requests := []struct {
			name    string
			client  *servertest.Client
			method  string
			path    string
			body    []byte
			headers []string
			api     bool // API answers are never cached
		}{
			{"the sign-in page", anon, "GET", "/signin", nil, nil, false},
			{"the sign-up page", anon, "GET", "/signup", nil, nil, false},
			{"the account page", member, "GET", "/account", nil, nil, false},
			{"the redirect to sign-in", anon, "GET", "/account", nil, nil, false},
			{"the not-found page", anon, "GET", "/no/such/page", nil, nil, false},
			{"a refused form", anon, "POST", "/signup", []byte("email=x"), []string{"Content-Type", "application/x-www-form-urlencoded"}, false},
			{"the stylesheet", anon, "GET", "/static/style.css", nil, nil, false},
			{"the health check", anon, "GET", "/healthz", nil, nil, false},
			{"the readiness check", anon, "GET", "/readyz", nil, nil, false},
			{"a session answer", member, "GET", "/api/session", nil, nil, true},
			{"a session list", member, "GET", "/api/sessions", nil, nil, true},
			{"an unauthenticated answer", anon, "GET", "/api/session", nil, nil, true},
			{"a sign-in answer", anon, "POST", "/api/signin/password", credentials("ada@example.com", goodPassword), []string{"Content-Type", "application/json"}, true},
			{"a failed sign-in", anon, "POST", "/api/signin/password", credentials("ada@example.com", "nope nope nope"), []string{"Content-Type", "application/json"}, true},
			{"a malformed request", anon, "POST", "/api/signup", []byte("{"), []string{"Content-Type", "application/json"}, true},
			{"a wrong method", anon, "PUT", "/api/signup", nil, nil, true},
			{"an unknown API path", anon, "GET", "/api/nope", nil, nil, true},
			{"a cross-origin refusal", anon, "POST", "/api/signin/password", credentials("ada@example.com", goodPassword), []string{"Content-Type", "application/json", "Origin", "https://evil.example"}, true},
		}
		for _, rq := range requests {
			t.Run(rq.name, func(t *testing.T) {
				h := http.Header{}
				for i := 0; i+1 < len(rq.headers); i += 2 {
					h.Set(rq.headers[i], rq.headers[i+1])
				}
				r := rq.client.Do(rq.method, rq.path, rq.body, h)
				if r.Status >= 500 {
					t.Fatalf("%d: %s", r.Status, r.Body)
				}
				csp := r.Header.Get("Content-Security-Policy")
				if csp == "" || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") ||
					!strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
					t.Errorf("Content-Security-Policy %q", csp)
				}
				if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("X-Content-Type-Options %q, want nosniff", got)
				}
				switch got := r.Header.Get("Referrer-Policy"); got {
				case "same-origin", "no-referrer", "strict-origin", "strict-origin-when-cross-origin":
				default:
					t.Errorf("Referrer-Policy %q, want one that keeps paths private", got)
				}
				if got := r.Header.Get("Cache-Control"); rq.api && got != "no-store" {
					t.Errorf("Cache-Control %q on an API answer, want no-store", got)
				}
				if r.Header.Get("Strict-Transport-Security") != "" {
					t.Errorf("HSTS on an http origin")
				}
			})
		}
	})
}
