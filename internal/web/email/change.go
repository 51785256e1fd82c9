package email

import (
	"net/http"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/web/apijson"
	"github.com/keyshift/keyshift/internal/web/page"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// emailChangeBody is POST /api/account/email.
type emailChangeBody struct {
	Email string `json:"email"`
}

// tokenBody is POST /api/account/email/confirm and …/revert.
type tokenBody struct {
	Token string `json:"token"`
}

// ChangeStart is POST /api/account/email: a confirmation link goes to
// the new address. 202 whether or not another account has that address.
func (h *Handlers) ChangeStart(w http.ResponseWriter, r *http.Request) error {
	sw, err := h.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	var body emailChangeBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := h.change.Begin(r.Context(), sw, body.Email, h.visitors.Client(r)); err != nil {
		return err
	}
	respond.JSON(w, http.StatusAccepted, struct{}{})
	return nil
}

// ChangeConfirm is POST /api/account/email/confirm: the link's token
// moves the account to the new address. No session is needed: the link
// proves the new address, and the request that made it proved the member.
func (h *Handlers) ChangeConfirm(w http.ResponseWriter, r *http.Request) error {
	var body tokenBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	u, err := h.change.Confirm(r.Context(), body.Token, h.visitors.Client(r))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, apijson.UserAnswer{User: apijson.NewUser(*u)})
	return nil
}

// ChangeRevert is POST /api/account/email/revert: the old address's
// link moves the account back, removes what was added since the change
// began and signs every browser out, this one too: 200 {"user",
// "removed"}. When another account has the old address, the clean-up
// happens all the same and the answer is 409 email_taken/old_in_use.
func (h *Handlers) ChangeRevert(w http.ResponseWriter, r *http.Request) error {
	var body tokenBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	rv, err := h.change.Revert(r.Context(), body.Token, h.visitors.Client(r))
	if rv != nil {
		h.visitors.ClearSession(w) // every session ended, this browser's too
	}
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, struct {
		User    apijson.User    `json:"user"`
		Removed apijson.Removed `json:"removed"`
	}{apijson.NewUser(*rv.User), apijson.NewRemoved(rv.Removed)})
	return nil
}

// ChangeCancel is POST /api/account/email/cancel: the cancel link's
// token, mailed to the current address when a change was asked for, voids
// every pending change of the account and signs every browser out (this
// one too): 200 {"user"} · 401 invalid_code. No session is needed: the
// link proves the current mailbox.
func (h *Handlers) ChangeCancel(w http.ResponseWriter, r *http.Request) error {
	var body tokenBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	u, err := h.change.Cancel(r.Context(), body.Token, h.visitors.Client(r))
	if err != nil {
		return err
	}
	h.visitors.ClearSession(w)
	respond.JSON(w, http.StatusOK, apijson.UserAnswer{User: apijson.NewUser(*u)})
	return nil
}

// ChangeForm is POST /account/email, the account page's change form.
func (h *Handlers) ChangeForm(w http.ResponseWriter, r *http.Request) error {
	return h.account.Form(w, r, "email", func(sw *account.SessionWithUser, d *page.Data) error {
		d.Email = r.PostFormValue("email")
		if err := h.change.Begin(r.Context(), sw, d.Email, h.visitors.Client(r)); err != nil {
			return err
		}
		d.Notice = h.msg.T("account.email_sent", d.Email, int(h.change.TTL()/time.Minute))
		d.Email = ""
		return nil
	})
}

// ChangeDone is POST /email/change, the confirmation link's button:
// the account moves to the new address.
func (h *Handlers) ChangeDone(w http.ResponseWriter, r *http.Request, token string, d *page.Data) (string, error) {
	u, err := h.change.Confirm(r.Context(), token, h.visitors.Client(r))
	if err != nil {
		return "", err
	}
	d.Title, d.User = h.msg.T("change.done_title"), u
	return "email_changed", nil
}

// RevertDone is POST /email/revert, the revert link's button. Every
// session of the account ends, so this browser is signed out too and asked
// to sign in by email at the restored address.
func (h *Handlers) RevertDone(w http.ResponseWriter, r *http.Request, token string, d *page.Data) (string, error) {
	rv, err := h.change.Revert(r.Context(), token, h.visitors.Client(r))
	if rv != nil {
		h.visitors.ClearSession(w)
		d.Removed = &rv.Removed
	}
	if err != nil {
		return "", err
	}
	d.Title, d.User = h.msg.T("revert.done_title"), rv.User
	return "email_reverted", nil
}

// CancelDone is POST /email/cancel, the cancel link's button. Every
// browser of the account is signed out, this one too.
func (h *Handlers) CancelDone(w http.ResponseWriter, r *http.Request, token string, d *page.Data) (string, error) {
	u, err := h.change.Cancel(r.Context(), token, h.visitors.Client(r))
	if err != nil {
		return "", err
	}
	h.visitors.ClearSession(w)
	d.Title, d.User = h.msg.T("cancel.done_title"), u
	return "email_cancelled", nil
}
