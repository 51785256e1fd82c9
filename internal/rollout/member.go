package rollout

import (
	"context"
	"fmt"

	"github.com/keyshift/keyshift/internal/account"
)

// MemberOf places u in the rollout st as the offer table needs it, with
// the member's answers a.
func MemberOf(st State, u *account.User, a Answers) Member {
	return Member{
		Internal:    st.Internal.Contains(u.EmailKey),
		Beta:        a.Beta,
		InRamp:      InRamp(st.Salt, rampSubject(u), st.Percent),
		New:         !st.NewUsersSince.IsZero() && !u.CreatedAt.Before(st.NewUsersSince),
		HasPasskey:  u.PasskeyCount > 0,
		HasPassword: u.HasPassword,
	}
}

// rampSubject is what the ramp places u by: the subject u had as a visitor
// when the account was made from an address, so that the ramp that offered
// the passkey sign-up lets the new member add it; else u's id.
func rampSubject(u *account.User) string {
	if u.RampSubject != "" {
		return u.RampSubject
	}
	return u.ID
}

// For returns what the rollout offers u now, and u's answers. While the
// guardrails hold the rollout, nobody is nudged.
func (s *Service) For(ctx context.Context, u *account.User) (Offer, Answers, error) {
	st, err := s.Current(ctx)
	if err != nil {
		return Offer{}, Answers{}, err
	}
	a, err := s.store.RolloutAnswers(ctx, u.ID)
	if err != nil {
		return Offer{}, Answers{}, err
	}
	o := Offers(st.Phase, MemberOf(st, u, a))
	if st.Held {
		o.NudgeAfterSignin, o.NudgeAfterSignup = false, false
	}
	return o, a, nil
}

// ForVisitor returns what the rollout offers someone about to make an
// account for the address whose canonical key is emailKey (the ramp places
// a visitor by account.AddressRampSubject of that key, which the account
// made from it keeps).
func (s *Service) ForVisitor(ctx context.Context, emailKey string) (Offer, error) {
	st, err := s.Current(ctx)
	if err != nil {
		return Offer{}, err
	}
	return Offers(st.Phase, Member{Visitor: true, Internal: st.Internal.Contains(emailKey), InRamp: InRamp(st.Salt, account.AddressRampSubject(emailKey), st.Percent)}), nil
}

// CanAddPasskey refuses with not_in_rollout when the rollout does not let
// u add a passkey.
func (s *Service) CanAddPasskey(ctx context.Context, u *account.User) error {
	o, _, err := s.For(ctx, u)
	if err != nil {
		return err
	}
	if !o.AddPasskey {
		return notInRollout()
	}
	return nil
}

// CanUpgrade refuses with not_in_rollout when the browser may not save a
// passkey for u by itself (the automatic upgrade): the rollout does not let
// u add one, or the guardrails hold the rollout.
func (s *Service) CanUpgrade(ctx context.Context, u *account.User) error {
	st, err := s.Current(ctx)
	if err != nil {
		return err
	}
	if st.Held {
		return &account.Error{Code: account.ENotInRollout, Reason: "held", Detail: "the rollout is held by its guardrails"}
	}
	return s.CanAddPasskey(ctx, u)
}

// NudgeAfter reports whether the answer to u's sign-in by method (or to
// their sign-up, when signup) should say "next": "enroll_passkey": the
// rollout offers the nudge, u has no passkey, and u neither snoozed nor
// declined it. Never after a passkey sign-in.
func (s *Service) NudgeAfter(ctx context.Context, u *account.User, method account.AuthMethod, signup bool) (bool, error) {
	if method.IsPasskey() || u.PasskeyCount > 0 {
		return false, nil
	}
	o, a, err := s.For(ctx, u)
	if err != nil {
		return false, err
	}
	if signup {
		return o.NudgeAfterSignup, nil
	}
	return o.NudgeAfterSignin && a.Nudge.Due(s.now()), nil
}

