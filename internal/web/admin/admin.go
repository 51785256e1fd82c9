// Package admin serves keyshift's admin API: handlers that run only for an
// admin bearer token allowed their scope (never a member's session
// cookie), and the rollout's document, read and changed (API.md).
package admin

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/admintoken"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/telemetry"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// API serves the admin API.
type API struct {
	tokens    *admintoken.Tokens
	rollout   *rollout.Service
	telemetry *telemetry.Service
	log       *slog.Logger
}

// New returns the admin API: tokens authenticates its callers, ro is the
// rollout it reads and changes, tel gives the metrics document, and log
// records every change.
func New(tokens *admintoken.Tokens, ro *rollout.Service, tel *telemetry.Service, log *slog.Logger) *API {
	return &API{tokens: tokens, rollout: ro, telemetry: tel, log: log}
}

// GetMetrics is GET /api/admin/metrics?from=&to=&cohort=&tz=: the metrics
// document (API.md; docs/telemetry.md).
func (a *API) GetMetrics(w http.ResponseWriter, r *http.Request, _ admintoken.Principal) error {
	q, err := telemetry.ParseQuery(r.URL.Query().Get)
	if err != nil {
		return err
	}
	doc, err := a.telemetry.Figures(r.Context(), q)
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, doc)
	return nil
}

// Func is an admin API handler: it runs only for a bearer token that
// may use its scope, and learns who the token is for the audit.
type Func func(w http.ResponseWriter, r *http.Request, who admintoken.Principal) error

// Scoped wraps an admin API handler. The credential is the Authorization
// header alone: a member's session cookie is never an admin credential,
// whoever the member is.
func (a *API) Scoped(scope admintoken.Scope, h Func) respond.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		who, err := a.tokens.Authenticate(r.Context(), r.Header.Get("Authorization"))
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

// GetRollout is GET /api/admin/rollout: the rollout document (API.md).
func (a *API) GetRollout(w http.ResponseWriter, r *http.Request, _ admintoken.Principal) error {
	doc, err := a.rollout.Document(r.Context())
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, doc)
	return nil
}

// PutRollout is PUT /api/admin/rollout (rollout.DecodeChange).
func (a *API) PutRollout(w http.ResponseWriter, r *http.Request, who admintoken.Principal) error {
	var fields map[string]json.RawMessage
	if err := request.DecodeJSON(w, r, &fields); err != nil {
		return err
	}
	ch, err := rollout.DecodeChange(fields)
	if err != nil {
		return err
	}
	doc, err := a.rollout.Change(r.Context(), ch, "token:"+who.Name)
	if err != nil {
		return err
	}
	a.log.Info("rollout changed", "by", "token:"+who.Name, "phase", doc.Phase.String(), "percent", doc.Percent, "forced", ch.Force)
	respond.JSON(w, http.StatusOK, doc)
	return nil
}
