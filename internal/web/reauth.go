package web

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/stepup"
	"github.com/keyshift/keyshift/internal/passkey"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// reauthBody is what POST /api/reauth/finish posts: a passkey's answer to
// the begin step (flowId, credential), the account's password, or the
// code the begin step mailed ({"method": "email_code", "code": "…"}).
// method may name the proof ("passkey", "password", "email_code"); without
// it the fields say which.
type reauthBody struct {
	Method     string          `json:"method"`
	FlowID     string          `json:"flowId"`
	Credential json.RawMessage `json:"credential"`
	Password   string          `json:"password"`
	Code       string          `json:"code"`
}

// reauthBegin is POST /api/reauth/begin: it starts the step-up of this
// member's own kind and says which it is. A member with a passkey gets a
// ceremony only their passkeys can answer (the login begin's shape, plus
// "methods": ["passkey"]); one with a password gets "methods":
// ["password"] (nothing to start); one with neither gets a code mailed to
// their verified address ("methods": ["email_code"], "sent": true), as an
// email sign-in's start mails one. "methods" is empty for a member who
// cannot step up at all (an unverified address and nothing else).
func (s *Server) reauthBegin(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	if err := request.DecodeJSON(w, r, &struct{}{}); err != nil {
		return err
	}
	switch {
	case sw.User.PasskeyCount > 0:
		req, err := s.passkeys.BeginReauth(r.Context(), sw, passkey.FromOrigin(s.requestOrigin(r)))
		if err != nil {
			return err
		}
		respond.JSON(w, http.StatusOK, map[string]any{"methods": []string{"passkey"}, "flowId": req.FlowID, "publicKey": req.Options})
	case sw.User.HasPassword:
		respond.JSON(w, http.StatusOK, map[string]any{"methods": []string{string(account.MethodPassword)}})
	case stepup.Offered(&sw.User):
		if err := s.stepUp.Begin(r.Context(), sw, s.visitors.Client(r)); err != nil {
			return err
		}
		respond.JSON(w, http.StatusOK, map[string]any{"methods": []string{string(account.MethodEmailCode)}, "sent": true})
	default:
		respond.JSON(w, http.StatusOK, map[string]any{"methods": []string{}})
	}
	return nil
}

// reauthFinish is POST /api/reauth/finish: a passkey assertion for the
// begin step's ceremony, the password of a member without a passkey, or
// the mailed code of a member with neither. Every way rotates the
// session's token (a new cookie, on cookie_domain like a sign-in's) and
// answers until when sensitive actions pass.
func (s *Server) reauthFinish(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	var body reauthBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	method := body.Method
	if method == "" {
		switch {
		case body.FlowID != "" || len(body.Credential) > 0:
			method = "passkey"
		case body.Password != "":
			method = string(account.MethodPassword)
		case body.Code != "":
			method = string(account.MethodEmailCode)
		}
	}
	var token string
	var at time.Time
	c := s.visitors.Client(r)
	switch method {
	case "passkey":
		token, at, err = s.passkeys.FinishReauth(r.Context(), sw, body.FlowID, body.Credential, c)
	case string(account.MethodPassword):
		token, at, err = s.passwords.Reauth(r.Context(), sw, body.Password, c)
	case string(account.MethodEmailCode):
		token, at, err = s.stepUp.Finish(r.Context(), sw, body.Code, c)
	default:
		return &account.Error{Code: account.EInvalidRequest, Field: "method",
			Detail: "send flowId and credential (a passkey), password, or method email_code and code"}
	}
	if err != nil {
		return err
	}
	s.visitors.RotateSessionToken(w, token)
	respond.JSON(w, http.StatusOK, map[string]any{"steppedUpAt": at.UTC(), "freshUntil": at.Add(s.cfg.Passkey.ReauthWindow).UTC()})
	return nil
}
