// Package rollout is the staged move from passwords to passkeys as one
// object: a phase the operator moves forward and back, the cohorts a phase
// reaches, a stable percentage ramp, the guardrails that hold it when
// telemetry goes wrong, the enrollment nudge's snooze rules and the readiness
// rules for retiring a password.
//
// It decides; it does not store or serve. The one table that says what a
// member is offered (Offers) is read by the pages and the API alike, and
// docs/rollout.md holds the same table, checked by a test.
//
// The rollout gates offering and adding passkeys and the prompts around
// them. It never gates signing in with a passkey a member already has,
// managing or deleting passkeys, or password and email sign-in.
package rollout

import (
	"fmt"
	"strings"
)

// Phase is how far the rollout has come. Phases are ordered; each includes
// the behaviour of the ones before it.
type Phase int

// The phases, in order.
const (
	// Off: nobody is offered a passkey (passkeys held already still sign in).
	Off Phase = iota
	// Dogfood: the internal cohort (staff) is offered passkeys.
	Dogfood
	// Beta: members who switched "Try passkeys" on are offered them too.
	Beta
	// NewUsers: new members (within the ramp) join with a passkey first.
	NewUsers
	// ExistingUsers: every member within the ramp is offered passkeys and
	// nudged after a sign-in without one. A fresh install starts here.
	ExistingUsers
	// PasswordDeprecation: a remembered browser of an account with a passkey
	// leads with the passkey; the password stays behind "Use a password
	// instead".
	PasswordDeprecation
	// PasswordRetirement: members who opted in and are ready may have their
	// password retired. Never forced.
	PasswordRetirement
)

var phaseNames = [...]string{
	Off:                 "off",
	Dogfood:             "dogfood",
	Beta:                "beta",
	NewUsers:            "new-users",
	ExistingUsers:       "existing-users",
	PasswordDeprecation: "password-deprecation",
	PasswordRetirement:  "password-retirement",
}

// Phases returns every phase in order.
func Phases() []Phase {
	ps := make([]Phase, len(phaseNames))
	for i := range ps {
		ps[i] = Phase(i)
	}
	return ps
}

// Valid reports whether p is one of the phases above.
func (p Phase) Valid() bool { return p >= Off && int(p) < len(phaseNames) }

// String returns the phase's name as the API and the CLI spell it.
func (p Phase) String() string {
	if !p.Valid() {
		return fmt.Sprintf("Phase(%d)", int(p))
	}
	return phaseNames[p]
}

// ParsePhase reads a phase name ("new-users"); case and surrounding space do
// not matter, and an underscore stands for a hyphen.
func ParsePhase(s string) (Phase, error) {
	name := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-")
	for i, n := range phaseNames {
		if n == name {
			return Phase(i), nil
		}
	}
	return Off, fmt.Errorf("unknown rollout phase %q (want one of %s)", s, strings.Join(phaseNames[:], ", "))
}

// MarshalText spells the phase by name, for JSON and YAML.
func (p Phase) MarshalText() ([]byte, error) {
	if !p.Valid() {
		return nil, fmt.Errorf("invalid rollout phase %d", int(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText reads a phase by name.
func (p *Phase) UnmarshalText(b []byte) error {
	q, err := ParsePhase(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}