// Events of the nudge and the member's opt-ins: every impression and
// every answer, so the operator can tell a nudge that works from one that
// annoys.
const (
	// EventNudgeShown: a sign-in or sign-up answer said "next":
	// "enroll_passkey" (Data "after": "signin" or "signup"; Method the
	// sign-in's).
	EventNudgeShown = "nudge_shown"
	// EventNudgeAnswered: the member answered the nudge (Data "action").
	EventNudgeAnswered = "nudge_answered"
	// EventPreferencesChanged: "Try passkeys" or "Go passwordless" moved
	// (Data "passkeyBeta", "passwordless": the new values).
	EventPreferencesChanged = "rollout_preferences_changed"
)

// Nudge decides the "next" of the answer to the sign-in (or, when signup,
// sign-up) res, as NudgeAfter does, and records the impression — on the
// session, so one session is nudged at most once, and as an event, in one
// transaction.
func (s *Service) Nudge(ctx context.Context, res *account.SigninResult, signup bool, c account.Client) (bool, error) {
	ok, err := s.NudgeAfter(ctx, &res.User, res.Session.AuthMethod, signup)
	if err != nil || !ok {
		return false, err
	}
	after := "signin"
	if signup {
		after = "signup"
	}
	shown := false
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		first, err := s.store.MarkSessionNudged(ctx, res.Session.ID, s.now())
		if err != nil || !first {
			return err
		}
		shown = true
		return s.audit.Record(ctx, &account.Event{Type: EventNudgeShown, UserID: res.User.ID, SessionID: res.Session.ID,
			Method: string(res.Session.AuthMethod), Outcome: account.OutcomeSuccess, Data: map[string]any{"after": after}}, c)
	})
	return shown && err == nil, err
}

// The member's answers to the nudge (POST /api/nudge) and in /account.
const (
	NudgeLater    = "later"
	NudgeNever    = "never"
	NudgeAskAgain = "ask_again"
)

// AnswerNudge records u's answer to the nudge: "later" (snooze a week, then
// a month), "never", or "ask_again" (undo "never" from /account). A member
// the rollout does not let add a passkey has no nudge to answer:
// not_in_rollout.
func (s *Service) AnswerNudge(ctx context.Context, u *account.User, action string, c account.Client) error {
	if action != NudgeLater && action != NudgeNever && action != NudgeAskAgain {
		return &account.Error{Code: account.EInvalidRequest, Field: "action",
			Detail: fmt.Sprintf("action must be %q, %q or %q, not %q", NudgeLater, NudgeNever, NudgeAskAgain, action)}
	}
	o, a, err := s.For(ctx, u)
	if err != nil {
		return err
	}
	if !o.AddPasskey {
		return notInRollout()
	}
	switch action {
	case NudgeLater:
		a.Nudge = a.Nudge.Later(s.now())
	case NudgeNever:
		a.Nudge = a.Nudge.Decline()
	case NudgeAskAgain:
		a.Nudge = a.Nudge.Undecline()
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.SetRolloutAnswers(ctx, u.ID, a, s.now()); err != nil {
			return err
		}
		return s.audit.Record(ctx, &account.Event{Type: EventNudgeAnswered, UserID: u.ID, Outcome: account.OutcomeSuccess,
			Data: map[string]any{"action": action}}, c)
	})
}

func notInRollout() *account.Error {
	return &account.Error{Code: account.ENotInRollout, Detail: "passkeys are not offered to this member yet"}
}

// Preferences are a member's opt-ins (GET/PUT /api/account/preferences).
type Preferences struct {
	PasskeyBeta  *bool `json:"passkeyBeta"`
	Passwordless *bool `json:"passwordless"`
}

