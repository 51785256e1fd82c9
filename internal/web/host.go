package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/admintoken"
)

// DNS rebinding (docs/security.md, T6): a page on evil.example whose name an attacker
// points at 127.0.0.1 talks to a local keyshift from the victim's browser as
// a same-origin page, reading /dev/mail's sign-in links. The browser still
// sends Host: evil.example, so every route refuses a request whose Host is
// not the origin's host, before any handler runs. A reverse proxy must pass
// Host on unchanged (nginx: proxy_set_header Host $host).
//
// Exempt: GET /healthz and /readyz, which container probes call by the pod's
// address and which say nothing but "ok" or "unavailable", and /metrics,
// which checks Host itself unless the admin token comes with it. And GET
// /api/verify: reverse proxies ask it with the app's Host or their own
// (Caddy passes the app's on, Traefik names keyshift's address), and a
// rebinding page gains nothing there — its browser sends keyshift's cookie
// only to keyshift's names, so it gets 401.

// And GET /.well-known/webauthn: browsers fetch it from the RP ID's host
// (related origins), which may be the site's own domain with only this
// path routed to keyshift; it is the same public list for every Host.
//
// With further origins (config origins) every one of their hosts passes.

// hostExempt are the paths the Host check leaves alone.
var hostExempt = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true, "/api/verify": true,
	relatedOriginsPath: true}

// hostCheck answers 421 misdirected_request to a request for another host.
func (s *Server) hostCheck(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostExempt[r.URL.Path] && !s.originHost(r.Host) {
			w.Header().Set("Cache-Control", "no-store")
			s.respond.Error(w, r, &account.Error{Code: account.EMisdirected, Detail: "Host " + clip(r.Host, 100) + " is not the origin's host"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// originHost reports whether host (a Host header) names one of the
// configured origins (originOf).
func (s *Server) originHost(host string) bool {
	_, ok := s.originOf(host)
	return ok
}

// originOf returns the configured origin, primary or further, that host (a
// Host header) names: the same host, compared without case, and the same
// port, where the scheme's default port may be written or left out.
func (s *Server) originOf(host string) (string, bool) {
	if host == "" {
		return "", false
	}
	got := strings.ToLower(host)
	for _, o := range s.cfg.AllOrigins() {
		if hostOfOrigin(o, got) {
			return o, true
		}
	}
	return "", false
}

// requestOrigin is the origin of the page r comes from, as the Host check
// admitted it; the primary origin for a path the check leaves alone.
func (s *Server) requestOrigin(r *http.Request) string {
	if o, ok := s.originOf(r.Host); ok {
		return o
	}
	return s.cfg.Origin
}

func hostOfOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if host == strings.ToLower(u.Host) {
		return true
	}
	if u.Port() == "" {
		def := "443"
		if u.Scheme == "http" {
			def = "80"
		}
		return host == net.JoinHostPort(u.Hostname(), def) || host == "["+u.Hostname()+"]:"+def
	}
	return false
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// metricsGate guards /metrics on the main listener: a Prometheus scrape
// with the admin token (Authorization: Bearer …, from anywhere), or a
// request from this machine — a loopback peer that no proxy forwarded, for
// the origin's host. With metrics_listen set, /metrics lives there and not
// here. Counts of requests and sign-ins are not for the public.
func (s *Server) metricsGate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case s.cfg.MetricsListen != "":
			s.respond.NotFound(w, r)
		case s.adminBearer(r), loopbackPeer(r) && !forwarded(r) && s.originHost(r.Host):
			h.ServeHTTP(w, r)
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="keyshift metrics"`)
			w.Header().Set("Cache-Control", "no-store")
			s.respond.Error(w, r, &account.Error{Code: account.EUnauthenticated, Detail: "/metrics needs the admin token or a local request"})
		}
	})
}

// adminBearer reports whether r bears an admin token that may read
// metrics: the configured one or one made with `keyshift admin token
// create`. The configured token is compared by its hash, so the comparison
// takes the same time whatever the token's length.
func (s *Server) adminBearer(r *http.Request) bool {
	if s.tokens != nil {
		who, err := s.tokens.Authenticate(r.Context(), r.Header.Get("Authorization"))
		return err == nil && who.Allows(admintoken.ScopeMetrics) == nil
	}
	if s.cfg.AdminToken == "" {
		return false
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	got, want := sha256.Sum256([]byte(strings.TrimSpace(tok))), sha256.Sum256([]byte(s.cfg.AdminToken))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// loopbackPeer reports whether the TCP peer is this machine.
func loopbackPeer(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// forwarded reports whether a proxy says it forwarded r: then a loopback
// peer is the proxy, not a local client.
func forwarded(r *http.Request) bool {
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip", "X-Forwarded-Host"} {
		if _, ok := r.Header[h]; ok {
			return true
		}
	}
	return false
}
