package web

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/passkey"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// reauthBody is what POST /api/reauth/finish posts: a passkey's answer to
// the begin step (flowId, credential), or the account's password.
type reauthBody struct {
	FlowID     string          `json:"flowId"`
	Credential json.RawMessage `json:"credential"`
	Password   string          `json:"password"`
}

// reauthBegin is POST /api/reauth/begin: the ways this member can step up.
// A member with a passkey gets a ceremony only their passkeys can answer
// (the login begin's shape, plus "methods": ["passkey"]); one without gets
// the methods left — "password" when the account has one.
func (s *Server) reauthBegin(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	if err := request.DecodeJSON(w, r, &struct{}{}); err != nil {
		return err
	}
	if sw.User.PasskeyCount == 0 {
		methods := []string{}
		if sw.User.HasPassword {
			methods = append(methods, string(account.MethodPassword))
		}
		respond.JSON(w, http.StatusOK, map[string]any{"methods": methods})
		return nil
	}
	req, err := s.passkeys.BeginReauth(r.Context(), sw, passkey.FromOrigin(s.requestOrigin(r)))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, map[string]any{"methods": []string{"passkey"}, "flowId": req.FlowID, "publicKey": req.Options})
	return nil
}

// reauthFinish is POST /api/reauth/finish: a passkey assertion for the
// begin step's ceremony, or the password of a member without a passkey.
// It rotates the session's token (a new cookie) and answers until when
// sensitive actions pass.
func (s *Server) reauthFinish(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	var body reauthBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	var token string
	var at time.Time
	switch {
	case body.FlowID != "" || len(body.Credential) > 0:
		token, at, err = s.passkeys.FinishReauth(r.Context(), sw, body.FlowID, body.Credential, s.visitors.Client(r))
	case body.Password != "":
		token, at, err = s.passwords.Reauth(r.Context(), sw, body.Password, s.visitors.Client(r))
	default:
		return &account.Error{Code: account.EInvalidRequest, Detail: "send flowId and credential (a passkey) or password"}
	}
	if err != nil {
		return err
	}
	s.visitors.RotateSessionToken(w, token)
	respond.JSON(w, http.StatusOK, map[string]any{"steppedUpAt": at.UTC(), "freshUntil": at.Add(s.cfg.Passkey.ReauthWindow).UTC()})
	return nil
}
