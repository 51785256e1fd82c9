package web

import (
	"encoding/json"
	"net/http"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/passkey"
	"github.com/keyshift/keyshift/internal/web/apijson"
	"github.com/keyshift/keyshift/internal/web/page"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// ceremonyBody is what every finish step posts.
type ceremonyBody struct {
	FlowID     string          `json:"flowId"`
	Credential json.RawMessage `json:"credential"`
	Name       string          `json:"name"`
	Mediation  string          `json:"mediation"`
	Email      string          `json:"email"`
}

// passkeyRegisterBegin is POST /api/passkeys/register/begin.
func (s *Server) passkeyRegisterBegin(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	if err := request.DecodeJSON(w, r, &struct{}{}); err != nil {
		return err
	}
	// The rollout gates adding a passkey, and nothing else of passkeys.
	if err := s.rollout.CanAddPasskey(r.Context(), &sw.User); err != nil {
		return err
	}
	c, err := s.passkeys.BeginRegistration(r.Context(), sw, passkey.FromOrigin(s.requestOrigin(r)))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, map[string]any{"flowId": c.FlowID, "publicKey": c.Options})
	return nil
}

// passkeyUpgradeBegin is POST /api/passkeys/upgrade/begin: the automatic
// upgrade's conditional create, right after a password sign-in
// (passkey.Service.BeginUpgrade); finished by register/finish.
func (s *Server) passkeyUpgradeBegin(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	if err := request.DecodeJSON(w, r, &struct{}{}); err != nil {
		return err
	}
	if err := s.rollout.CanUpgrade(r.Context(), &sw.User); err != nil {
		return err
	}
	c, err := s.passkeys.BeginUpgrade(r.Context(), sw, passkey.FromOrigin(s.requestOrigin(r)))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, map[string]any{"flowId": c.FlowID, "publicKey": c.Options, "mediation": "conditional"})
	return nil
}

// passkeyRegisterFinish is POST /api/passkeys/register/finish.
func (s *Server) passkeyRegisterFinish(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	var body ceremonyBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	added, err := s.passkeys.FinishRegistration(r.Context(), &sw.User, sw.Session.ID, body.FlowID, body.Credential, body.Name, s.visitors.Client(r))
	if err != nil {
		return err
	}
	s.visitors.RotateSessionToken(w, added.SessionToken)
	s.visitors.RememberPasskey(w, r, &sw.User)
	respond.JSON(w, http.StatusCreated, map[string]any{"passkey": apijson.NewPasskey(added.Passkey)})
	return nil
}

// passkeyRegisterError is POST /api/passkeys/register/error: the page
// reports why create() failed and gets the words to show.
func (s *Server) passkeyRegisterError(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	var body ceremonyBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	code, err := s.passkeys.RegisterError(r.Context(), &sw.User, body.FlowID, body.Name, s.visitors.Client(r))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, map[string]string{"code": code, "message": s.msg.T("passkey.register_error." + code)})
	return nil
}

// passkeyLoginBegin is POST /api/passkeys/login/begin.
func (s *Server) passkeyLoginBegin(w http.ResponseWriter, r *http.Request) error {
	var body ceremonyBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	req, err := s.passkeys.BeginLogin(r.Context(), body.Email, passkey.FromOrigin(s.requestOrigin(r)))
	if err != nil {
		return err
	}
	if body.Mediation == "conditional" && body.Email == "" {
		// The page begins this only where the browser offers passkey
		// autofill: the fill rate's denominator. A lost note must not
		// cost the member their sign-in.
		if err := s.telemetry.ConditionalOffered(r.Context(), s.visitors.Client(r)); err != nil {
			s.log.WarnContext(r.Context(), "telemetry: passkey autofill offered", "err", err)
		}
	}
	respond.JSON(w, http.StatusOK, map[string]any{"flowId": req.FlowID, "publicKey": req.Options})
	return nil
}

