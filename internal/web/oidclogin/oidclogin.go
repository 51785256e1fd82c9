// Package oidclogin is the page between an app's authorization request
// and keyshift's sign-in (GET /oidc/login?id=): the OpenID Provider's
// login step, answered by the browser's keyshift session. Signing in
// itself is keyshift's own /signin, so passkeys, the nudge and the rollout
// apply to every app.
package oidclogin

import (
	"context"
	"net/http"
	"net/url"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/oidcprovider"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/visitor"
)

// Handler serves the login step and the end of a session.
type Handler struct {
	provider *oidcprovider.Provider
	visitors *visitor.Cookies
	sessions Signouter
}

// Signouter ends a keyshift session.
type Signouter interface {
	Signout(ctx context.Context, s *account.Session, c account.Client) error
}

// New returns the login step of provider.
func New(provider *oidcprovider.Provider, visitors *visitor.Cookies, sessions Signouter) *Handler {
	return &Handler{provider: provider, visitors: visitors, sessions: sessions}
}

// EndSession serves the provider's end_session endpoint (RP-initiated
// logout) with the means to sign this browser out of keyshift, which the
// provider uses when the app's id_token_hint names the browser's member.
func (h *Handler) EndSession(w http.ResponseWriter, r *http.Request) {
	ctx := oidcprovider.WithSignOut(r.Context(), func(ctx context.Context, userID string) error {
		sw, err := h.visitors.Authenticate(r)
		if err != nil || sw.User.ID != userID {
			return nil
		}
		if err := h.sessions.Signout(ctx, &sw.Session, h.visitors.Client(r)); err != nil {
			return err
		}
		h.visitors.ClearSession(w)
		return nil
	})
	h.provider.ServeHTTP(w, r.WithContext(ctx))
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
		m, at := sw.Session.LastProof()
		sess = &oidcprovider.Session{UserID: sw.User.ID, Method: m, FreshAt: at}
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
