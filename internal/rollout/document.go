package rollout

import "time"

// Document is the rollout as the admin API answers it and `keyshift
// rollout status --json` prints it (shape: API.md, "Rollout").
type Document struct {
	Phase         Phase            `json:"phase"`
	Percent       int              `json:"percent"`
	Internal      Internal         `json:"internal"`
	Guardrails    GuardrailsStatus `json:"guardrails"`
	Held          bool             `json:"held"`
	HeldReasons   []string         `json:"heldReasons"`
	NewUsersSince *time.Time       `json:"newUsersSince"`
	UpdatedAt     time.Time        `json:"updatedAt"`
	UpdatedBy     string           `json:"updatedBy"`
}

// GuardrailsStatus says whether a guardrail is tripped now: Reasons are the
// sentences, Names the stable names of what tripped.
type GuardrailsStatus struct {
	Tripped bool     `json:"tripped"`
	Reasons []string `json:"reasons"`
	Names   []string `json:"names"`
}

// NewDocument returns the document of st with trips, lists never null.
func NewDocument(st State, trips []Trip) Document {
	d := Document{
		Phase:       st.Phase,
		Percent:     st.Percent,
		Internal:    Internal{Domains: orEmpty(st.Internal.Domains), Emails: orEmpty(st.Internal.Emails)},
		Held:        st.Held,
		HeldReasons: orEmpty(st.HeldReasons),
		UpdatedAt:   st.UpdatedAt.UTC(),
		UpdatedBy:   st.UpdatedBy,
		Guardrails:  GuardrailsStatus{Tripped: len(trips) > 0, Reasons: []string{}, Names: orEmpty(Names(trips))},
	}
	for _, t := range trips {
		d.Guardrails.Reasons = append(d.Guardrails.Reasons, t.Message)
	}
	if !st.NewUsersSince.IsZero() {
		t := st.NewUsersSince.UTC()
		d.NewUsersSince = &t
	}
	return d
}

func orEmpty(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}
