package web

import (
	"net/http"

	"github.com/keyshift/keyshift/internal/web/apijson"
	"github.com/keyshift/keyshift/internal/web/page"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// emailConfirmBody is POST /api/email/confirm.
type emailConfirmBody struct {
	Token string `json:"token"`
}

// emailConfirm is POST /api/email/confirm: 200 {"user"} with the address
// verified, or 401 invalid_code for an unknown, used or expired token.
func (s *Server) emailConfirm(w http.ResponseWriter, r *http.Request) error {
	var body emailConfirmBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	u, err := s.confirm.Confirm(r.Context(), body.Token, s.visitors.Client(r))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, struct {
		User apijson.User `json:"user"`
	}{apijson.NewUser(*u)})
	return nil
}

// emailDisown is POST /api/email/disown: "This wasn't me" from the
// sign-up's confirmation mail, with its token. The account made with the
// address loses its password, passkeys, recovery codes and sessions, and
// its address is verified: 200 {"user", "removed"} · 401 invalid_code. No
// session is needed: the link proves the mailbox.
func (s *Server) emailDisown(w http.ResponseWriter, r *http.Request) error {
	var body emailConfirmBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	d, err := s.confirm.Disown(r.Context(), body.Token, s.visitors.Client(r))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, struct {
		User    apijson.User    `json:"user"`
		Removed apijson.Removed `json:"removed"`
	}{apijson.NewUser(*d.User), apijson.NewRemoved(d.Removed)})
	return nil
}

// resendVerification is POST /api/account/email/verification (signed in):
// 202 {"email"} with a fresh confirmation mail queued · 409
// email_already_verified · 429 too_many_attempts past the per-account limit.
func (s *Server) resendVerification(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	u, err := s.confirm.Resend(r.Context(), sw.User.ID, s.visitors.Client(r))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusAccepted, struct {
		Email string `json:"email"`
	}{u.Email})
	return nil
}

// emailConfirmDone is POST /email/confirm, the confirmation link's button.
func (s *Server) emailConfirmDone(w http.ResponseWriter, r *http.Request, token string, d *page.Data) (string, error) {
	if _, err := s.confirm.Confirm(r.Context(), token, s.visitors.Client(r)); err != nil {
		return "", err
	}
	d.Title = s.msg.T("confirm.done_title")
	return "email_confirmed", nil
}

// emailDisownDone is POST /email/disown, "This wasn't me"'s button.
func (s *Server) emailDisownDone(w http.ResponseWriter, r *http.Request, token string, d *page.Data) (string, error) {
	done, err := s.confirm.Disown(r.Context(), token, s.visitors.Client(r))
	if err != nil {
		return "", err
	}
	d.Title, d.User, d.Removed = s.msg.T("disown.done_title"), done.User, &done.Removed
	return "email_disowned", nil
}

// resendVerificationForm is the account page's "Send the confirmation
// email again" button. Success redirects to /account with a notice; a
// refusal shows the account page with the message in the email section.
func (s *Server) resendVerificationForm(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.PageSession(r)
	if err != nil {
		return err
	}
	if _, err := s.confirm.Resend(r.Context(), sw.User.ID, s.visitors.Client(r)); err != nil {
		return s.refusedOnAccount(err, sw, page.Data{}, func(d *page.Data, _, message string) { d.EmailError = message })
	}
	http.Redirect(w, r, "/account?email=verification_sent", http.StatusSeeOther)
	return nil
}
