package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// emailChangeBody is POST /api/account/email.
type emailChangeBody struct {
	Email string `json:"email"`
}

// tokenBody is POST /api/account/email/confirm and …/revert.
type tokenBody struct {
	Token string `json:"token"`
}

// userAnswer is {"user": User}.
type userAnswer struct {
	User userJSON `json:"user"`
}

// emailChangeStart is POST /api/account/email: a confirmation link goes to
// the new address. 202 whether or not another account has that address.
func (s *Server) emailChangeStart(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.authenticate(r)
	if err != nil {
		return err
	}
	var body emailChangeBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := s.change.Begin(r.Context(), sw, body.Email, s.client(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, struct{}{})
	return nil
}

// emailChangeConfirm is POST /api/account/email/confirm: the link's token
// moves the account to the new address. No session is needed: the link
// proves the new address, and the request that made it proved the member.
func (s *Server) emailChangeConfirm(w http.ResponseWriter, r *http.Request) error {
	var body tokenBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	u, err := s.change.Confirm(r.Context(), body.Token, s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userAnswer{toUserJSON(*u)})
	return nil
}

// removedJSON says what a clean-up removed (account.Removed).
type removedJSON struct {
	// Password is "removed", "restored" or null.
	Password      *string  `json:"password"`
	Passkeys      []string `json:"passkeys"`
	RecoveryCodes int      `json:"recoveryCodes"`
	Sessions      int      `json:"sessions"`
}

func toRemovedJSON(r account.Removed) removedJSON {
	out := removedJSON{Passkeys: r.Passkeys, RecoveryCodes: r.RecoveryCodes, Sessions: r.Sessions}
	if out.Passkeys == nil {
		out.Passkeys = []string{}
	}
	if r.Password != "" {
		out.Password = &r.Password
	}
	return out
}

// emailChangeRevert is POST /api/account/email/revert: the old address's
// link moves the account back, removes what was added since the change
// began and signs every browser out, this one too: 200 {"user",
// "removed"}. When another account has the old address, the clean-up
// happens all the same and the answer is 409 email_taken/old_in_use.
func (s *Server) emailChangeRevert(w http.ResponseWriter, r *http.Request) error {
	var body tokenBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	rv, err := s.change.Revert(r.Context(), body.Token, s.client(r))
	if rv != nil {
		s.clearSession(w) // every session ended, this browser's too
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		User    userJSON    `json:"user"`
		Removed removedJSON `json:"removed"`
	}{toUserJSON(*rv.User), toRemovedJSON(rv.Removed)})
	return nil
}

// emailChangeCancel is POST /api/account/email/cancel: the cancel link's
// token, mailed to the current address when a change was asked for, voids
// every pending change of the account and signs every browser out (this
// one too): 200 {"user"} · 401 invalid_code. No session is needed: the
// link proves the current mailbox.
func (s *Server) emailChangeCancel(w http.ResponseWriter, r *http.Request) error {
	var body tokenBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	u, err := s.change.Cancel(r.Context(), body.Token, s.client(r))
	if err != nil {
		return err
	}
	s.clearSession(w)
	writeJSON(w, http.StatusOK, userAnswer{toUserJSON(*u)})
	return nil
}

// emailChangeForm is POST /account/email, the account page's change form.
func (s *Server) emailChangeForm(w http.ResponseWriter, r *http.Request) {
	s.accountForm(w, r, "email", func(sw *account.SessionWithUser, d *pageData) error {
		d.Email = r.PostFormValue("email")
		if err := s.change.Begin(r.Context(), sw, d.Email, s.client(r)); err != nil {
			return err
		}
		d.Notice = s.msg.T("account.email_sent", d.Email, int(s.change.TTL()/time.Minute))
		d.Email = ""
		return nil
	})
}

// emailChangePage is GET /email/change?token=…: the confirmation link's
// landing page. It changes nothing — mail scanners follow links — but shows
// a button that posts the token; no referrer leaves it.
func (s *Server) emailChangePage(w http.ResponseWriter, r *http.Request) {
	d := emailPageData{pageData: pageData{Title: s.msg.T("change.title")}, Token: r.URL.Query().Get("token")}
	s.renderEmail(w, r, http.StatusOK, "email_change", d)
}

