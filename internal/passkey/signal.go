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

// Standing is what every page and session answer of a signed-in member
// shows of their passkeys: the Signal API's list and the passkeys on
// probation sw's session is warned of (Probations), from one read — GET
// /api/session is the most frequent authenticated request — and none for
// a member without a passkey, whose empty list hides every passkey a
// manager still keeps for the account.
func (s *Service) Standing(ctx context.Context, sw *account.SessionWithUser) (*Accepted, []Probation, error) {
	var creds []account.Credential
	if sw.User.PasskeyCount > 0 {
		var err error
		if creds, err = s.store.ListPasskeys(ctx, sw.User.ID); err != nil {
			return nil, nil, err
		}
	}
	return s.acceptedOf(&sw.User, creds), s.probationsOf(creds, sw), nil
}

func (s *Service) acceptedOf(u *account.User, creds []account.Credential) *Accepted {
	ids := make([][]byte, len(creds))
	for i, c := range creds {
		ids[i] = c.CredentialID
	}
	return &Accepted{RPID: s.cfg.RPID, UserHandle: u.WebAuthnID, CredentialIDs: ids, Name: u.Email, DisplayName: displayName(u)}
}
