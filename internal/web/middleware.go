package web

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe counts, times and logs every request, and turns a panic into a
// logged 500 instead of a dropped connection.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "panic", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				if sw.status == 0 {
					s.respond.Error(sw, r, &account.Error{Code: account.EInternal, Detail: "panic"})
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			s.metrics.Requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
			s.metrics.Duration.WithLabelValues(route).Observe(elapsed.Seconds())
			if s.log.Enabled(r.Context(), slog.LevelInfo) {
				s.log.InfoContext(r.Context(), "request", "method", r.Method, "route", route, "path", r.URL.Path,
					"status", status, "duration_ms", float64(elapsed.Microseconds())/1000, "ip", s.visitors.ClientIP(r))
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// contentSecurityPolicy allows nothing inline and nothing from elsewhere:
// pages load one stylesheet and one script, both from /static.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secure sets the security headers every answer carries.
func (s *Server) secure(next http.Handler) http.Handler {
	hsts := s.cfg.SecureCookies()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "publickey-credentials-get=(self), publickey-credentials-create=(self)")
		if hsts {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// crossOrigin refuses state-changing requests that a browser marks as
// coming from another origin (Sec-Fetch-Site, else Origin vs Host). A request
// with neither header is a non-browser client and is allowed (API.md).
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	// Behind a reverse proxy Host may not be the public origin; the
	// configured origins, primary and further, are always ours.
	for _, o := range s.cfg.AllOrigins() {
		if err := cop.AddTrustedOrigin(o); err != nil {
			s.log.Warn("origin not usable for cross-origin protection", "origin", o, "err", err)
		}
	}
	// The OpenID Provider's back-channel endpoints authenticate the app
	// (its secret or PKCE verifier) or a bearer token, never a cookie: an
	// app's browser code may call them from its own origin.
	for _, p := range []string{"POST /oidc/token", "POST /oidc/revoke", "POST /oidc/introspect", "POST /oidc/userinfo"} {
		cop.AddInsecureBypassPattern(p)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := &account.Error{Code: account.ECrossOrigin, Detail: "cross-origin request refused"}
		if isAPI(r) {
			// Like every API answer (see api): never cached.
			w.Header().Set("Cache-Control", "no-store")
			s.respond.Error(w, r, err)
			return
		}
		s.respond.RenderError(w, r, err)
	}))
	return cop.Handler(next)
}

// isAPI reports whether r is for the JSON API, which answers errors as JSON.
func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }
