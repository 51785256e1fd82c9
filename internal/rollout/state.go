package rollout

import (
	"fmt"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// State is the rollout as stored: one row per install, read by every node.
type State struct {
	Phase   Phase
	Percent int
	// Internal is the dogfood cohort.
	Internal Internal
	// Salt keys the ramp's hash. Made once per install and never shown: it
	// keeps buckets unpredictable and the same across restarts and nodes.
	Salt []byte
	// NewUsersSince is when the rollout last moved from below new-users to
	// new-users or later; accounts made since then are new members. Zero
	// while the phase is below new-users.
	NewUsersSince time.Time
	// Held is set while the rollout holds itself after a guardrail tripped
	// (guardrails.hold): no nudge and no automatic upgrade until the operator
	// moves or releases it. HeldReasons says why.
	Held        bool
	HeldReasons []string
	UpdatedAt   time.Time
	UpdatedBy   string
}

// Default is a fresh install's rollout: existing-users at 100 %, which is
// what keyshift did before it had a rollout, so an upgrade changes nothing
// for members.
func Default(salt []byte, now time.Time) State {
	return State{Phase: ExistingUsers, Percent: 100, Salt: salt, NewUsersSince: now, UpdatedAt: now, UpdatedBy: "install"}
}

// Change is what an operator asks for: any subset of the writable fields,
// with the reason recorded in the audit.
type Change struct {
	Phase    *Phase
	Percent  *int
	Internal *Internal
	// Release clears a hold without moving the phase.
	Release bool
	Reason  string
	// Force allows lowering the percentage (members leave the ramp) and
	// advancing while a guardrail is tripped.
	Force bool
}

// Audit is what a change records: who, when, from what, to what, and why.
type Audit struct {
	By       string
	At       time.Time
	From, To State
	Reason   string
	Forced   bool
	// Tripped lists the guardrails that were tripped when the change was
	// made (so a forced advance says what it overrode).
	Tripped []string
}

// Apply returns the state after change ch, made by who at now while the
// guardrails named in tripped are tripped. It refuses a change that is
// malformed (invalid_request), lowers the percentage without Force, or
// advances the phase past a tripped guardrail without Force
// (force_required, with the reason). Moving the phase back is always
// allowed: it is how an operator answers a tripped guardrail.
func Apply(cur State, ch Change, tripped []string, who string, now time.Time) (State, Audit, error) {
	next := cur
	if err := ch.validate(); err != nil {
		return cur, Audit{}, err
	}
	if ch.Percent != nil {
		if *ch.Percent < cur.Percent && !ch.Force {
			return cur, Audit{}, &account.Error{Code: account.EForceRequired, Reason: "percent_lowered",
				Detail: fmt.Sprintf("lowering the ramp from %d %% to %d %% takes members out of the rollout; confirm with force", cur.Percent, *ch.Percent)}
		}
		next.Percent = *ch.Percent
	}
	if ch.Phase != nil {
		if *ch.Phase > cur.Phase && len(tripped) > 0 && !ch.Force {
			return cur, Audit{}, &account.Error{Code: account.EForceRequired, Reason: "guardrail_tripped",
				Detail: fmt.Sprintf("a guardrail is tripped (%s); advancing needs force", tripped[0])}
		}
		next.Phase = *ch.Phase
		if cur.Phase < NewUsers && next.Phase >= NewUsers {
			next.NewUsersSince = now
		}
		if next.Phase < NewUsers {
			next.NewUsersSince = time.Time{}
		}
	}
	if ch.Internal != nil {
		next.Internal = ch.Internal.normalized()
	}
	if ch.Phase != nil || ch.Release {
		next.Held, next.HeldReasons = false, nil
	}
	next.UpdatedAt, next.UpdatedBy = now, who
	audit := Audit{By: who, At: now, From: cur, To: next, Reason: ch.Reason, Forced: ch.Force}
	if ch.Force {
		audit.Tripped = tripped
	}
	return next, audit, nil
}

func (ch Change) validate() error {
	if ch.Phase != nil && !ch.Phase.Valid() {
		return account.Errorf(account.EInvalidRequest, "unknown rollout phase %d", int(*ch.Phase))
	}
	if ch.Percent != nil && (*ch.Percent < 0 || *ch.Percent > 100) {
		return &account.Error{Code: account.EInvalidRequest, Field: "percent", Detail: fmt.Sprintf("percent must be 0 to 100, not %d", *ch.Percent)}
	}
	if ch.Phase == nil && ch.Percent == nil && ch.Internal == nil && !ch.Release {
		return account.Errorf(account.EInvalidRequest, "nothing to change: give a phase, a percent, the internal cohort or a release")
	}
	if len(ch.Reason) > 500 {
		return &account.Error{Code: account.EInvalidRequest, Field: "reason", Detail: "the reason is longer than 500 characters"}
	}
	return nil
}

// Hold returns the state holding itself for reasons, as the guardrails'
// watcher records it. A state already held keeps its first reasons.
func Hold(cur State, reasons []string, now time.Time) State {
	if cur.Held || len(reasons) == 0 {
		return cur
	}
	cur.Held, cur.HeldReasons = true, reasons
	cur.UpdatedAt, cur.UpdatedBy = now, "guardrails"
	return cur
}
