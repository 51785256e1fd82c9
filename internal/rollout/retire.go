package rollout

import (
	"fmt"
	"time"
)

// DefaultPasskeyDays is how long a member must have signed in with a
// passkey before their password may be retired.
const DefaultPasskeyDays = 90

// Readiness is what retiring a member's password depends on.
type Readiness struct {
	OptedIn bool // "Go passwordless" in /account
	// FirstPasskeySignin is when the member first signed in with a passkey;
	// zero if never.
	FirstPasskeySignin time.Time
	Passkeys           int
	SyncedPasskeys     int // backed up (BS flag) passkeys
	RecoveryCodes      int // unused recovery codes
	HasPassword        bool
}

// NotReady says why an account's password may not be retired: a stable
// reason and a sentence for the member.
type NotReady struct {
	Reason  string
	Message string
}

func (n *NotReady) Error() string { return n.Reason + ": " + n.Message }

// Ready reports whether r's password may be retired at now after days of
// passkey use, and if not, why, so that /account can explain a refusal and
// `keyshift rollout retire --dry-run` can count reasons. Consent is checked
// too: nobody loses a password without opting in.
func (r Readiness) Ready(now time.Time, days int) *NotReady {
	switch {
	case !r.HasPassword:
		return &NotReady{"no_password", "The account has no password to retire."}
	case !r.OptedIn:
		return &NotReady{"not_opted_in", "The member has not chosen to go passwordless."}
	case r.FirstPasskeySignin.IsZero():
		return &NotReady{"no_passkey_signin", "The member has never signed in with a passkey."}
	case now.Sub(r.FirstPasskeySignin) < time.Duration(days)*24*time.Hour:
		left := time.Duration(days)*24*time.Hour - now.Sub(r.FirstPasskeySignin)
		return &NotReady{"passkey_too_recent", fmt.Sprintf(
			"Passkey sign-ins began less than %d days ago; %d days to go.", days, int(left.Hours()/24)+1)}
	case r.Passkeys >= 2:
		return nil
	case r.SyncedPasskeys >= 1 && r.RecoveryCodes > 0:
		return nil
	default:
		return &NotReady{"single_device", "Add a second passkey, or keep a synced passkey and recovery codes, so that losing one device does not lock you out."}
	}
}

// Candidate is a member who chose "Go passwordless", with what their
// readiness depends on.
type Candidate struct {
	UserID string
	Email  string
	Readiness
}

// RetireReport is what `keyshift rollout retire` did or, with --dry-run,
// would do: whose passwords go, who opted in but is not ready and why, and
// how many members keep their password because they never opted in.
type RetireReport struct {
	Retired    []Candidate
	NotReady   []Refused
	NotOptedIn int
}

// Refused is an opted-in member whose password stays, and why.
type Refused struct {
	Candidate
	Why *NotReady
}

// AuditReason is the line the rollout's history keeps for a real run.
func (rep RetireReport) AuditReason() string {
	return fmt.Sprintf("retire: %d password(s) retired, %d opted in but not ready, %d never opted in",
		len(rep.Retired), len(rep.NotReady), rep.NotOptedIn)
}
