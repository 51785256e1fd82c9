package web

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/admintoken"
)

// routes is every route keyshift serves, in one place.
func (s *Server) routes(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	api := func(pattern string, h apiFunc) {
		mux.Handle(pattern, s.api(h))
	}

	// JSON API (API.md).
	api("POST /api/signup", s.signup)
	api("POST /api/signin/password", s.signinPassword)
	api("GET /api/session", s.getSession)
	api("DELETE /api/session", s.deleteSession)
	api("GET /api/sessions", s.listSessions)
	api("DELETE /api/sessions", s.revokeAllSessions)
	api("DELETE /api/sessions/{id}", s.revokeSession)
	api("POST /api/passkeys/register/begin", s.passkeyRegisterBegin)
	api("POST /api/passkeys/register/finish", s.passkeyRegisterFinish)
	api("POST /api/passkeys/register/error", s.passkeyRegisterError)
	api("POST /api/passkeys/login/begin", s.passkeyLoginBegin)
	api("POST /api/passkeys/login/finish", s.passkeyLoginFinish)
	api("GET /api/passkeys", s.listPasskeys)
	api("PATCH /api/passkeys/{id}", s.renamePasskey)
	api("DELETE /api/passkeys/{id}", s.deletePasskey)
	api("POST /api/email/start", s.emailStart)
	api("POST /api/email/finish", s.emailFinish)
	api("POST /api/email/confirm", s.emailConfirm)
	api("POST /api/email/disown", s.emailDisown)
	api("POST /api/account/email/verification", s.resendVerification)
	api("POST /api/account/email", s.emailChangeStart)
	api("POST /api/account/email/confirm", s.emailChangeConfirm)
	api("POST /api/account/email/revert", s.emailChangeRevert)
	api("POST /api/account/email/cancel", s.emailChangeCancel)
	api("POST /api/account/password", s.changePassword)
	api("DELETE /api/account/password", s.removePassword)
	api("POST /api/recovery-codes", s.createRecoveryCodes)
	api("POST /api/signin/recovery-code", s.signinRecoveryCode)
	api("GET /api/admin/rollout", s.admin(admintoken.ScopeRollout, s.getRollout))
	api("PUT /api/admin/rollout", s.admin(admintoken.ScopeRollout, s.putRollout))
	mux.Handle("/api/", s.api(s.apiFallback(mux)))

	// Pages: they work without JavaScript, as plain form posts.
	page := func(pattern string, h formFunc) {
		mux.Handle(pattern, s.form(h))
	}
	page("GET /{$}", s.home)
	page("GET /signup", s.signupPage)
	page("POST /signup", s.signupForm)
	page("GET /signin", s.signinPage)
	page("POST /signin", s.signinForm)
	page("POST /signin/forget", s.forgetForm)
	page("POST /signout", s.signoutForm)
	page("POST /signin/email", s.emailStartForm)
	page("POST /email/code", s.emailCodeForm)
	page("GET /email/verify", s.emailVerifyPage)
	page("POST /email/verify", s.emailVerifyForm)
	page("GET /email/confirm", s.landingPage(confirmLanding))
	page("POST /email/confirm", s.landingForm(confirmLanding, s.emailConfirmDone))
	page("GET /email/disown", s.landingPage(disownLanding))
	page("POST /email/disown", s.landingForm(disownLanding, s.emailDisownDone))
	page("POST /account/email/verification", s.resendVerificationForm)
	page("GET /account", s.accountPage)
	page("POST /account/sessions/{id}/revoke", s.revokeSessionForm)
	page("POST /account/sessions/revoke-all", s.revokeAllForm)
	page("POST /account/passkeys/{id}/rename", s.renamePasskeyForm)
	page("POST /account/passkeys/{id}/delete", s.deletePasskeyForm)
	page("POST /account/email", s.emailChangeForm)
	page("GET /email/change", s.landingPage(changeLanding))
	page("POST /email/change", s.landingForm(changeLanding, s.emailChangeDone))
	page("GET /email/revert", s.landingPage(revertLanding))
	page("POST /email/revert", s.landingForm(revertLanding, s.emailRevertDone))
	page("GET /email/cancel", s.landingPage(cancelLanding))
	page("POST /email/cancel", s.landingForm(cancelLanding, s.emailCancelDone))
	page("POST /account/password", s.changePasswordForm)
	page("POST /account/password/remove", s.removePasswordForm)
	page("POST /account/recovery-codes", s.recoveryCodesForm)
	mux.Handle("GET /static/", staticHandler())

	// Operations.
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metricsGate(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))) // admin token or local (host.go)
	mux.HandleFunc("GET /dev/mail", s.devMail)                                                  // 404 unless the dev mailer runs

	mux.HandleFunc("/", s.notFoundPage)

	return s.observe(s.secure(s.hostCheck(s.crossOrigin(mux))))
}

// apiFallback answers API paths no route matched: 405 with Allow when the
// path exists under another method, else 404 — as JSON, like every API error.
func (s *Server) apiFallback(mux *http.ServeMux) apiFunc {
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	return func(w http.ResponseWriter, r *http.Request) error {
		var allowed []string
		for _, m := range methods {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/api/" {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			return &account.Error{Code: account.EMethodNotAllowed, Detail: r.Method + " is not allowed here"}
		}
		return &account.Error{Code: account.ENotFound, Detail: "no such endpoint"}
	}
}
