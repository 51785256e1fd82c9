package rollout

import "time"

// The nudge's snoozes: "Not now" the first time waits a week, every later
// time a month.
const (
	FirstSnooze = 7 * 24 * time.Hour
	LaterSnooze = 30 * 24 * time.Hour
)

// Nudge is a member's answers to the enrollment nudge.
type Nudge struct {
	// Never: the member chose "Don't ask again" (undone in /account).
	Never bool
	// Snoozes counts "Not now" answers; Until is when the last one ends.
	Snoozes int
	Until   time.Time
}

// Due reports whether the nudge may be shown at now: not declined for good
// and not snoozed. The offer table and the session decide the rest (never
// twice in a session, never after a passkey sign-in, never without WebAuthn).
func (n Nudge) Due(now time.Time) bool { return !n.Never && !now.Before(n.Until) }

// Later returns the nudge after "Not now" at now.
func (n Nudge) Later(now time.Time) Nudge {
	wait := FirstSnooze
	if n.Snoozes > 0 {
		wait = LaterSnooze
	}
	n.Snoozes++
	n.Until = now.Add(wait)
	return n
}

// Decline returns the nudge after "Don't ask again".
func (n Nudge) Decline() Nudge { n.Never = true; return n }

// Undecline returns the nudge after the member asks to be asked again in
// /account: due at once, snoozes forgotten.
func (n Nudge) Undecline() Nudge { return Nudge{} }

// Answers are a member's answers to the rollout: the opt-ins of /account
// and the nudge.
type Answers struct {
	// Beta: "Try passkeys" is on (the beta cohort).
	Beta bool
	// Passwordless: "Go passwordless" is on (consent to retire the password).
	Passwordless bool
	Nudge        Nudge
}
