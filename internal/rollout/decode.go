package rollout

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"

	"github.com/keyshift/keyshift/internal/account"
)

// DecodeChange reads a change from the fields of a JSON object, as the admin
// API takes it (API.md, "Rollout"): any subset of the writable fields, a
// reason, and force. A client may send back the document it read — the
// read-only fields are ignored — but an unknown field, or a field of the
// wrong type, is EInvalidRequest naming it.
func DecodeChange(fields map[string]json.RawMessage) (Change, error) {
	var unknown []string
	for k := range fields {
		if !slices.Contains(writableFields, k) && !slices.Contains(readOnlyFields, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return Change{}, &account.Error{Code: account.EInvalidRequest, Field: unknown[0],
			Detail: "unknown field " + strings.Join(unknown, ", ") + "; the writable ones are " + strings.Join(writableFields, ", ")}
	}
	var body changeBody
	for _, k := range writableFields {
		raw, ok := fields[k]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, fieldOf(&body, k)); err != nil {
			return Change{}, &account.Error{Code: account.EInvalidRequest, Field: k, Detail: "field " + k + " is not valid: " + err.Error()}
		}
	}
	return Change{Phase: body.Phase, Percent: body.Percent, Internal: body.Internal,
		Release: body.Release, Reason: body.Reason, Force: body.Force}, nil
}

// changeBody is a change as the admin API takes it (PUT /api/admin/rollout):
// any subset of the writable fields, a reason, and force where the CLI takes
// --force.
type changeBody struct {
	Phase    *Phase    `json:"phase"`
	Percent  *int      `json:"percent"`
	Internal *Internal `json:"internal"`
	Release  bool      `json:"release"`
	Reason   string    `json:"reason"`
	Force    bool      `json:"force"`
}

// writableFields and readOnlyFields name the fields a change may carry: a
// client may send back the document it read (the read-only fields are
// ignored), but a misspelt field is refused rather than silently dropped.
var (
	writableFields = []string{"phase", "percent", "internal", "release", "reason", "force"}
	readOnlyFields = []string{"guardrails", "held", "heldReasons", "newUsersSince", "updatedAt", "updatedBy"}
)

// fieldOf returns where the JSON field k of a change goes.
func fieldOf(b *changeBody, k string) any {
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
