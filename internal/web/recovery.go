package web

import (
	"net/http"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/web/page"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// recoveryCodesJSON is POST /api/recovery-codes's answer.
type recoveryCodesJSON struct {
	Codes []string `json:"codes"`
}

// recoverySigninBody is POST /api/signin/recovery-code.
type recoverySigninBody struct {
	Email string `json:"email"`
	Code  string `json:"code"`
}

// createRecoveryCodes is POST /api/recovery-codes: a new set of codes,
// shown once; the old set stops working. Needs a recent sign-in.
func (s *Server) createRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	if err := request.DecodeJSON(w, r, &struct{}{}); err != nil {
		return err
	}
	codes, err := s.recovery.Generate(r.Context(), sw, s.visitors.Client(r))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusCreated, recoveryCodesJSON{Codes: codes})
	return nil
}

// signinRecoveryCode is POST /api/signin/recovery-code. Whoever needs a
// recovery code has usually lost their passkey: the rollout's nudge (after
// a recovery-code sign-in too) asks for a new one.
func (s *Server) signinRecoveryCode(w http.ResponseWriter, r *http.Request) error {
	var body recoverySigninBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	res, err := s.recovery.Signin(r.Context(), body.Email, body.Code, s.visitors.Client(r))
	s.metrics.CountSignin(account.MethodRecoveryCode, err)
	if err != nil {
		return err
	}
	to := s.visitors.SetSession(w, r, res)
	out := s.rolloutPages.SigninAnswer(r, res, false)
	out.ReturnTo = to
	respond.JSON(w, http.StatusOK, out)
	return nil
}

// recoveryCodesForm is POST /account/recovery-codes, the account page's
// form: the page shows the new codes once.
func (s *Server) recoveryCodesForm(w http.ResponseWriter, r *http.Request) error {
	return s.accountForm(w, r, "recovery", func(sw *account.SessionWithUser, d *page.Data) error {
		codes, err := s.recovery.Generate(r.Context(), sw, s.visitors.Client(r))
		if err != nil {
			return err
		}
		d.RecoveryCodes = codes
		d.Notice = s.msg.T("recovery.generated_notice")
		return nil
	})
}

// recoverySigninForm is POST /signin/recovery-code, /signin's "Use a
// recovery code": it signs in as the API does (throttled, the code used
// up, the member told) and goes on to /account, which then asks for a
// passkey and a new set of codes. A refusal shows atop /signin with the
// form open.
func (s *Server) recoverySigninForm(w http.ResponseWriter, r *http.Request) error {
	d := page.Data{Title: s.msg.T("signin.title"), Section: "recovery"}
	refused := func(err error) error {
		return respond.ShownOn(err, func(w http.ResponseWriter, r *http.Request, status int, _, message string) {
			d.FormError = message
			s.respond.Render(w, r, status, "signin", d)
		})
	}
	if err := request.ParseForm(w, r); err != nil {
		return refused(err)
	}
	d.Email = r.PostFormValue("email")
	res, err := s.recovery.Signin(r.Context(), d.Email, r.PostFormValue("code"), s.visitors.Client(r))
	s.metrics.CountSignin(account.MethodRecoveryCode, err)
	if err != nil {
		return refused(err)
	}
	s.visitors.SetSession(w, r, res)
	http.Redirect(w, r, "/account#passkeys", http.StatusSeeOther)
	return nil
}
