package rollout

import "fmt"

// Guardrails are the operator's limits on what telemetry may show while the
// rollout advances. A zero limit is off.
type Guardrails struct {
	// PasskeySuccessMin is the lowest passkey sign-in success rate, in
	// percent, over the last PasskeyWindow attempts.
	PasskeySuccessMin float64 `json:"passkeySuccessMin" yaml:"passkey_success_min"`
	// PasskeyWindow is how many of the latest passkey sign-in attempts the
	// rate is taken over; fewer attempts than that trip nothing.
	PasskeyWindow int `json:"passkeyWindow" yaml:"passkey_window"`
	// RecoveryRiseMax is the largest rise, in percent, of recovery-channel
	// uses this week over last week.
	RecoveryRiseMax float64 `json:"recoveryRiseMax" yaml:"recovery_rise_max"`
	// RecoveryMinUses is how many recovery uses this week it takes before a
	// rise counts, so that one use after none is not "a rise of ∞ %".
	RecoveryMinUses int `json:"recoveryMinUses" yaml:"recovery_min_uses"`
	// DuplicatesPerHourMax is the most duplicate-passkey errors
	// (InvalidStateError reports and passkey_exists refusals) in the last hour.
	DuplicatesPerHourMax int `json:"duplicatesPerHourMax" yaml:"duplicates_per_hour_max"`
	// Hold makes a tripped guardrail hold the rollout (no nudge, no automatic
	// upgrade) until the operator moves or releases it.
	Hold bool `json:"hold" yaml:"hold"`
}

// DefaultGuardrails are limits that a working rollout never meets: passkey
// sign-ins below 90 % over 200 attempts, recovery up by more than half week
// over week (once 20 uses a week), more than 50 duplicate-passkey errors an
// hour. They refuse advancing; they do not hold by themselves.
func DefaultGuardrails() Guardrails {
	return Guardrails{PasskeySuccessMin: 90, PasskeyWindow: 200, RecoveryRiseMax: 50, RecoveryMinUses: 20, DuplicatesPerHourMax: 50}
}

// Figures are what telemetry measured, as the guardrails read them.
type Figures struct {
	// PasskeyAttempts and PasskeySuccesses count the latest passkey sign-in
	// attempts, at most the window's number.
	PasskeyAttempts, PasskeySuccesses int
	// RecoveryThisWeek and RecoveryLastWeek count recovery-channel uses (email
	// sign-ins of passkey members, recovery codes, support recoveries) in the
	// last seven days and the seven before.
	RecoveryThisWeek, RecoveryLastWeek int
	// DuplicatesLastHour counts duplicate-passkey errors in the last hour.
	DuplicatesLastHour int
}

// Trip names one tripped guardrail: a stable name and a sentence for a
// person.
type Trip struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// Check returns the guardrails g that figures f trip, in a fixed order.
func (g Guardrails) Check(f Figures) []Trip {
	var trips []Trip
	if g.PasskeySuccessMin > 0 && g.PasskeyWindow > 0 && f.PasskeyAttempts >= g.PasskeyWindow {
		rate := 100 * float64(f.PasskeySuccesses) / float64(f.PasskeyAttempts)
		if rate < g.PasskeySuccessMin {
			trips = append(trips, Trip{"passkey_success_rate", fmt.Sprintf(
				"passkey sign-ins succeeded %.1f %% of the last %d attempts, below %.1f %%", rate, f.PasskeyAttempts, g.PasskeySuccessMin)})
		}
	}
	if g.RecoveryRiseMax > 0 && f.RecoveryThisWeek >= max(g.RecoveryMinUses, 1) {
		if f.RecoveryLastWeek == 0 {
			trips = append(trips, Trip{"recovery_rise", fmt.Sprintf(
				"%d recovery uses this week after none the week before", f.RecoveryThisWeek)})
		} else if rise := 100 * (float64(f.RecoveryThisWeek)/float64(f.RecoveryLastWeek) - 1); rise > g.RecoveryRiseMax {
			trips = append(trips, Trip{"recovery_rise", fmt.Sprintf(
				"recovery uses rose %.0f %% week over week (%d after %d), more than %.0f %%", rise, f.RecoveryThisWeek, f.RecoveryLastWeek, g.RecoveryRiseMax)})
		}
	}
	if g.DuplicatesPerHourMax > 0 && f.DuplicatesLastHour > g.DuplicatesPerHourMax {
		trips = append(trips, Trip{"duplicate_passkeys", fmt.Sprintf(
			"%d duplicate-passkey errors in the last hour, more than %d", f.DuplicatesLastHour, g.DuplicatesPerHourMax)})
	}
	return trips
}

// Names returns the names of trips, for Apply and the audit.
func Names(trips []Trip) []string {
	names := make([]string, len(trips))
	for i, t := range trips {
		names[i] = t.Name
	}
	return names
}
