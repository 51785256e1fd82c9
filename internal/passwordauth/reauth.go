package passwordauth

import (
	"context"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// Reauth steps sw's session up with the account's password (POST
// /api/reauth/finish with a password) and returns the session's new token
// and the step-up's time. Only a member without a passkey may: for one
// with a passkey only a passkey proves presence (EReauthRequired, reason
// "passkey"), so a stolen password cannot reopen what the passkey guards. The password is checked
// under the same throttle keys as a password sign-in, before the hash runs;
// a wrong one is EWrongPassword (field "password") and an audit event.
func (s *Service) Reauth(ctx context.Context, sw *account.SessionWithUser, pw string, c account.Client) (string, time.Time, error) {
	u := sw.User
	if u.PasskeyCount > 0 {
		return "", time.Time{}, &account.Error{Code: account.EReauthRequired, Reason: "passkey", Detail: "confirm with one of your passkeys"}
	}
	cred, err := s.store.FindPasswordCredential(ctx, u.ID)
	if account.IsCode(err, account.ENotFound) {
		return "", time.Time{}, &account.Error{Code: account.EInvalidRequest, Field: "password", Reason: "no_password",
			Detail: "this account has no password; confirm with a code sent to your address"}
	}
	if err != nil {
		return "", time.Time{}, err
	}
	if err := s.checkOwnPassword(ctx, &u, cred, pw, c, account.EventReauth, "password"); err != nil {
		return "", time.Time{}, err
	}
	var token string
	var at time.Time
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if token, at, err = s.d.Sessions.StepUp(ctx, sw.Session.ID, account.MethodPassword, ""); err != nil {
			return err
		}
		return s.d.Audit.Record(ctx, &account.Event{Type: account.EventReauth, UserID: u.ID, SessionID: sw.Session.ID,
			Method: string(account.MethodPassword), Outcome: account.OutcomeSuccess}, c)
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return token, at, nil
}
