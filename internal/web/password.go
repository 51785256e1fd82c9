package web

import (
	"net/http"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/web/apijson"
	"github.com/keyshift/keyshift/internal/web/page"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// passwordBody is POST /api/account/password.
type passwordBody struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

// changePassword is POST /api/account/password: set or replace the
// member's password. Every other session of the member ends; this one
// stays. 200 {"user"}.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	var body passwordBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	ch, err := s.passwords.ChangePassword(r.Context(), sw, body.CurrentPassword, body.NewPassword, s.visitors.Client(r))
	if err != nil {
		return err
	}
	s.visitors.RenewSession(w, r, ch)
	respond.JSON(w, http.StatusOK, apijson.UserAnswer{User: apijson.NewUser(*ch.User)})
	return nil
}

// removePassword is DELETE /api/account/password: 204, or 409
// passkey_required when the member has no passkey.
func (s *Server) removePassword(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	ch, err := s.passwords.RemovePassword(r.Context(), sw, s.visitors.Client(r))
	if err != nil {
		return err
	}
	s.visitors.RenewSession(w, r, ch)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// changePasswordForm is POST /account/password, the account page's form.
func (s *Server) changePasswordForm(w http.ResponseWriter, r *http.Request) error {
	return s.accountForm(w, r, "password", func(sw *account.SessionWithUser, d *page.Data) error {
		had := sw.User.HasPassword
		ch, err := s.passwords.ChangePassword(r.Context(), sw, r.PostFormValue("currentPassword"), r.PostFormValue("newPassword"), s.visitors.Client(r))
		if err != nil {
			return err
		}
		s.visitors.RenewSession(w, r, ch)
		d.Notice = s.msg.T("password.changed_notice")
		if !had {
			d.Notice = s.msg.T("password.set_notice")
		}
		return nil
	})
}

// removePasswordForm is POST /account/password/remove.
func (s *Server) removePasswordForm(w http.ResponseWriter, r *http.Request) error {
	return s.accountForm(w, r, "password", func(sw *account.SessionWithUser, d *page.Data) error {
		ch, err := s.passwords.RemovePassword(r.Context(), sw, s.visitors.Client(r))
		if err != nil {
			return err
		}
		s.visitors.RenewSession(w, r, ch)
		d.Notice = s.msg.T("password.removed_notice")
		return nil
	})
}
