package web

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/admintoken"
	"github.com/keyshift/keyshift/internal/rollout"
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

// rolloutBody is what PUT /api/admin/rollout takes: any subset of the
// writable fields, a reason, and force where the CLI takes --force.
type rolloutBody struct {
	Phase    *rollout.Phase    `json:"phase"`
	Percent  *int              `json:"percent"`
	Internal *rollout.Internal `json:"internal"`
	Release  bool              `json:"release"`
	Reason   string            `json:"reason"`
	Force    bool              `json:"force"`
}

// rolloutWritable and rolloutReadOnly name the fields a PUT may carry: a
// client may send back the document it read (the read-only fields are
// ignored), but a misspelt field is refused rather than silently dropped.
var (
	rolloutWritable = []string{"phase", "percent", "internal", "release", "reason", "force"}
	rolloutReadOnly = []string{"guardrails", "held", "heldReasons", "newUsersSince", "updatedAt", "updatedBy"}
)

// putRollout is PUT /api/admin/rollout.
func (s *Server) putRollout(w http.ResponseWriter, r *http.Request, who admintoken.Principal) error {
	var fields map[string]json.RawMessage
	if err := decodeJSON(w, r, &fields); err != nil {
		return err
	}
	var unknown []string
	for k := range fields {
		if !contains(rolloutWritable, k) && !contains(rolloutReadOnly, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return &account.Error{Code: account.EInvalidRequest, Field: unknown[0],
			Detail: "unknown field " + strings.Join(unknown, ", ") + "; the writable ones are " + strings.Join(rolloutWritable, ", ")}
	}
	var body rolloutBody
	for _, k := range rolloutWritable {
		raw, ok := fields[k]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, fieldOf(&body, k)); err != nil {
			return &account.Error{Code: account.EInvalidRequest, Field: k, Detail: "field " + k + " is not valid: " + err.Error()}
		}
	}
	doc, err := s.rollout.Change(r.Context(), rollout.Change{Phase: body.Phase, Percent: body.Percent, Internal: body.Internal,
		Release: body.Release, Reason: body.Reason, Force: body.Force}, "token:"+who.Name)
	if err != nil {
		return err
	}
	s.log.Info("rollout changed", "by", "token:"+who.Name, "phase", doc.Phase.String(), "percent", doc.Percent, "forced", body.Force)
	writeJSON(w, http.StatusOK, doc)
	return nil
}

// fieldOf returns where the JSON field k of a rollout body goes.
func fieldOf(b *rolloutBody, k string) any {
	switch k {
	case "phase":
		return &b.Phase
	case "percent":
		return &b.Percent
	case "internal":
		return &b.Internal
	case "release":
		return &b.Release
	case "reason":
		return &b.Reason
	default:
		return &b.Force
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
