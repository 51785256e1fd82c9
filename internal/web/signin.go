package web

import (
	"net/http"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/web/page"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/respond"
	"github.com/keyshift/keyshift/internal/web/visitor"
)

// signinPassword is POST /api/signin/password.
func (s *Server) signinPassword(w http.ResponseWriter, r *http.Request) error {
	var body credentialsBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	res, err := s.passwords.SigninPassword(r.Context(), body.Email, body.Password, s.visitors.Client(r))
	s.metrics.CountSignin(account.MethodPassword, err)
	if err != nil {
		return err
	}
	to := s.visitors.SetSession(w, r, res)
	out := s.rolloutPages.SigninAnswer(r, res, false)
	out.ReturnTo = to
	respond.JSON(w, http.StatusOK, out)
	return nil
}

// home is GET /: the account page for a member, else the sign-in page.
func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.visitors.Authenticate(r); err == nil {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

// signinPage is GET /signin[?return_to=URL] (visitor.Cookies.SigninReturn).
func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) error {
	if to := s.visitors.SigninReturn(w, r); to != "" {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
	s.respond.Render(w, r, http.StatusOK, "signin", page.Data{Title: s.msg.T("signin.title"), Remembered: s.visitors.ReadRemember(r)})
	return nil
}

// signinForm is POST /signin: a password sign-in without JavaScript.
func (s *Server) signinForm(w http.ResponseWriter, r *http.Request) error {
	d := page.Data{Title: s.msg.T("signin.title")}
	if err := request.ParseForm(w, r); err != nil {
		return s.respond.RefusedOn(err, "signin", d)
	}
	d.Email = r.PostFormValue("email")
	d.Remembered = s.rememberedAs(r, d.Email)
	res, err := s.passwords.SigninPassword(r.Context(), d.Email, r.PostFormValue("password"), s.visitors.Client(r))
	s.metrics.CountSignin(account.MethodPassword, err)
	if err != nil {
		return s.respond.RefusedOn(err, "signin", d)
	}
	http.Redirect(w, r, s.rolloutPages.AfterPageSignin(r, res, false, visitor.OrAccount(s.visitors.SetSession(w, r, res))), http.StatusSeeOther)
	return nil
}

// forgetForm is POST /signin/forget, "Not you?": the browser forgets who
// signed in on it last, and /signin is the usual page again.
func (s *Server) forgetForm(w http.ResponseWriter, r *http.Request) error {
	s.visitors.ForgetRemember(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

// rememberedAs returns the remembered member when email is their address,
// so that a refused sign-in keeps greeting them; else nil.
func (s *Server) rememberedAs(r *http.Request, email string) *page.Remembered {
	m := s.visitors.ReadRemember(r)
	if m == nil {
		return nil
	}
	_, typed, err := account.NormalizeEmail(email)
	_, known, _ := account.NormalizeEmail(m.Email)
	if err != nil || typed != known {
		return nil
	}
	return m
}
