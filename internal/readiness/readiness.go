// Package readiness judges how well an account survives the loss of a
// device: the classes /account shows as a checklist, the nudge pushes
// members up, and `keyshift audit` counts. It is one rule, in one place.
package readiness

// Class is how an account would fare if its member lost a device.
type Class string

const (
	// Strong: two or more passkeys, or a synced passkey plus recovery
	// codes — one loss leaves a way in that bypasses nobody's mailbox.
	Strong Class = "strong"
	// OK: a passkey with a fallback that still works after one loss
	// (a synced passkey alone, or a device-bound one with a password or
	// codes).
	OK Class = "ok"
	// Weak: no passkey — email only, or a password (phishable).
	Weak Class = "weak"
	// AtRisk: one device-bound passkey and nothing else: losing that device
	// leaves only email sign-in.
	AtRisk Class = "at_risk"
)

// Classes lists every class, strongest first.
var Classes = []Class{Strong, OK, Weak, AtRisk}

// Holdings is what an account holds, as far as readiness cares.
type Holdings struct {
	// Passkeys is how many passkeys the account has; Synced whether any of
	// them is backup eligible (a password manager or platform keychain may
	// copy it to the member's other devices).
	Passkeys int
	Synced   bool
	Password bool
	// RecoveryCodes is how many unused recovery codes are left.
	RecoveryCodes int
}

// Of classes h.
func Of(h Holdings) Class {
	switch {
	case h.Passkeys >= 2, h.Passkeys == 1 && h.Synced && h.RecoveryCodes > 0:
		return Strong
	case h.Passkeys == 0:
		return Weak
	case !h.Synced && !h.Password && h.RecoveryCodes == 0:
		return AtRisk
	default:
		return OK
	}
}

// Step is one thing a member can do to move up a class.
type Step string

const (
	AddPasskey         Step = "add_passkey"
	AddSecondPasskey   Step = "add_second_passkey"
	MakeRecoveryCodes  Step = "make_recovery_codes"
	RenewRecoveryCodes Step = "renew_recovery_codes"
)

// LowCodes is the number of recovery codes left at which the member is told
// to make new ones.
const LowCodes = 2

// Next is what h's member should do next, most useful first; nothing for
// a strong account with codes to spare.
func Next(h Holdings) []Step {
	var steps []Step
	switch {
	case h.Passkeys == 0:
		steps = append(steps, AddPasskey)
	case h.Passkeys == 1:
		steps = append(steps, AddSecondPasskey)
	}
	switch {
	case h.RecoveryCodes == 0:
		steps = append(steps, MakeRecoveryCodes)
	case h.RecoveryCodes <= LowCodes:
		steps = append(steps, RenewRecoveryCodes)
	}
	return steps
}
