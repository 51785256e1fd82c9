package web

import (
	"net/http"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/web/page"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// "This wasn't me" for a passkey on probation (docs/security.md,
// "Probation"): the mailed link (no session needed: it proves the
// mailbox) and the banner's button in the member's other sessions. Both
// remove the passkey and end every session it proved or that added it.

// disownBody is what POST /api/passkeys/wasnt-me takes: the mailed link's
// token.
type disownBody struct {
	Token string `json:"token"`
}

// disownPasskeyLink is POST /api/passkeys/wasnt-me: 200 {"removed":{"passkey",
// "sessionsEnded"}} · 401 invalid_code (reason disown) for a token that is
// unknown, used or expired, never saying which.
func (s *Server) disownPasskeyLink(w http.ResponseWriter, r *http.Request) error {
	var body disownBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	done, err := s.passkeys.Disown(r.Context(), body.Token, s.visitors.Client(r))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, disownAnswer(done.Name, done.Sessions))
	return nil
}

// disownPasskey is POST /api/passkeys/{id}/wasnt-me, the banner's button
// over the API: the signed-in member removes a passkey on probation that
// their session neither added nor was proven by. 200 as
// disownPasskeyLink · 404 not_found for any other passkey.
func (s *Server) disownPasskey(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	if err := request.DecodeJSON(w, r, &struct{}{}); err != nil {
		return err
	}
	done, err := s.passkeys.DisownFromSession(r.Context(), sw, r.PathValue("id"), s.visitors.Client(r))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, disownAnswer(done.Name, done.Sessions))
	return nil
}

func disownAnswer(name string, sessions int) map[string]any {
	return map[string]any{"removed": map[string]any{"passkey": name, "sessionsEnded": sessions}}
}

// disownPasskeyForm is POST /account/passkeys/{id}/wasnt-me, the banner's
// button without JavaScript.
func (s *Server) disownPasskeyForm(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.PageSession(r)
	if err != nil {
		return err
	}
	err = request.ParseForm(w, r)
	var name string
	if err == nil {
		var done *disowned
		done, err = s.disownFromSession(r, sw)
		if done != nil {
			name = done.name
		}
	}
	if err != nil && !account.IsCode(err, account.ENotFound) {
		return s.refusedOnAccount(err, sw, page.Data{}, (*page.Data).Place)
	}
	d := page.Data{}
	if name != "" {
		d.Notice = s.msg.T("probation.disowned", name)
	}
	return s.renderAccount(w, r, http.StatusOK, sw, d)
}

type disowned struct{ name string }

func (s *Server) disownFromSession(r *http.Request, sw *account.SessionWithUser) (*disowned, error) {
	done, err := s.passkeys.DisownFromSession(r.Context(), sw, r.PathValue("id"), s.visitors.Client(r))
	if err != nil {
		return nil, err
	}
	return &disowned{name: done.Name}, nil
}

// disownPasskeyDone is POST /passkeys/wasnt-me, the mailed link's button
// (page.PasskeyDisownLanding).
func (s *Server) disownPasskeyDone(w http.ResponseWriter, r *http.Request, token string, d *page.Data) (string, error) {
	done, err := s.passkeys.Disown(r.Context(), token, s.visitors.Client(r))
	if err != nil {
		return "", err
	}
	d.Title, d.User, d.Notice = s.msg.T("probation.done_title"), done.User, s.msg.T("probation.disowned", done.Name)
	return "passkey_disowned", nil
}