// SetPreferences records the opt-ins of sw's member, in this order of
// refusals:
//   - "Go passwordless" on is consent to lose the password: it needs a
//     fresh session (RequireFresh, before anything is read), the
//     password-retirement phase reaching the member (else not_in_rollout),
//     and an account that has what retirement requires besides time — a
//     password to retire, and two passkeys or a synced one with recovery
//     codes (else 409 not_ready with the reason);
//   - "Try passkeys" on needs the beta phase or later (else
//     not_in_rollout): before it the switch does nothing.
//
// Switching either off is always allowed.
func (s *Service) SetPreferences(ctx context.Context, sw *account.SessionWithUser, p Preferences, c account.Client) (Answers, error) {
	on := func(b *bool) bool { return b != nil && *b }
	if on(p.Passwordless) {
		if err := sw.RequireFresh(s.now(), s.window, account.ActionRetirePassword); err != nil {
			return Answers{}, err
		}
	}
	st, err := s.Current(ctx)
	if err != nil {
		return Answers{}, err
	}
	u := &sw.User
	a, err := s.store.RolloutAnswers(ctx, u.ID)
	if err != nil {
		return a, err
	}
	if on(p.PasskeyBeta) && st.Phase < Beta {
		return a, &account.Error{Code: account.ENotInRollout, Reason: "beta_closed", Detail: "the passkey beta is not open yet"}
	}
	if on(p.Passwordless) && !a.Passwordless {
		if st.Phase < PasswordRetirement || !reached(st.Phase, MemberOf(st, u, a)) {
			return a, &account.Error{Code: account.ENotInRollout, Reason: "retirement_closed", Detail: "passwords are not retired for this member yet"}
		}
		why, err := s.PasswordlessBlocker(ctx, u.ID)
		if err != nil {
			return a, err
		}
		if why != nil {
			return a, &account.Error{Code: account.ENotReady, Reason: why.Reason, Detail: why.Message}
		}
	}
	before := a
	if p.PasskeyBeta != nil {
		a.Beta = *p.PasskeyBeta
	}
	if p.Passwordless != nil {
		a.Passwordless = *p.Passwordless
	}
	if a == before {
		return a, nil
	}
	return a, s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.SetRolloutAnswers(ctx, u.ID, a, s.now()); err != nil {
			return err
		}
		return s.audit.Record(ctx, &account.Event{Type: EventPreferencesChanged, UserID: u.ID, SessionID: sw.Session.ID,
			Outcome: account.OutcomeSuccess, Data: map[string]any{"passkeyBeta": a.Beta, "passwordless": a.Passwordless}}, c)
	})
}

// PasswordlessBlocker returns what keeps userID from going passwordless
// now — no password to retire, or a single device — or nil. Time is judged
// at retirement, not here: the opt-in comes first.
func (s *Service) PasswordlessBlocker(ctx context.Context, userID string) (*NotReady, error) {
	r, err := s.store.RolloutReadiness(ctx, userID)
	if err != nil {
		return nil, err
	}
	r.OptedIn, r.FirstPasskeySignin = true, s.now().AddDate(-100, 0, 0)
	return r.Ready(s.now(), 0), nil
}

// Answers returns the member's answers to the rollout.
func (s *Service) Answers(ctx context.Context, userID string) (Answers, error) {
	return s.store.RolloutAnswers(ctx, userID)
}

// The cohorts telemetry reports a member in: how the rollout reaches them,
// the first that applies, or CohortRest when it does not (yet).
const (
	CohortInternal = "internal"
	CohortRamp     = "ramp"
	CohortBeta     = "beta"
	CohortRest     = "rest"
)

// CohortOf names the cohort u is in under st with answers a: internal
// (the dogfood list), ramp (within the percentage), beta (switched "Try
// passkeys" on while outside the ramp) or rest. It does not look at the
// phase: a cohort is who a member is, the phase what the cohort is offered,
// so a figure by cohort reads the same before and after a phase moves.
// Beta comes after the ramp so that only members outside both need their
// answers read (NeedsAnswers): a sign-in's telemetry then costs no read.
func CohortOf(st State, u *account.User, a Answers) string {
	switch m := MemberOf(st, u, a); {
	case m.Internal:
		return CohortInternal
	case m.InRamp:
		return CohortRamp
	case m.Beta:
		return CohortBeta
	}
	return CohortRest
}

// NeedsAnswers reports whether CohortOf needs u's answers to place u: only
// for a member neither internal nor within the ramp.
func NeedsAnswers(st State, u *account.User) bool {
	return !st.Internal.Contains(u.EmailKey) && !InRamp(st.Salt, rampSubject(u), st.Percent)
}
