package email

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/signin"
	"github.com/keyshift/keyshift/internal/web/apijson"
	"github.com/keyshift/keyshift/internal/web/page"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/respond"
	"github.com/keyshift/keyshift/internal/web/rolloutpages"
	"github.com/keyshift/keyshift/internal/web/visitor"
)

// emailStartBody is POST /api/email/start.
type emailStartBody struct {
	Email string `json:"email"`
}

// emailFinishBody is POST /api/email/finish: a token, or a flow id and code.
type emailFinishBody struct {
	Token  string `json:"token"`
	FlowID string `json:"flowId"`
	Code   string `json:"code"`
}

// Start is POST /api/email/start: 202 with the flow id, the same
// answer whether or not the address has an account.
func (h *Handlers) Start(w http.ResponseWriter, r *http.Request) error {
	var body emailStartBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	id, err := h.signin.Start(r.Context(), body.Email, h.visitors.Client(r))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusAccepted, struct {
		FlowID string `json:"flowId"`
	}{id})
	return nil
}

// Finish is POST /api/email/finish: the sign-in answer, or 401
// invalid_code for anything wrong.
func (h *Handlers) Finish(w http.ResponseWriter, r *http.Request) error {
	var body emailFinishBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	res, err := h.finishEmail(r, body)
	if err != nil {
		return err
	}
	to := h.visitors.SetSession(w, r, res)
	out := apijson.NewSignin(res.User, h.nudged(r, res))
	out.Created = res.Created
	out.ReturnTo = to
	out.Cleared = res.Removed.Cleared()
	respond.JSON(w, http.StatusOK, out)
	return nil
}

// nudged reports whether the rollout nudges the session of the email
// sign-in res: as after any sign-in, or — when the sign-in made the
// account, a sign-up by email — as right after a sign-up too.
func (h *Handlers) nudged(r *http.Request, res *account.SigninResult) bool {
	return h.nudges.Nudged(r, res, false) || res.Created && h.nudges.Nudged(r, res, true)
}

// afterEmailPage is where a page's email sign-in goes: the nudge's page
// when the rollout nudges (nudged), then afterEmailSignin.
func (h *Handlers) afterEmailPage(r *http.Request, res *account.SigninResult, returnTo string) string {
	to := afterEmailSignin(res, returnTo)
	if !h.nudged(r, res) {
		return to
	}
	return rolloutpages.WelcomeThen(to)
}

// afterEmailSignin is where a page's email sign-in goes: the return
// address to, else the account page. A first proof of the mailbox that
// removed credentials goes to the account page whatever to says: it says
// what was removed (?cleared=…) and offers a passkey first, and a member
// whose password was just taken away must read that before anything else.
func afterEmailSignin(res *account.SigninResult, to string) string {
	if cleared := res.Removed.Cleared(); cleared != nil {
		return "/account?cleared=" + url.QueryEscape(strings.Join(cleared, ","))
	}
	return visitor.OrAccount(to)
}

// finishEmail redeems a token, or a flow id and code, and counts the
// attempt.
func (h *Handlers) finishEmail(r *http.Request, body emailFinishBody) (*account.SigninResult, error) {
	var (
		res *account.SigninResult
		err error
		m   account.AuthMethod
	)
	switch {
	case body.Token != "" && body.FlowID == "" && body.Code == "":
		m = account.MethodEmailLink
		res, err = h.signin.FinishLink(r.Context(), body.Token, h.visitors.Client(r))
	case body.Token == "" && body.FlowID != "" && body.Code != "":
		m = account.MethodEmailCode
		res, err = h.signin.FinishCode(r.Context(), body.FlowID, body.Code, h.visitors.Client(r))
	default:
		return nil, request.BadRequest(`send {"token"} or {"flowId","code"}`)
	}
	h.metrics.CountSignin(m, err)
	return res, err
}

// StartForm is POST /signin/email: "Email me a sign-in link" without
// JavaScript. It answers with the "check your email" page and its code form.
func (h *Handlers) StartForm(w http.ResponseWriter, r *http.Request) error {
	d := page.Data{Title: h.msg.T("signin.title")}
	if err := request.ParseForm(w, r); err != nil {
		return h.respond.RefusedOnEmailPage(err, "signin", d)
	}
	d.Email = r.PostFormValue("email")
	id, err := h.signin.Start(r.Context(), d.Email, h.visitors.Client(r))
	if err != nil {
		return h.respond.RefusedOnEmailPage(err, "signin", d)
	}
	d.Title, d.FlowID = h.msg.T("email.sent_title"), id
	h.respond.RenderEmail(w, r, http.StatusOK, "email_sent", d)
	return nil
}

