package web

import (
	"encoding/json"
	"net/http"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/admintoken"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/telemetry"
)

// adminFunc is an admin API handler: it runs only for a bearer token that
// may use its scope, and learns who the token is for the audit.
type adminFunc func(w http.ResponseWriter, r *http.Request, who admintoken.Principal) error

// admin wraps an admin API handler. The credential is the Authorization
// header alone: a member's session cookie is never an admin credential,
// whoever the member is.
func (s *Server) admin(scope admintoken.Scope, h adminFunc) apiFunc {
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
	writeJSON(w, http.StatusOK, doc)
	return nil
}

// putRollout is PUT /api/admin/rollout (rollout.DecodeChange).
func (s *Server) putRollout(w http.ResponseWriter, r *http.Request, who admintoken.Principal) error {
	var fields map[string]json.RawMessage
	if err := decodeJSON(w, r, &fields); err != nil {
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
	writeJSON(w, http.StatusOK, doc)
	return nil
}

// getMetrics is GET /api/admin/metrics?from=&to=&cohort=&tz=: the metrics
// document (API.md; docs/telemetry.md).
func (s *Server) getMetrics(w http.ResponseWriter, r *http.Request, _ admintoken.Principal) error {
	q, err := telemetry.ParseQuery(r.URL.Query().Get)
	if err != nil {
		return err
	}
	doc, err := s.telemetry.Figures(r.Context(), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}
