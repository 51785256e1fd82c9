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
		InRamp:      InRamp(st.Salt, u.ID, st.Percent),
		New:         !st.NewUsersSince.IsZero() && !u.CreatedAt.Before(st.NewUsersSince),
		HasPasskey:  u.PasskeyCount > 0,
		HasPassword: u.HasPassword,
	}
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
// a visitor by that key).
func (s *Service) ForVisitor(ctx context.Context, emailKey string) (Offer, error) {
	st, err := s.Current(ctx)
	if err != nil {
		return Offer{}, err
	}
	return Offers(st.Phase, Member{Visitor: true, Internal: st.Internal.Contains(emailKey), InRamp: InRamp(st.Salt, emailKey, st.Percent)}), nil
}

// CanAddPasskey refuses with not_in_rollout when the rollout does not let
// u add a passkey.
func (s *Service) CanAddPasskey(ctx context.Context, u *account.User) error {
	o, _, err := s.For(ctx, u)
	if err != nil {
		return err
	}
	if !o.AddPasskey {
		return &account.Error{Code: account.ENotInRollout, Detail: "passkeys are not offered to this member yet"}
	}
	return nil
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

// The member's answers to the nudge (POST /api/nudge) and in /account.
const (
	NudgeLater    = "later"
	NudgeNever    = "never"
	NudgeAskAgain = "ask_again"
)

// AnswerNudge records u's answer to the nudge: "later" (snooze a week, then
// a month), "never", or "ask_again" (undo "never" from /account).
func (s *Service) AnswerNudge(ctx context.Context, u *account.User, action string) error {
	a, err := s.store.RolloutAnswers(ctx, u.ID)
	if err != nil {
		return err
	}
	switch action {
	case NudgeLater:
		a.Nudge = a.Nudge.Later(s.now())
	case NudgeNever:
		a.Nudge = a.Nudge.Decline()
	case NudgeAskAgain:
		a.Nudge = a.Nudge.Undecline()
	default:
		return &account.Error{Code: account.EInvalidRequest, Field: "action",
			Detail: fmt.Sprintf("action must be %q, %q or %q, not %q", NudgeLater, NudgeNever, NudgeAskAgain, action)}
	}
	return s.store.SetRolloutAnswers(ctx, u.ID, a, s.now())
}

// Preferences are a member's opt-ins (GET/PUT /api/account/preferences).
type Preferences struct {
	PasskeyBeta  *bool `json:"passkeyBeta"`
	Passwordless *bool `json:"passwordless"`
}

// SetPreferences records u's opt-ins: "Try passkeys" always; "Go
// passwordless" only while the account has what retirement requires
// besides time (a password to retire, and two passkeys or a synced one
// with recovery codes) — otherwise 409 not_ready with the reason.
func (s *Service) SetPreferences(ctx context.Context, u *account.User, p Preferences, r Readiness) (Answers, error) {
	a, err := s.store.RolloutAnswers(ctx, u.ID)
	if err != nil {
		return a, err
	}
	if p.PasskeyBeta != nil {
		a.Beta = *p.PasskeyBeta
	}
	if p.Passwordless != nil && *p.Passwordless && !a.Passwordless {
		r.OptedIn, r.FirstPasskeySignin = true, s.now().AddDate(-100, 0, 0) // time is judged at retirement, not here
		if why := r.Ready(s.now(), 0); why != nil {
			return a, &account.Error{Code: account.ENotReady, Reason: why.Reason, Detail: why.Message}
		}
	}
	if p.Passwordless != nil {
		a.Passwordless = *p.Passwordless
	}
	return a, s.store.SetRolloutAnswers(ctx, u.ID, a, s.now())
}
