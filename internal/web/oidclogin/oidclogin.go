// Package oidclogin is the page between an app's authorization request
// and keyshift's sign-in (GET /oidc/login?id=): the OpenID Provider's
// login step, answered by the browser's keyshift session. Signing in
// itself is keyshift's own /signin, so passkeys, the nudge and the rollout
// apply to every app.
package oidclogin

import (
	"net/http"
	"net/url"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/oidcprovider"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/visitor"
)

// Handler serves the login step.
type Handler struct {
	provider *oidcprovider.Provider
	visitors *visitor.Cookies
}

// New returns the login step of provider.
func New(provider *oidcprovider.Provider, visitors *visitor.Cookies) *Handler {
	return &Handler{provider: provider, visitors: visitors}
}

// Login is GET /oidc/login?id=: a live session answers the request and the
// browser goes on to the provider's callback, which sends it back to the
// app with a code; without one (or with one older than prompt=login or
// max_age allow) the browser signs in first and returns here.
func (h *Handler) Login(w http.ResponseWriter, r *http.Request) error {
	id := r.URL.Query().Get("id")
	if id == "" || len(id) > 64 {
		return request.BadRequest("id names the app's sign-in request")
	}
	var sess *oidcprovider.Session
	sw, err := h.visitors.Authenticate(r)
	switch {
	case err == nil:
		sess = &oidcprovider.Session{UserID: sw.User.ID, Method: sw.Session.AuthMethod, FreshAt: sw.Session.FreshAt()}
	case !account.IsCode(err, account.EUnauthenticated):
		return err
	}
	next, err := h.provider.Login(r.Context(), id, sess)
	if err != nil {
		return err
	}
	to := next.Redirect
	if next.SignIn {
		to = "/signin?return_to=" + url.QueryEscape(oidcprovider.PathLogin+"?id="+url.QueryEscape(id))
		if sess != nil {
			to += "&prompt=login" // signed in, but not recently enough for this app
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// LoggedOut is GET /oidc/logged-out, where RP-initiated logout ends when the
// app named no address to return to.
func LoggedOut(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}