// emailChangeDone is POST /email/change: the button.
func (s *Server) emailChangeDone(w http.ResponseWriter, r *http.Request) {
	d := emailPageData{pageData: pageData{Title: s.msg.T("change.title")}}
	if err := parseForm(w, r); err != nil {
		s.emailFailed(w, r, "email_change", d, err)
		return
	}
	u, err := s.change.Confirm(r.Context(), r.PostFormValue("token"), s.client(r))
	if err != nil {
		s.emailFailed(w, r, "email_change", d, err)
		return
	}
	d.Title, d.User = s.msg.T("change.done_title"), u
	s.renderEmail(w, r, http.StatusOK, "email_changed", d)
}

// emailRevertPage is GET /email/revert?token=…: the revert link's landing
// page, with a button that posts the token; it changes nothing itself.
func (s *Server) emailRevertPage(w http.ResponseWriter, r *http.Request) {
	d := emailPageData{pageData: pageData{Title: s.msg.T("revert.title")}, Token: r.URL.Query().Get("token")}
	s.renderEmail(w, r, http.StatusOK, "email_revert", d)
}

// emailRevertDone is POST /email/revert: the button. Every session of the
// account ends, so this browser is signed out too and asked to sign in by
// email at the restored address.
func (s *Server) emailRevertDone(w http.ResponseWriter, r *http.Request) {
	d := emailPageData{pageData: pageData{Title: s.msg.T("revert.title")}}
	if err := parseForm(w, r); err != nil {
		s.emailFailed(w, r, "email_revert", d, err)
		return
	}
	rv, err := s.change.Revert(r.Context(), r.PostFormValue("token"), s.client(r))
	if rv != nil {
		s.clearSession(w)
		d.Removed = &rv.Removed
	}
	if err != nil {
		s.emailFailed(w, r, "email_revert", d, err)
		return
	}
	d.Title, d.User = s.msg.T("revert.done_title"), rv.User
	s.renderEmail(w, r, http.StatusOK, "email_reverted", d)
}

// emailCancelPage is GET /email/cancel?token=…: the cancel link's landing
// page, with a button that posts the token; it changes nothing itself.
func (s *Server) emailCancelPage(w http.ResponseWriter, r *http.Request) {
	d := emailPageData{pageData: pageData{Title: s.msg.T("cancel.title")}, Token: r.URL.Query().Get("token")}
	s.renderEmail(w, r, http.StatusOK, "email_cancel", d)
}

// emailCancelDone is POST /email/cancel: the button. Every browser of the
// account is signed out, this one too.
func (s *Server) emailCancelDone(w http.ResponseWriter, r *http.Request) {
	d := emailPageData{pageData: pageData{Title: s.msg.T("cancel.title")}}
	if err := parseForm(w, r); err != nil {
		s.emailFailed(w, r, "email_cancel", d, err)
		return
	}
	u, err := s.change.Cancel(r.Context(), r.PostFormValue("token"), s.client(r))
	if err != nil {
		s.emailFailed(w, r, "email_cancel", d, err)
		return
	}
	s.clearSession(w)
	d.Title, d.User = s.msg.T("cancel.done_title"), u
	s.renderEmail(w, r, http.StatusOK, "email_cancelled", d)
}

// accountForm runs a form of the account page's section (email, password)
// for the signed-in member and shows the page again: with d's notice on
// success, with the refusal beside the field (or atop the section) it
// concerns otherwise. The form's values stay only on refusal.
func (s *Server) accountForm(w http.ResponseWriter, r *http.Request, section string, act func(sw *account.SessionWithUser, d *pageData) error) {
	sw, err := s.authenticate(r)
	if err != nil {
		s.toSignin(w, r, err)
		return
	}
	d := pageData{Section: section}
	err = parseForm(w, r)
	if err == nil {
		err = act(sw, &d)
	}
	if err == nil {
		// The page shows what is stored now (a password set, …).
		if u, ferr := s.members.Find(r.Context(), sw.User.ID); ferr == nil {
			sw.User = *u
		}
		s.renderAccount(w, r, http.StatusOK, sw, d)
		return
	}
	e := s.observeError(r, err)
	if e.Code == account.EInternal {
		s.renderError(w, r, err)
		return
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	d.Errors = map[string]string{}
	if e.Field != "" {
		d.Errors[e.Field] = s.message(e)
	} else {
		d.FormError = s.message(e)
	}
	s.renderAccount(w, r, Status(e.Code), sw, d)
}
