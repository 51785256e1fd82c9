package web

import (
	"net/http"
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
	u, err := s.verify.Confirm(r.Context(), body.Token, s.client(r))
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
	if _, err := s.verify.Confirm(r.Context(), r.PostFormValue("token"), s.client(r)); err != nil {
		s.emailFailed(w, r, "email_confirm", d, err)
		return
	}
	d.Title = s.msg.T("confirm.done_title")
	s.renderEmail(w, r, http.StatusOK, "email_confirmed", d)
}