// CodeForm is POST /email/code: the code typed on the "check your
// email" page.
func (h *Handlers) CodeForm(w http.ResponseWriter, r *http.Request) error {
	d := page.Data{Title: h.msg.T("email.sent_title")}
	if err := request.ParseForm(w, r); err != nil {
		return h.respond.RefusedOnEmailPage(err, "email_sent", d)
	}
	d.FlowID, d.Email, d.Signup = r.PostFormValue("flowId"), r.PostFormValue("email"), r.PostFormValue("signup") == "1"
	res, err := h.finishEmail(r, emailFinishBody{FlowID: d.FlowID, Code: r.PostFormValue("code")})
	if h.passkeyRequired(w, r, err, d.Email) {
		return nil
	}
	if err != nil {
		return h.respond.RefusedOnEmailPage(err, "email_sent", d)
	}
	to := h.visitors.SetSession(w, r, res)
	if d.Signup && res.Created {
		// A passkey-first sign-up: the account exists, verified; the
		// passkey comes next, asked for at once. Cancelled, or in a
		// browser without passkeys, it stays an email-only account.
		http.Redirect(w, r, rolloutpages.WelcomePath+"?signup=1", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, h.afterEmailPage(r, res, to), http.StatusSeeOther)
	return nil
}

// VerifyPage is GET /email/verify?token=…: the link's landing page. It
// does not sign in — mail scanners follow links — but says which account
// the link opens ("Continue as a…@example.com") and shows a Continue
// button that posts the token. When another member is signed in on this
// browser it says so: continuing ends that session, which a link someone
// else sent must not do unnoticed (login CSRF).
func (h *Handlers) VerifyPage(w http.ResponseWriter, r *http.Request) error {
	d := page.Data{Title: h.msg.T("email.verify_title"), Token: r.URL.Query().Get("token")}
	if err := h.linkTarget(r, &d); err != nil {
		return h.respond.RefusedOnEmailPage(err, "email_verify", d)
	}
	h.respond.RenderEmail(w, r, http.StatusOK, "email_verify", d)
	return nil
}

// linkTarget fills in whom the link in d signs in, and whom it would sign
// out.
func (h *Handlers) linkTarget(r *http.Request, d *page.Data) error {
	target, err := h.signin.LinkAddress(r.Context(), d.Token)
	if err != nil {
		return err
	}
	d.Target = account.MaskEmail(target)
	if sw, err := h.visitors.Authenticate(r); err == nil {
		_, key, kerr := account.NormalizeEmail(target)
		if kerr != nil || key != sw.User.EmailKey {
			d.SignedInAs = account.MaskEmail(sw.User.Email)
		}
	}
	return nil
}

// VerifyForm is POST /email/verify: the Continue button. It signs in
// and goes to the account page. While another member is signed in on this
// browser, it signs in only when the form confirms the switch ("switch"):
// otherwise it shows the question again and uses nothing up.
func (h *Handlers) VerifyForm(w http.ResponseWriter, r *http.Request) error {
	d := page.Data{Title: h.msg.T("email.verify_title")}
	if err := request.ParseForm(w, r); err != nil {
		return h.respond.RefusedOnEmailPage(err, "email_verify", d)
	}
	d.Token = r.PostFormValue("token")
	if r.PostFormValue("switch") != "1" {
		if err := h.linkTarget(r, &d); err != nil {
			return h.respond.RefusedOnEmailPage(err, "email_verify", d)
		}
		if d.SignedInAs != "" {
			h.respond.RenderEmail(w, r, http.StatusConflict, "email_verify", d)
			return nil
		}
	}
	res, err := h.finishEmail(r, emailFinishBody{Token: d.Token})
	if h.passkeyRequired(w, r, err, "") {
		return nil
	}
	if err != nil {
		d.Token = ""
		return h.respond.RefusedOnEmailPage(err, "email_verify", d)
	}
	http.Redirect(w, r, h.afterEmailPage(r, res, h.visitors.SetSession(w, r, res)), http.StatusSeeOther)
	return nil
}

// passkeyRequired shows, for an email sign-in that
// email_signin.passkey_accounts require_passkey answered with
// EPasskeyRequired, the page that asks for one of the member's passkeys
// on this device — or, without one here, leads to the recovery paths (a
// recovery code, support) — and reports whether it did.
func (h *Handlers) passkeyRequired(w http.ResponseWriter, r *http.Request, err error, email string) bool {
	e, ok := err.(*account.Error)
	if !ok || e.Code != account.EPasskeyRequired || e.Reason != signin.ReasonPasskeyRequired {
		return false
	}
	h.respond.RenderEmail(w, r, http.StatusOK, "email_passkey_required", page.Data{Title: h.msg.T("email.passkey_required_title"), Email: email})
	return true
}
