package web

import (
	"net/http"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/web/page"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/respond"
	"github.com/keyshift/keyshift/internal/web/visitor"
)

type credentialsBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// signup is POST /api/signup.
func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	var body credentialsBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	res, err := s.passwords.Signup(r.Context(), body.Email, body.Password, s.visitors.Client(r))
	if err != nil {
		return err
	}
	to := s.visitors.SetSession(w, r, res)
	out := s.rolloutPages.SigninAnswer(r, res, true)
	out.ReturnTo = to
	respond.JSON(w, http.StatusCreated, out)
	return nil
}

// signupPage is GET /signup.
func (s *Server) signupPage(w http.ResponseWriter, r *http.Request) error {
	s.respond.Render(w, r, http.StatusOK, "signup", page.Data{Title: s.msg.T("signup.title"), SignupWays: s.signupWays(r)})
	return nil
}

// signupWays is what /signup offers: the passkey first when the policy
// allows passkey sign-ups and the rollout may offer them to anyone (it
// decides per address once one is typed), or when the policy allows no
// password (then an email-only account is the way); the password where
// the policy allows it.
func (s *Server) signupWays(r *http.Request) *page.SignupWays {
	ways := &page.SignupWays{Password: s.cfg.Signup.SignupAllows(config.SignupPassword)}
	if s.cfg.Signup.SignupAllows(config.SignupPasskey) {
		st, err := s.rollout.Current(r.Context())
		ways.PasskeyFirst = !ways.Password || err == nil && st.Phase >= rollout.Dogfood
	}
	return ways
}

// signupPasskeyForm is POST /signup/passkey: the address of a passkey-first
// sign-up. When the rollout offers this visitor a passkey, or the policy
// allows no password, keyshift mails a code (email sign-in's start, with
// its quiet period and budgets) and shows the code form; the code makes
// the account, verified, and the nudge's page asks for the passkey at
// once. A visitor the rollout does not offer passkeys to, where passwords
// are allowed, is asked for a password instead.
func (s *Server) signupPasskeyForm(w http.ResponseWriter, r *http.Request) error {
	d := page.Data{Title: s.msg.T("signup.title"), SignupWays: s.signupWays(r)}
	if !s.cfg.Signup.Open {
		return s.respond.RefusedOn(&account.Error{Code: account.ESignupClosed, Detail: "sign-up is closed"}, "signup", d)
	}
	if err := request.ParseForm(w, r); err != nil {
		return s.respond.RefusedOn(err, "signup", d)
	}
	d.Email = r.PostFormValue("email")
	_, key, err := account.NormalizeEmail(d.Email)
	if err != nil {
		return s.respond.RefusedOn(err, "signup", d)
	}
	o, err := s.rollout.ForVisitor(r.Context(), key)
	if err != nil {
		return err
	}
	if !o.PasskeySignup && d.SignupWays.Password {
		d.SignupWays.PasswordOpen, d.FormError = true, s.msg.T("signup.choose_password")
		s.respond.Render(w, r, http.StatusOK, "signup", d)
		return nil
	}
	id, err := s.signin.Start(r.Context(), d.Email, s.visitors.Client(r))
	if err != nil {
		return s.respond.RefusedOn(err, "signup", d)
	}
	d.Title, d.FlowID, d.Signup = s.msg.T("email.sent_title"), id, true
	s.respond.RenderEmail(w, r, http.StatusOK, "email_sent", d)
	return nil
}

// signupForm is POST /signup: sign-up without JavaScript.
func (s *Server) signupForm(w http.ResponseWriter, r *http.Request) error {
	d := page.Data{Title: s.msg.T("signup.title"), SignupWays: s.signupWays(r)}
	d.SignupWays.PasswordOpen = true
	if err := request.ParseForm(w, r); err != nil {
		return s.respond.RefusedOn(err, "signup", d)
	}
	d.Email = r.PostFormValue("email")
	res, err := s.passwords.Signup(r.Context(), d.Email, r.PostFormValue("password"), s.visitors.Client(r))
	if err != nil {
		return s.respond.RefusedOn(err, "signup", d)
	}
	http.Redirect(w, r, s.rolloutPages.AfterPageSignin(r, res, true, visitor.OrAccount(s.visitors.SetSession(w, r, res))), http.StatusSeeOther)
	return nil
}
