package email

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

// Confirm is POST /api/email/confirm: 200 {"user"} with the address
// verified, or 401 invalid_code for an unknown, used or expired token.
func (h *Handlers) Confirm(w http.ResponseWriter, r *http.Request) error {
	var body emailConfirmBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	u, err := h.confirm.Confirm(r.Context(), body.Token, h.visitors.Client(r))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, struct {
		User apijson.User `json:"user"`
	}{apijson.NewUser(*u)})
	return nil
}

// Disown is POST /api/email/disown: "This wasn't me" from the
// sign-up's confirmation mail, with its token. The account made with the
// address loses its password, passkeys, recovery codes and sessions, and
// its address is verified: 200 {"user", "removed"} · 401 invalid_code. No
// session is needed: the link proves the mailbox.
func (h *Handlers) Disown(w http.ResponseWriter, r *http.Request) error {
	var body emailConfirmBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	d, err := h.confirm.Disown(r.Context(), body.Token, h.visitors.Client(r))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, struct {
		User    apijson.User    `json:"user"`
		Removed apijson.Removed `json:"removed"`
	}{apijson.NewUser(*d.User), apijson.NewRemoved(d.Removed)})
	return nil
}

// ResendVerification is POST /api/account/email/verification (signed in):
// 202 {"email"} with a fresh confirmation mail queued · 409
// email_already_verified · 429 too_many_attempts past the per-account limit.
func (h *Handlers) ResendVerification(w http.ResponseWriter, r *http.Request) error {
	sw, err := h.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	u, err := h.confirm.Resend(r.Context(), sw.User.ID, h.visitors.Client(r))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusAccepted, struct {
		Email string `json:"email"`
	}{u.Email})
	return nil
}

// ConfirmDone is POST /email/confirm, the confirmation link's button.
func (h *Handlers) ConfirmDone(w http.ResponseWriter, r *http.Request, token string, d *page.Data) (string, error) {
	if _, err := h.confirm.Confirm(r.Context(), token, h.visitors.Client(r)); err != nil {
		return "", err
	}
	d.Title = h.msg.T("confirm.done_title")
	return "email_confirmed", nil
}

// DisownDone is POST /email/disown, "This wasn't me"'s button.
func (h *Handlers) DisownDone(w http.ResponseWriter, r *http.Request, token string, d *page.Data) (string, error) {
	done, err := h.confirm.Disown(r.Context(), token, h.visitors.Client(r))
	if err != nil {
		return "", err
	}
	d.Title, d.User, d.Removed = h.msg.T("disown.done_title"), done.User, &done.Removed
	return "email_disowned", nil
}

// ResendVerificationForm is the account page's "Send the confirmation
// email again" button. Success redirects to /account with a notice; a
// refusal shows the account page with the message in the email section.
func (h *Handlers) ResendVerificationForm(w http.ResponseWriter, r *http.Request) error {
	sw, err := h.visitors.PageSession(r)
	if err != nil {
		return err
	}
	if _, err := h.confirm.Resend(r.Context(), sw.User.ID, h.visitors.Client(r)); err != nil {
		return h.account.RefusedOn(err, sw, page.Data{}, func(d *page.Data, _, message string) { d.EmailError = message })
	}
	http.Redirect(w, r, "/account?email=verification_sent", http.StatusSeeOther)
	return nil
}
