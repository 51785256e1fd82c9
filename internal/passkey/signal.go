package passkey

import (
	"context"

	"github.com/keyshift/keyshift/internal/account"
)

// Accepted is what a browser's Signal API (WebAuthn L3 §5.1.10) needs to
// bring the member's password managers in step with keyshift: every
// passkey id keyshift accepts for the member's user handle — a manager
// hides the ones not listed, deleted here or refused after it made them —
// and the names a manager shows for the account, which an email change
// leaves stale otherwise.
type Accepted struct {
	RPID          string
	UserHandle    []byte
	CredentialIDs [][]byte
	Name          string
	DisplayName   string
}

// Accepted reads u's passkeys for the Signal API.
func (s *Service) Accepted(ctx context.Context, u *account.User) (*Accepted, error) {
	creds, err := s.store.ListPasskeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	ids := make([][]byte, len(creds))
	for i, c := range creds {
		ids[i] = c.CredentialID
	}
	return &Accepted{RPID: s.cfg.RPID, UserHandle: u.WebAuthnID, CredentialIDs: ids, Name: u.Email, DisplayName: displayName(u)}, nil
}
