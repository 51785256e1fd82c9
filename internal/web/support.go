package web

import (
	"net/http"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/support"
	"github.com/keyshift/keyshift/internal/web/apijson"
	"github.com/keyshift/keyshift/internal/web/page"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// Support recovery (docs/security.md, "Support recovery"): the notice's
// "This wasn't me — cancel" link (no session needed: it proves a mailbox
// the account has or had), the banner's button in every session of the
// account, and the completion link mailed to the new address after the
// wait, which signs the member in. Support begins and lists recoveries
// with `keyshift admin recover`.

// supportTokenBody is what POST /api/support/cancel and /api/support/recover
// take: the mailed link's token.
type supportTokenBody struct {
	Token string `json:"token"`
}

// supportRecoveryJSON is a support recovery as the API answers it: never
// the evidence or who asked, which are support's.
type supportRecoveryJSON struct {
	ID      string    `json:"id"`
	State   string    `json:"state"`
	To      string    `json:"to"`
	ReadyAt time.Time `json:"readyAt"`
}

func newSupportRecoveryJSON(r *support.Recovery) supportRecoveryJSON {
	return supportRecoveryJSON{ID: r.ID, State: string(r.State), To: account.MaskEmail(r.Email), ReadyAt: r.ReadyAt}
}

// pendingSupport is the account's pending support recovery as the API
// and the account page show it; nil when none is pending.
func (s *Server) pendingSupport(r *http.Request, userID string) (*apijson.SupportRecovery, error) {
	rec, err := s.support.Pending(r.Context(), userID)
	if err != nil || rec == nil {
		return nil, err
	}
	return &apijson.SupportRecovery{ID: rec.ID, To: account.MaskEmail(rec.Email), ReadyAt: rec.ReadyAt}, nil
}

// cancelSupportLink is POST /api/support/cancel: 200 {"recovery"} · 401
// invalid_code for a token that is unknown, used or expired, or whose
// recovery ended, never saying which.
func (s *Server) cancelSupportLink(w http.ResponseWriter, r *http.Request) error {
	var body supportTokenBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	rec, err := s.support.CancelByLink(r.Context(), body.Token, s.visitors.Client(r))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, map[string]any{"recovery": newSupportRecoveryJSON(rec)})
	return nil
}

// cancelSupportSession is POST /api/account/support-recovery/cancel, the
// banner's button over the API: any session of the account cancels its
// pending recovery, without a step-up. 200 {"recovery"} · 404 not_found
// when none is pending.
func (s *Server) cancelSupportSession(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	if err := request.DecodeJSON(w, r, &struct{}{}); err != nil {
		return err
	}
	rec, err := s.support.CancelBySession(r.Context(), sw, s.visitors.Client(r))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, map[string]any{"recovery": newSupportRecoveryJSON(rec)})
	return nil
}

// cancelSupportForm is POST /account/support-recovery/cancel, the banner's
// button without JavaScript.
func (s *Server) cancelSupportForm(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.PageSession(r)
	if err != nil {
		return err
	}
	err = request.ParseForm(w, r)
	if err == nil {
		_, err = s.support.CancelBySession(r.Context(), sw, s.visitors.Client(r))
	}
	d := page.Data{}
	switch {
	case err == nil:
		d.Notice = s.msg.T("support.cancelled_banner")
	case !account.IsCode(err, account.ENotFound): // ended meanwhile: the page shows none
		return s.refusedOnAccount(err, sw, d, (*page.Data).Place)
	}
	return s.renderAccount(w, r, http.StatusOK, sw, d)
}

// recoverSupport is POST /api/support/recover: the completion link's token
// moves the account to the new address, removes every credential, ends
// every session and signs this browser in — the sign-in answer, whose
// "next" asks for a passkey. 401 invalid_code · 409 email_taken (reason
// in_use) when another account took the address during the wait.
func (s *Server) recoverSupport(w http.ResponseWriter, r *http.Request) error {
	var body supportTokenBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	done, err := s.completeSupport(w, r, body.Token)
	if err != nil {
		return err
	}
	out := s.rolloutPages.SigninAnswer(r, done.Signin, false)
	out.ReturnTo = "/account#passkeys"
	respond.JSON(w, http.StatusOK, out)
	return nil
}

// completeSupport completes the recovery token names and sets the new
// session's cookie.
func (s *Server) completeSupport(w http.ResponseWriter, r *http.Request, token string) (*support.Completed, error) {
	done, err := s.support.Complete(r.Context(), token, s.visitors.Client(r))
	s.metrics.CountSignin(account.MethodSupportRecovery, err)
	if err != nil {
		return nil, err
	}
	s.visitors.SetSession(w, r, done.Signin)
	return done, nil
}

// supportCancelDone is POST /support/cancel, the notice's button
// (page.SupportCancelLanding).
func (s *Server) supportCancelDone(w http.ResponseWriter, r *http.Request, token string, d *page.Data) (string, error) {
	rec, err := s.support.CancelByLink(r.Context(), token, s.visitors.Client(r))
	if err != nil {
		return "", err
	}
	d.Title, d.Email = s.msg.T("support.cancelled_title"), rec.CurrentEmail
	return "support_cancelled", nil
}

// supportRecoverDone is POST /support/recover, the completion link's
// button (page.SupportRecoverLanding): this browser is signed in, and the
// page leads to adding a passkey.
func (s *Server) supportRecoverDone(w http.ResponseWriter, r *http.Request, token string, d *page.Data) (string, error) {
	done, err := s.completeSupport(w, r, token)
	if err != nil {
		return "", err
	}
	d.Title, d.User = s.msg.T("support.recovered_title"), &done.Signin.User
	return "support_recovered", nil
}
