package rollout

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/keyshift/keyshift/internal/account"
)

func TestDecodeChange(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, c Change)
		field string // the refusal's field; "" when the change is accepted
	}{
		{"reads every writable field", `{"phase":"beta","percent":40,"internal":{"domains":["example.com"]},"release":true,"reason":"why","force":true}`,
			func(t *testing.T, c Change) {
				if c.Phase == nil || *c.Phase != Beta || c.Percent == nil || *c.Percent != 40 || c.Internal == nil ||
					len(c.Internal.Domains) != 1 || !c.Release || c.Reason != "why" || !c.Force {
					t.Errorf("change %+v", c)
				}
			}, ""},
		{"leaves out what is not sent", `{"reason":"only words"}`,
			func(t *testing.T, c Change) {
				if c.Phase != nil || c.Percent != nil || c.Internal != nil || c.Release || c.Force || c.Reason != "only words" {
					t.Errorf("change %+v", c)
				}
			}, ""},
		{"ignores the read-only fields of a document sent back", `{"percent":10,"held":true,"guardrails":{},"updatedBy":"x","updatedAt":"2026-01-01T00:00:00Z"}`,
			func(t *testing.T, c Change) {
				if c.Percent == nil || *c.Percent != 10 {
					t.Errorf("change %+v", c)
				}
			}, ""},
		{"refuses an unknown field, naming the first in order", `{"zeta":1,"prcent":20}`, nil, "prcent"},
		{"refuses a field of the wrong type", `{"percent":"twenty"}`, nil, "percent"},
		{"refuses an unknown phase", `{"phase":"everyone"}`, nil, "phase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fields map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tt.body), &fields); err != nil {
				t.Fatal(err)
			}
			c, err := DecodeChange(fields)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("DecodeChange: %v", err)
				}
				tt.check(t, c)
				return
			}
			e, ok := errors.AsType[*account.Error](err)
			if !ok || e.Code != account.EInvalidRequest || e.Field != tt.field {
				t.Errorf("DecodeChange(%s) = %+v, %v; want invalid_request on %q", tt.body, c, err, tt.field)
			}
		})
	}
}
