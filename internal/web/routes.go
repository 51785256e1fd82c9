package web

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/admintoken"
	"github.com/keyshift/keyshift/internal/oidcprovider"
	"github.com/keyshift/keyshift/internal/web/oidclogin"
	"github.com/keyshift/keyshift/internal/web/page"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// routes is every route keyshift serves, in one place.
func (s *Server) routes(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	api := func(pattern string, h respond.Func) {
		mux.Handle(pattern, s.respond.API(h))
	}

	// JSON API (API.md).
	api("POST /api/signup", s.signup)
	api("POST /api/signin/password", s.signinPassword)
	api("GET /api/session", s.getSession)
	api("GET /api/verify", s.forward.Verify)
	api("DELETE /api/session", s.deleteSession)
	api("GET /api/sessions", s.listSessions)
	api("DELETE /api/sessions", s.revokeAllSessions)
	api("DELETE /api/sessions/{id}", s.revokeSession)
	api("POST /api/passkeys/register/begin", s.passkeyRegisterBegin)
	api("POST /api/passkeys/register/finish", s.passkeyRegisterFinish)
	api("POST /api/passkeys/upgrade/begin", s.passkeyUpgradeBegin)
	api("POST /api/passkeys/register/error", s.passkeyRegisterError)
	api("POST /api/passkeys/login/begin", s.passkeyLoginBegin)
	api("POST /api/passkeys/login/finish", s.passkeyLoginFinish)
	api("GET /api/passkeys", s.listPasskeys)
	api("PATCH /api/passkeys/{id}", s.renamePasskey)
	api("DELETE /api/passkeys/{id}", s.deletePasskey)
	api("POST /api/passkeys/{id}/wasnt-me", s.disownPasskey)
	api("POST /api/passkeys/wasnt-me", s.disownPasskeyLink)
	api("POST /api/email/start", s.email.Start)
	api("POST /api/email/finish", s.email.Finish)
	api("POST /api/email/confirm", s.email.Confirm)
	api("POST /api/email/disown", s.email.Disown)
	api("POST /api/account/email/verification", s.email.ResendVerification)
	api("POST /api/account/email", s.email.ChangeStart)
	api("POST /api/account/email/confirm", s.email.ChangeConfirm)
	api("POST /api/account/email/revert", s.email.ChangeRevert)
	api("POST /api/account/email/cancel", s.email.ChangeCancel)
	api("POST /api/support/cancel", s.cancelSupportLink)
	api("POST /api/support/recover", s.recoverSupport)
	api("POST /api/account/support-recovery/cancel", s.cancelSupportSession)
	api("POST /api/account/password", s.changePassword)
	api("DELETE /api/account/password", s.removePassword)
	api("GET /api/account/export", s.exportAccount)
	api("POST /api/reauth/begin", s.reauthBegin)
	api("POST /api/reauth/finish", s.reauthFinish)
	api("POST /api/recovery-codes", s.createRecoveryCodes)
	api("POST /api/signin/recovery-code", s.signinRecoveryCode)
	api("POST /api/nudge", s.rolloutPages.AnswerNudge)
	api("GET /api/account/preferences", s.rolloutPages.GetPreferences)
	api("PUT /api/account/preferences", s.rolloutPages.PutPreferences)
	api("GET /api/admin/rollout", s.admin.Scoped(admintoken.ScopeRollout, s.admin.GetRollout))
	api("PUT /api/admin/rollout", s.admin.Scoped(admintoken.ScopeRollout, s.admin.PutRollout))
	api("GET /api/admin/metrics", s.admin.Scoped(admintoken.ScopeMetrics, s.admin.GetMetrics))
	mux.Handle("/api/", s.respond.API(s.apiFallback(mux)))

	// Pages: they work without JavaScript, as plain form posts.
	html := func(pattern string, h respond.Func) {
		mux.Handle(pattern, s.respond.Form(h))
	}
	html("GET /{$}", s.home)
	html("GET /signup", s.signupPage)
	html("POST /signup", s.signupForm)
	html("POST /signup/passkey", s.signupPasskeyForm)
	html("GET /signin", s.signinPage)
	html("POST /signin", s.signinForm)
	html("POST /signin/forget", s.forgetForm)
	html("POST /signout", s.signoutForm)
	html("POST /signin/email", s.email.StartForm)
	html("POST /email/code", s.email.CodeForm)
	html("GET /email/verify", s.email.VerifyPage)
	html("POST /email/verify", s.email.VerifyForm)
	html("GET /email/confirm", s.email.LandingPage(page.ConfirmLanding))
	html("POST /email/confirm", s.email.LandingForm(page.ConfirmLanding, s.email.ConfirmDone))
	html("GET /email/disown", s.email.LandingPage(page.DisownLanding))
	html("POST /email/disown", s.email.LandingForm(page.DisownLanding, s.email.DisownDone))
	html("POST /account/email/verification", s.email.ResendVerificationForm)
	html("GET /account", s.accountPage)
	html("POST /account/sessions/{id}/revoke", s.revokeSessionForm)
	html("POST /account/sessions/revoke-all", s.revokeAllForm)
	html("POST /account/passkeys/{id}/rename", s.renamePasskeyForm)
	html("POST /account/passkeys/{id}/delete", s.deletePasskeyForm)
	html("POST /account/passkeys/{id}/wasnt-me", s.disownPasskeyForm)
	html("GET /passkeys/wasnt-me", s.email.LandingPage(page.PasskeyDisownLanding))
	html("POST /passkeys/wasnt-me", s.email.LandingForm(page.PasskeyDisownLanding, s.disownPasskeyDone))
	html("POST /account/email", s.email.ChangeForm)
	html("GET /email/change", s.email.LandingPage(page.ChangeLanding))
	html("POST /email/change", s.email.LandingForm(page.ChangeLanding, s.email.ChangeDone))
	html("GET /email/revert", s.email.LandingPage(page.RevertLanding))
	html("POST /email/revert", s.email.LandingForm(page.RevertLanding, s.email.RevertDone))
	html("GET /email/cancel", s.email.LandingPage(page.CancelLanding))
	html("POST /email/cancel", s.email.LandingForm(page.CancelLanding, s.email.CancelDone))
	html("GET /support/cancel", s.email.LandingPage(page.SupportCancelLanding))
	html("POST /support/cancel", s.email.LandingForm(page.SupportCancelLanding, s.supportCancelDone))
	html("GET /support/recover", s.email.LandingPage(page.SupportRecoverLanding))
	html("POST /support/recover", s.email.LandingForm(page.SupportRecoverLanding, s.supportRecoverDone))
	html("POST /account/support-recovery/cancel", s.cancelSupportForm)
	html("POST /account/password", s.changePasswordForm)
	html("POST /account/password/remove", s.removePasswordForm)
	html("POST /account/recovery-codes", s.recoveryCodesForm)
	html("POST /signin/recovery-code", s.recoverySigninForm)
	html("POST /account/preferences", s.rolloutPages.PreferencesForm)
	html("POST /account/nudge", s.rolloutPages.NudgeForm)
	html("GET /welcome/passkey", s.rolloutPages.WelcomePage)
	html("POST /welcome/passkey", s.rolloutPages.WelcomeForm)
	html("GET /admin", s.dashboard.Page)
	html("GET /admin/metrics.csv", s.dashboard.CSV)
	mux.Handle("GET /static/", page.Static())

	// The origins that share the RP's passkeys (related origins).
	mux.Handle("GET "+relatedOriginsPath, s.relatedOrigins())

	// OpenID Provider (docs/integrate.md): the protocol's endpoints are the
	// op package's; the login step is a page of ours.
	if s.oidc != nil {
		mux.Handle("GET /.well-known/openid-configuration", s.oidc)
		mux.Handle(oidcprovider.PathPrefix, s.oidc)
		mux.HandleFunc(oidcprovider.PathEndSession, s.oidcLogin.EndSession)
		html("GET "+oidcprovider.PathLogin, s.oidcLogin.Login)
		html("GET "+oidcprovider.PathLoggedOut, oidclogin.LoggedOut)
	}

	// Operations.
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metricsGate(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))) // admin token or local (host.go)
	mux.HandleFunc("GET /dev/mail", s.devMail)                                                  // 404 unless the dev mailer runs

	mux.HandleFunc("/", s.respond.NotFound)

	return s.observe(s.secure(s.hostCheck(s.crossOrigin(mux))))
}

// apiFallback answers API paths no route matched: 405 with Allow when the
// path exists under another method, else 404 — as JSON, like every API error.
func (s *Server) apiFallback(mux *http.ServeMux) respond.Func {
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
