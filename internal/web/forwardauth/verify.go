// Package forwardauth answers reverse proxies that ask keyshift, before
// each request to an app behind them, whether the browser is signed in
// (GET /api/verify; docs/integrate.md), and tells them where to send a
// browser that is not: the sign-in page, returning to the URL it asked for
// when that is an allowed return address and a trusted proxy said which.
package forwardauth

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/web/clientip"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/visitor"
)

// Handler serves forward-auth.
type Handler struct {
	visitors       *visitor.Cookies
	origin         string
	trustedProxies []netip.Prefix
}

// New returns the forward-auth of cfg's origin, proving sessions with
// visitors.
func New(cfg config.Config, visitors *visitor.Cookies) *Handler {
	return &Handler{visitors: visitors, origin: cfg.Origin, trustedProxies: cfg.TrustedProxies}
}

// Verify is GET /api/verify, forward-auth for reverse proxies (nginx
// auth_request, Caddy forward_auth, Traefik ForwardAuth; docs/integrate.md).
// The proxy passes the browser's cookies on; a live session answers 200 with
// who signed in, and how, in X-Auth-User-Id, X-Auth-Email and X-Auth-Method
// (the session's authMethod, as GET /api/session names it) for the proxy to
// hand to the app. It costs what GET /api/session costs: one indexed read.
//
// Anything else is 401. When a trusted proxy says which URL the browser
// asked for and that URL is an allowed return address, the 401 names the
// sign-in page that returns there in X-Auth-Redirect (nginx, which passes
// only 2xx, 401 and 403 on, redirects to it itself), and ?redirect=1 makes
// the answer that redirect, a 302 (Caddy and Traefik hand any other answer
// to the browser as it is).
func (h *Handler) Verify(w http.ResponseWriter, r *http.Request) error {
	redirect, err := redirectParam(r.URL.Query())
	if err != nil {
		return err
	}
	sw, err := h.visitors.Authenticate(r)
	if err != nil {
		if account.IsCode(err, account.EUnauthenticated) {
			if to := h.signinFor(r); to != "" {
				w.Header().Set("X-Auth-Redirect", to)
				if redirect {
					http.Redirect(w, r, to, http.StatusFound)
					return nil
				}
			}
		}
		return err
	}
	hd := w.Header()
	hd.Set("X-Auth-User-Id", sw.User.ID)
	hd.Set("X-Auth-Email", sw.User.Email)
	hd.Set("X-Auth-Method", string(sw.Session.AuthMethod))
	w.WriteHeader(http.StatusOK)
	return nil
}

// redirectParam reads ?redirect=: absent, 0/false or 1/true.
func redirectParam(q url.Values) (bool, error) {
	switch q.Get("redirect") {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, request.BadRequest("redirect is 1 or 0")
}

// signinFor returns the absolute address of the sign-in page that sends the
// browser back to the URL the proxy was asked for, or "" when no trusted
// proxy said which, or it is not an allowed return address.
func (h *Handler) signinFor(r *http.Request) string {
	to := h.visitors.CheckReturn(h.originalURL(r))
	if to == "" {
		return ""
	}
	return h.origin + "/signin?return_to=" + url.QueryEscape(to)
}

// originalURL is the URL the browser asked the proxy for, as a trusted
// proxy tells it: X-Original-URL (nginx, by convention), else
// X-Forwarded-Proto, X-Forwarded-Host and X-Forwarded-Uri (Traefik, Caddy).
// From any other peer these headers are the client's own words, and a
// return address taken from them would be the client's choice: "".
func (h *Handler) originalURL(r *http.Request) string {
	if !clientip.PeerTrusted(r.RemoteAddr, h.trustedProxies) {
		return ""
	}
	if u := r.Header.Get("X-Original-Url"); u != "" {
		return u
	}
	proto, host, uri := firstHop(r.Header.Get("X-Forwarded-Proto")), firstHop(r.Header.Get("X-Forwarded-Host")), r.Header.Get("X-Forwarded-Uri")
	if proto == "" || host == "" || !strings.HasPrefix(uri, "/") {
		return ""
	}
	return proto + "://" + host + uri
}

// firstHop is the first entry of a comma-separated X-Forwarded-* header:
// the one the outermost proxy wrote about the browser's request.
func firstHop(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}
