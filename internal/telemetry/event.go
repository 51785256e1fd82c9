// Package telemetry is the rollout's instrument panel: what happened at
// every sign-in, sign-up, enrollment and nudge (Event, written by the
// Recorder in the transaction of what it describes), hourly counters folded
// from those events by one Folder at a time, and the figures the operator
// reads (Figures: the metrics document of the admin API, `keyshift
// report`, the dashboard).
//
// Telemetry keeps no IP address and no User-Agent: a browser family and an
// operating system at most. Its rows are pruned after a retention period
// (Prune); the audit log it is drawn from stays append-only.
package telemetry

import (
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// Event is one thing the rollout's figures count. Kind says what; Method
// refines it (a sign-in's method, a nudge's answer, a recovery's channel).
type Event struct {
	ID      int64
	At      time.Time
	Kind    string
	Method  string
	Outcome string // account.OutcomeSuccess or account.OutcomeFailure; "" where none applies
	Code    string // why a sign-in failed (the refusal's reason), else ""
	// Phase and Cohort are the rollout's phase and the member's cohort
	// (rollout.CohortOf) when it happened; CohortUnknown for an attempt no
	// account is tied to.
	Phase  string
	Cohort string
	// UserID is the member's, "" when no account is tied to the attempt;
	// the folder counts active members by it.
	UserID string
	// HasPasskey: the member held a passkey when it happened (after it, for
	// a passkey added).
	HasPasskey bool
	// ClientMs is the page's own time to sign in (page load to success),
	// ServerMs the server's time for the request; 0 when not known.
	ClientMs int
	ServerMs int
	// Provider and Synced describe a passkey added or removed.
	Provider string
	Synced   bool
	// Browser and OS are coarse families ("Chrome", "Android"), never the
	// User-Agent itself.
	Browser string
	OS      string
}

// The kinds of event.
const (
	KindSignin = "signin" // Method: the sign-in method; Outcome, Code
	KindSignup = "signup" // Method: password, email_link or email_code
	// KindSignupPasskey: a sign-up whose account got its first passkey in
	// the session the sign-up started (passkey-first sign-up); Method is
	// how the account was made, which it counts as "passkey" instead.
	KindSignupPasskey  = "signup_passkey"
	KindPasskeyAdded   = "passkey_added"   // Method: MethodUpgrade or ""; Provider, Synced
	KindPasskeyRemoved = "passkey_removed" // Provider, Synced
	KindNudge          = "nudge"           // Method: NudgeShown, NudgeAccepted, NudgeLater, NudgeNever
	KindConditional    = "conditional"     // Method: ConditionalOffered or ConditionalUsed
	KindDuplicate      = "duplicate_passkey"
	KindRecovery       = "recovery" // Method: the channel (ChannelEmail, ChannelRecoveryCode, ChannelSupport)
)

// Refinements of the kinds.
const (
	// MethodUpgrade: a passkey the browser saved by itself right after a
	// password sign-in (the automatic upgrade).
	MethodUpgrade = "upgrade"

	NudgeShown    = "shown"
	NudgeAccepted = "accepted" // a passkey added in a nudged session
	NudgeLater    = "later"
	NudgeNever    = "never"

	ConditionalOffered = "offered" // the sign-in page started passkey autofill
	ConditionalUsed    = "used"    // a sign-in by passkey autofill

	DuplicateBrowser = "browser" // the browser refused: InvalidStateError
	DuplicateServer  = "server"  // the server refused: 409 passkey_exists

	ChannelEmail        = "email" // an email sign-in to an account that holds a passkey
	ChannelRecoveryCode = "recovery_code"
	ChannelSupport      = "support"
)

// CohortUnknown is the cohort of an attempt no account is tied to.
const CohortUnknown = "unknown"

// AllCohorts is the cohort under which the counters keep every cohort's
// sum (the store's; never an event's).
const AllCohorts = "*"

// SigninMethods are the sign-in methods, in the order figures list them.
var SigninMethods = []string{
	string(account.MethodPasskeyConditional), string(account.MethodPasskeyModal), string(account.MethodPasskeyUsername),
	string(account.MethodPassword), string(account.MethodEmailLink), string(account.MethodEmailCode),
	string(account.MethodRecoveryCode),
}

// Channels are the recovery channels, in the order figures list them.
var Channels = []string{ChannelEmail, ChannelRecoveryCode, ChannelSupport}

// MaxClientMs is the longest time to sign in a page may report: ten
// minutes. Longer, zero or negative values are not a sign-in's time (a tab
// left open overnight, a forged number) and are dropped, not clamped, so
// they cannot drag a percentile.
const MaxClientMs = 10 * 60 * 1000

// ClientMs returns the page's reported time to sign in when it is within
// (0, MaxClientMs], else 0.
func ClientMs(ms int) int {
	if ms <= 0 || ms > MaxClientMs {
		return 0
	}
	return ms
}

// ServerMs is the server's time for a request, in whole milliseconds (under
// one counts as one), or 0 when it is no time a request takes: negative or
// past MaxClientMs, as when the clock the request began by is not the one
// it ended by (a clock set back or forward meanwhile, a test's clock).
func ServerMs(d time.Duration) int {
	ms := d.Milliseconds()
	if d < 0 || ms > MaxClientMs {
		return 0
	}
	return max(1, int(ms))
}
