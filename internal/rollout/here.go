package rollout

import (
	"context"

	"github.com/keyshift/keyshift/internal/account"
)

// OfferHere reports whether, after u signed in with a passkey from another
// device (a phone over hybrid, a security key), the answer should offer a
// passkey on this device ("next": "enroll_passkey"): the rollout reaches u
// (a member with passkeys may always add one, but only a member the phase
// reaches is asked to), is not held, and u neither snoozed nor declined
// the nudge. The member proved they use passkeys; one on this device
// spares them the phone next time.
func (s *Service) OfferHere(ctx context.Context, u *account.User) (bool, error) {
	st, err := s.Current(ctx)
	if err != nil {
		return false, err
	}
	a, err := s.store.RolloutAnswers(ctx, u.ID)
	if err != nil {
		return false, err
	}
	return reached(st.Phase, MemberOf(st, u, a)) && !st.Held && a.Nudge.Due(s.now()), nil
}