// passkeyLoginFinish is POST /api/passkeys/login/finish.
func (s *Server) passkeyLoginFinish(w http.ResponseWriter, r *http.Request) error {
	var body ceremonyBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	res, err := s.passkeys.FinishLogin(r.Context(), body.FlowID, body.Credential, body.Mediation, s.visitors.Client(r))
	method := passkey.MethodOf(false, body.Mediation) // a refusal counts by its mediation alone
	if res != nil {
		method = res.Session.AuthMethod // as FinishLogin decided it
	}
	s.metrics.CountSignin(method, err)
	if err != nil {
		return err
	}
	// A passkey from another device (the browser says cross-platform: a
	// phone over hybrid, a security key) may be followed by the offer of one
	// on this device; the page asks only where it has a platform
	// authenticator. No other nudge after a passkey sign-in.
	here := false
	if attachment(body.Credential) == "cross-platform" {
		if here, err = s.rollout.OfferHere(r.Context(), &res.User); err != nil {
			return err
		}
	}
	out := apijson.NewSignin(res.User, here)
	out.ReturnTo = s.visitors.SetSession(w, r, res)
	respond.JSON(w, http.StatusOK, out)
	return nil
}

// listPasskeys is GET /api/passkeys.
func (s *Server) listPasskeys(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	list, err := s.passkeys.List(r.Context(), sw.User.ID)
	if err != nil {
		return err
	}
	out := make([]apijson.Passkey, len(list))
	for i, p := range list {
		out[i] = apijson.NewPasskey(p)
	}
	respond.JSON(w, http.StatusOK, map[string]any{"passkeys": out})
	return nil
}

// renamePasskey is PATCH /api/passkeys/{id}.
func (s *Server) renamePasskey(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	var body ceremonyBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	p, err := s.passkeys.Rename(r.Context(), sw.User.ID, r.PathValue("id"), body.Name, s.visitors.Client(r))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, map[string]any{"passkey": apijson.NewPasskey(*p)})
	return nil
}

// deletePasskey is DELETE /api/passkeys/{id}; it needs a recent sign-in
// (passkey.Service.Delete).
func (s *Server) deletePasskey(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	if err := s.passkeys.Delete(r.Context(), sw, r.PathValue("id"), s.visitors.Client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// renamePasskeyForm is the rename form of a passkey, without JavaScript.
func (s *Server) renamePasskeyForm(w http.ResponseWriter, r *http.Request) error {
	return s.passkeyForm(w, r, func(sw *account.SessionWithUser, id string) error {
		_, err := s.passkeys.Rename(r.Context(), sw.User.ID, id, r.PostFormValue("name"), s.visitors.Client(r))
		return err
	})
}

// deletePasskeyForm is the remove form of a passkey, without JavaScript;
// like the API, it needs a recent sign-in.
func (s *Server) deletePasskeyForm(w http.ResponseWriter, r *http.Request) error {
	return s.passkeyForm(w, r, func(sw *account.SessionWithUser, id string) error {
		return s.passkeys.Delete(r.Context(), sw, id, s.visitors.Client(r))
	})
}

// passkeyForm runs a form post about the passkey in the path, then sends
// the member back to their passkeys; a refusal is shown beside that
// passkey's forms.
func (s *Server) passkeyForm(w http.ResponseWriter, r *http.Request, act func(sw *account.SessionWithUser, id string) error) error {
	sw, err := s.visitors.PageSession(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	err = request.ParseForm(w, r)
	if err == nil {
		err = act(sw, id)
	}
	if err == nil || account.IsCode(err, account.ENotFound) {
		// Gone already (another tab, another device): the list shows it.
		http.Redirect(w, r, "/account#passkeys", http.StatusSeeOther)
		return nil
	}
	return s.refusedOnAccount(err, sw, page.Data{}, func(d *page.Data, _, message string) {
		d.PasskeyError = &page.PasskeyError{ID: id, Message: message}
	})
}

// attachment is the authenticatorAttachment the browser reported with a
// credential ("platform", "cross-platform"), or "" when it said none or the
// credential is not JSON. It steers an offer only; nothing is trusted on it.
func attachment(credential json.RawMessage) string {
	var c struct {
		AuthenticatorAttachment string `json:"authenticatorAttachment"`
	}
	if json.Unmarshal(credential, &c) != nil {
		return ""
	}
	return c.AuthenticatorAttachment
}
