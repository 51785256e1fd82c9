package web

import (
	"net/http"

	"github.com/keyshift/keyshift/internal/web/apijson"
	"github.com/keyshift/keyshift/internal/web/page"
)

type credentialsBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// signup is POST /api/signup.
func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	var body credentialsBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	res, err := s.passwords.Signup(r.Context(), body.Email, body.Password, s.client(r))
	if err != nil {
		return err
	}
	to := s.setSession(w, r, res)
	writeJSON(w, http.StatusCreated, apijson.Signin{User: apijson.NewUser(res.User), ReturnTo: to})
	return nil
}

// signupPage is GET /signup.
func (s *Server) signupPage(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "signup", page.Data{Title: s.msg.T("signup.title")})
	return nil
}

// signupForm is POST /signup: sign-up without JavaScript.
func (s *Server) signupForm(w http.ResponseWriter, r *http.Request) error {
	d := page.Data{Title: s.msg.T("signup.title")}
	if err := parseForm(w, r); err != nil {
		return s.refusedOn(err, "signup", d)
	}
	d.Email = r.PostFormValue("email")
	res, err := s.passwords.Signup(r.Context(), d.Email, r.PostFormValue("password"), s.client(r))
	if err != nil {
		return s.refusedOn(err, "signup", d)
	}
	http.Redirect(w, r, orAccount(s.setSession(w, r, res)), http.StatusSeeOther)
	return nil
}
