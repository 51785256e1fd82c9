package web

import (
	"net/http"
	"strconv"

	"github.com/keyshift/keyshift/internal/account"
)

// emailConfirmBody is POST /api/email/confirm.
type emailConfirmBody struct {
	Token string `json:"token"`
}

// emailConfirm is POST /api/email/confirm: 200 {"user"} with the address
// verified, or 401 invalid_code for an unknown, used or expired token.
func (s *Server) emailConfirm(w http.ResponseWriter, r *http.Request) error {
	var body emailConfirmBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	u, err := s.confirm.Confirm(r.Context(), body.Token, s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		User userJSON `json:"user"`
	}{toUserJSON(*u)})
	return nil
}

// emailConfirmPage is GET /email/confirm?token=…: the confirmation link's
// landing page. It changes nothing — mail scanners follow links — but
// shows a Confirm button that posts the token; like every email page it
// sends Referrer-Policy: no-referrer.
func (s *Server) emailConfirmPage(w http.ResponseWriter, r *http.Request) {
	d := emailPageData{pageData: pageData{Title: s.msg.T("confirm.title")}, Token: r.URL.Query().Get("token")}
	s.renderEmail(w, r, http.StatusOK, "email_confirm", d)
}

// emailConfirmForm is POST /email/confirm: the Confirm button.
func (s *Server) emailConfirmForm(w http.ResponseWriter, r *http.Request) {
	d := emailPageData{pageData: pageData{Title: s.msg.T("confirm.title")}}
	if err := parseForm(w, r); err != nil {
		s.emailFailed(w, r, "email_confirm", d, err)
		return
	}
	if _, err := s.confirm.Confirm(r.Context(), r.PostFormValue("token"), s.client(r)); err != nil {
		s.emailFailed(w, r, "email_confirm", d, err)
		return
	}
	d.Title = s.msg.T("confirm.done_title")
	s.renderEmail(w, r, http.StatusOK, "email_confirmed", d)
}

// emailDisown is POST /api/email/disown: "This wasn't me" from the
// sign-up's confirmation mail, with its token. The account made with the
// address loses its password, passkeys, recovery codes and sessions, and
// its address is verified: 200 {"user", "removed"} · 401 invalid_code. No
// session is needed: the link proves the mailbox.
func (s *Server) emailDisown(w http.ResponseWriter, r *http.Request) error {
	var body emailConfirmBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	d, err := s.confirm.Disown(r.Context(), body.Token, s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		User    userJSON    `json:"user"`
		Removed removedJSON `json:"removed"`
	}{toUserJSON(*d.User), toRemovedJSON(d.Removed)})
	return nil
}

// emailDisownPage is GET /email/disown?token=…: "This wasn't me"'s landing
// page. It changes nothing — mail scanners follow links — but says what
// the button does and posts the token.
func (s *Server) emailDisownPage(w http.ResponseWriter, r *http.Request) {
	d := emailPageData{pageData: pageData{Title: s.msg.T("disown.title")}, Token: r.URL.Query().Get("token")}
	s.renderEmail(w, r, http.StatusOK, "email_disown", d)
}

// emailDisownForm is POST /email/disown: the button.
func (s *Server) emailDisownForm(w http.ResponseWriter, r *http.Request) {
	d := emailPageData{pageData: pageData{Title: s.msg.T("disown.title")}}
	if err := parseForm(w, r); err != nil {
		s.emailFailed(w, r, "email_disown", d, err)
		return
	}
	done, err := s.confirm.Disown(r.Context(), r.PostFormValue("token"), s.client(r))
	if err != nil {
		s.emailFailed(w, r, "email_disown", d, err)
		return
	}
	d.Title, d.User, d.Removed = s.msg.T("disown.done_title"), done.User, &done.Removed
	s.renderEmail(w, r, http.StatusOK, "email_disowned", d)
}

// resendVerification is POST /api/account/email/verification (signed in):
// 202 {"email"} with a fresh confirmation mail queued · 409
// email_already_verified · 429 too_many_attempts past the per-account limit.
func (s *Server) resendVerification(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.authenticate(r)
	if err != nil {
		return err
	}
	u, err := s.confirm.Resend(r.Context(), sw.User.ID, s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, struct {
		Email string `json:"email"`
	}{u.Email})
	return nil
}

// resendVerificationForm is the account page's "Send the confirmation
// email again" button. Success redirects to /account with a notice; a
// refusal shows the account page with the message in the email section.
func (s *Server) resendVerificationForm(w http.ResponseWriter, r *http.Request) {
	sw, err := s.authenticate(r)
	if err != nil {
		s.toSignin(w, r, err)
		return
	}
	if _, err := s.confirm.Resend(r.Context(), sw.User.ID, s.client(r)); err != nil {
		e := s.observeError(r, err)
		if e.Code == account.EInternal {
			s.renderError(w, r, err)
			return
		}
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
		}
		s.renderAccount(w, r, Status(e.Code), sw, pageData{EmailError: s.message(e)})
		return
	}
	http.Redirect(w, r, "/account?email=verification_sent", http.StatusSeeOther)
}
