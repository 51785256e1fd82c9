package web

import (
	"encoding/json"
	"net/http"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/admintoken"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// adminFunc is an admin API handler: it runs only for a bearer token that
// may use its scope, and learns who the token is for the audit.
type adminFunc func(w http.ResponseWriter, r *http.Request, who admintoken.Principal) error

// admin wraps an admin API handler. The credential is the Authorization
// header alone: a member's session cookie is never an admin credential,
// whoever the member is.
func (s *Server) admin(scope admintoken.Scope, h adminFunc) respond.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		who, err := s.tokens.Authenticate(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			if account.IsCode(err, account.EUnauthenticated) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="keyshift admin"`)
			}
			return err
		}
		if err := who.Allows(scope); err != nil {
			return err
		}
		return h(w, r, who)
	}
}

// getRollout is GET /api/admin/rollout: the rollout document (API.md).
func (s *Server) getRollout(w http.ResponseWriter, r *http.Request, _ admintoken.Principal) error {
	doc, err := s.rollout.Document(r.Context())
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, doc)
	return nil
}

// putRollout is PUT /api/admin/rollout (rollout.DecodeChange).
func (s *Server) putRollout(w http.ResponseWriter, r *http.Request, who admintoken.Principal) error {
	var fields map[string]json.RawMessage
	if err := request.DecodeJSON(w, r, &fields); err != nil {
		return err
	}
	ch, err := rollout.DecodeChange(fields)
	if err != nil {
		return err
	}
	doc, err := s.rollout.Change(r.Context(), ch, "token:"+who.Name)
	if err != nil {
		return err
	}
	s.log.Info("rollout changed", "by", "token:"+who.Name, "phase", doc.Phase.String(), "percent", doc.Percent, "forced", ch.Force)
	respond.JSON(w, http.StatusOK, doc)
	return nil
}
