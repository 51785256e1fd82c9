package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/keyshift/keyshift/internal/account"
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

// emailStart is POST /api/email/start: 202 with the flow id, the same
// answer whether or not the address has an account.
func (s *Server) emailStart(w http.ResponseWriter, r *http.Request) error {
	var body emailStartBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	id, err := s.signin.Start(r.Context(), body.Email, s.visitors.Client(r))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusAccepted, struct {
		FlowID string `json:"flowId"`
	}{id})
	return nil
}

// emailFinish is POST /api/email/finish: the sign-in answer, or 401
// invalid_code for anything wrong.
func (s *Server) emailFinish(w http.ResponseWriter, r *http.Request) error {
	var body emailFinishBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	res, err := s.finishEmail(r, body)
	if err != nil {
		return err
	}
	to := s.visitors.SetSession(w, r, res)
	out := apijson.NewSignin(res.User, s.emailNudged(r, res))
	out.Created = res.Created
	out.ReturnTo = to
	out.Cleared = res.Removed.Cleared()
	respond.JSON(w, http.StatusOK, out)
	return nil
}

// emailNudged reports whether the rollout nudges the session of the email
// sign-in res: as after any sign-in, or — when the sign-in made the
// account, a sign-up by email — as right after a sign-up too.
func (s *Server) emailNudged(r *http.Request, res *account.SigninResult) bool {
	return s.rolloutPages.Nudged(r, res, false) || res.Created && s.rolloutPages.Nudged(r, res, true)
}

// afterEmailPage is where a page's email sign-in goes: the nudge's page
// when the rollout nudges (emailNudged), then afterEmailSignin.
func (s *Server) afterEmailPage(r *http.Request, res *account.SigninResult, returnTo string) string {
	to := afterEmailSignin(res, returnTo)
	if !s.emailNudged(r, res) {
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
func (s *Server) finishEmail(r *http.Request, body emailFinishBody) (*account.SigninResult, error) {
	var (
		res *account.SigninResult
		err error
		m   account.AuthMethod
	)
	switch {
	case body.Token != "" && body.FlowID == "" && body.Code == "":
		m = account.MethodEmailLink
		res, err = s.signin.FinishLink(r.Context(), body.Token, s.visitors.Client(r))
	case body.Token == "" && body.FlowID != "" && body.Code != "":
		m = account.MethodEmailCode
		res, err = s.signin.FinishCode(r.Context(), body.FlowID, body.Code, s.visitors.Client(r))
	default:
		return nil, request.BadRequest(`send {"token"} or {"flowId","code"}`)
	}
	s.countSignin(m, err)
	return res, err
}

// emailStartForm is POST /signin/email: "Email me a sign-in link" without
// JavaScript. It answers with the "check your email" page and its code form.
func (s *Server) emailStartForm(w http.ResponseWriter, r *http.Request) error {
	d := page.Data{Title: s.msg.T("signin.title")}
	if err := request.ParseForm(w, r); err != nil {
		return s.respond.RefusedOnEmailPage(err, "signin", d)
	}
	d.Email = r.PostFormValue("email")
	id, err := s.signin.Start(r.Context(), d.Email, s.visitors.Client(r))
	if err != nil {
		return s.respond.RefusedOnEmailPage(err, "signin", d)
	}
	d.Title, d.FlowID = s.msg.T("email.sent_title"), id
	s.respond.RenderEmail(w, r, http.StatusOK, "email_sent", d)
	return nil
}

// emailCodeForm is POST /email/code: the code typed on the "check your
// email" page.
func (s *Server) emailCodeForm(w http.ResponseWriter, r *http.Request) error {
	d := page.Data{Title: s.msg.T("email.sent_title")}
	if err := request.ParseForm(w, r); err != nil {
		return s.respond.RefusedOnEmailPage(err, "email_sent", d)
	}
	d.FlowID, d.Email, d.Signup = r.PostFormValue("flowId"), r.PostFormValue("email"), r.PostFormValue("signup") == "1"
	res, err := s.finishEmail(r, emailFinishBody{FlowID: d.FlowID, Code: r.PostFormValue("code")})
	if err != nil {
		return s.respond.RefusedOnEmailPage(err, "email_sent", d)
	}
	to := s.visitors.SetSession(w, r, res)
	if d.Signup && res.Created {
		// A passkey-first sign-up: the account exists, verified; the
		// passkey comes next, asked for at once. Cancelled, or in a
		// browser without passkeys, it stays an email-only account.
		http.Redirect(w, r, rolloutpages.WelcomePath+"?signup=1", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, s.afterEmailPage(r, res, to), http.StatusSeeOther)
	return nil
}

// emailVerifyPage is GET /email/verify?token=…: the link's landing page. It
// does not sign in — mail scanners follow links — but says which account
// the link opens ("Continue as a…@example.com") and shows a Continue
// button that posts the token. When another member is signed in on this
// browser it says so: continuing ends that session, which a link someone
// else sent must not do unnoticed (login CSRF).
func (s *Server) emailVerifyPage(w http.ResponseWriter, r *http.Request) error {
	d := page.Data{Title: s.msg.T("email.verify_title"), Token: r.URL.Query().Get("token")}
	if err := s.linkTarget(r, &d); err != nil {
		return s.respond.RefusedOnEmailPage(err, "email_verify", d)
	}
	s.respond.RenderEmail(w, r, http.StatusOK, "email_verify", d)
	return nil
}

// linkTarget fills in whom the link in d signs in, and whom it would sign
// out.
func (s *Server) linkTarget(r *http.Request, d *page.Data) error {
	target, err := s.signin.LinkAddress(r.Context(), d.Token)
	if err != nil {
		return err
	}
	d.Target = account.MaskEmail(target)
	if sw, err := s.visitors.Authenticate(r); err == nil {
		_, key, kerr := account.NormalizeEmail(target)
		if kerr != nil || key != sw.User.EmailKey {
			d.SignedInAs = account.MaskEmail(sw.User.Email)
		}
	}
	return nil
}

// emailVerifyForm is POST /email/verify: the Continue button. It signs in
// and goes to the account page. While another member is signed in on this
// browser, it signs in only when the form confirms the switch ("switch"):
// otherwise it shows the question again and uses nothing up.
func (s *Server) emailVerifyForm(w http.ResponseWriter, r *http.Request) error {
	d := page.Data{Title: s.msg.T("email.verify_title")}
	if err := request.ParseForm(w, r); err != nil {
		return s.respond.RefusedOnEmailPage(err, "email_verify", d)
	}
	d.Token = r.PostFormValue("token")
	if r.PostFormValue("switch") != "1" {
		if err := s.linkTarget(r, &d); err != nil {
			return s.respond.RefusedOnEmailPage(err, "email_verify", d)
		}
		if d.SignedInAs != "" {
			s.respond.RenderEmail(w, r, http.StatusConflict, "email_verify", d)
			return nil
		}
	}
	res, err := s.finishEmail(r, emailFinishBody{Token: d.Token})
	if err != nil {
		d.Token = ""
		return s.respond.RefusedOnEmailPage(err, "email_verify", d)
	}
	http.Redirect(w, r, s.afterEmailPage(r, res, s.visitors.SetSession(w, r, res)), http.StatusSeeOther)
	return nil
}
