package account_test

import (
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// TestRequireFresh: a session is fresh for a sensitive action while a proof
// that counts for it — its sign-in or its later step-up — is at most the
// window old. For a member with a passkey only a passkey proof counts,
// except for adding a passkey; for a member without one, any proof does.
func TestRequireFresh(t *testing.T) {
	signin := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const window = 5 * time.Minute
	const (
		email   = account.MethodEmailLink
		code    = account.MethodEmailCode
		pw      = account.MethodPassword
		passkey = account.MethodPasskeyConditional
		stepKey = account.MethodPasskeyUsername
	)
	for _, tc := range []struct {
		name       string
		passkeys   int
		method     account.AuthMethod
		stepUp     time.Time
		stepMethod account.AuthMethod
		now        time.Time
		action     account.Action
		refusing   bool
		reason     string
	}{
		{"accepts a session just signed in", 0, pw, time.Time{}, "", signin, account.ActionRemovePassword, false, ""},
		{"accepts a sign-in exactly the window old", 0, pw, time.Time{}, "", signin.Add(window), account.ActionChangeEmail, false, ""},
		{"refuses a sign-in older than the window", 0, pw, time.Time{}, "", signin.Add(window + time.Millisecond), account.ActionChangeEmail, true, ""},
		{"accepts an old sign-in with a recent step-up", 0, pw, signin.Add(time.Hour), pw, signin.Add(time.Hour + time.Minute), account.ActionRecoveryCodes, false, ""},
		{"refuses a step-up older than the window", 0, pw, signin.Add(time.Hour), code, signin.Add(time.Hour + window + time.Second), account.ActionRecoveryCodes, true, ""},
		{"accepts an email-code step-up of a member without a passkey", 0, email, signin.Add(time.Hour), code, signin.Add(time.Hour + time.Minute), account.ActionChangePassword, false, ""},
		{"accepts a passkey sign-in of a passkey member", 1, passkey, time.Time{}, "", signin.Add(time.Minute), account.ActionRemovePasskey, false, ""},
		{"refuses an email sign-in of a passkey member", 1, email, time.Time{}, "", signin.Add(time.Minute), account.ActionRemovePasskey, true, "passkey"},
		{"refuses a password sign-in of a passkey member", 2, pw, time.Time{}, "", signin, account.ActionChangeEmail, true, "passkey"},
		{"refuses an email-code step-up of a passkey member", 1, email, signin.Add(time.Hour), code, signin.Add(time.Hour), account.ActionRecoveryCodes, true, "passkey"},
		{"refuses a step-up recorded before its method was", 1, passkey, signin.Add(time.Hour), "", signin.Add(time.Hour), account.ActionExport, true, "passkey"},
		{"accepts a passkey step-up after an email sign-in", 1, email, signin.Add(time.Hour), stepKey, signin.Add(time.Hour + time.Minute), account.ActionRemovePassword, false, ""},
		{"lets an email sign-in of a passkey member add a passkey", 1, email, time.Time{}, "", signin.Add(time.Minute), account.ActionAddPasskey, false, ""},
		{"refuses adding a passkey after the window", 1, email, time.Time{}, "", signin.Add(window + time.Second), account.ActionAddPasskey, true, ""},
		{"an old passkey sign-in does not count beside a fresh password", 1, passkey, signin.Add(time.Hour), pw, signin.Add(time.Hour), account.ActionChangePassword, true, "passkey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sw := account.SessionWithUser{
				User:    account.User{PasskeyCount: tc.passkeys},
				Session: account.Session{AuthMethod: tc.method, AuthenticatedAt: signin, SteppedUpAt: tc.stepUp, SteppedUpMethod: tc.stepMethod},
			}
			err := sw.RequireFresh(tc.now, window, tc.action)
			if tc.refusing != account.IsCode(err, account.EReauthRequired) || !tc.refusing && err != nil {
				t.Fatalf("RequireFresh = %v, want refused %v", err, tc.refusing)
			}
			if e, ok := err.(*account.Error); ok && e.Reason != tc.reason {
				t.Errorf("reason %q, want %q", e.Reason, tc.reason)
			}
		})
	}
}

// TestRequireFreshOnProbation: a proof by a passkey on probation (its
// sign-in or step-up) counts only for adding a passkey until the probation
// ends: every other action is refused with credential_on_probation and
// the end, as long as that proof is within the window; an older proof of
// the member's own passkey beside it does not help once stale, a fresh
// one does; after the end it counts like any passkey proof.
func TestRequireFreshOnProbation(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	until := at.Add(24 * time.Hour)
	const window = 5 * time.Minute
	for _, tc := range []struct {
		name    string
		sw      account.SessionWithUser
		now     time.Time
		action  account.Action
		want    account.Code // "" passes
		wantEnd bool
	}{
		{"refuses a step-up by a passkey on probation after an email sign-in",
			account.SessionWithUser{Session: account.Session{AuthMethod: account.MethodEmailLink, AuthenticatedAt: at,
				SteppedUpAt: at.Add(time.Minute), SteppedUpMethod: account.MethodPasskeyUsername}, StepUpProbation: until},
			at.Add(2 * time.Minute), account.ActionRemovePasskey, account.ECredentialOnProbation, true},
		{"refuses a sign-in by a passkey on probation",
			account.SessionWithUser{Session: account.Session{AuthMethod: account.MethodPasskeyModal, AuthenticatedAt: at}, SigninProbation: until},
			at, account.ActionChangeEmail, account.ECredentialOnProbation, true},
		{"lets a passkey on probation add a passkey",
			account.SessionWithUser{Session: account.Session{AuthMethod: account.MethodPasskeyModal, AuthenticatedAt: at}, SigninProbation: until},
			at, account.ActionAddPasskey, "", false},
		{"asks for a step-up once the probation's proof is stale",
			account.SessionWithUser{Session: account.Session{AuthMethod: account.MethodPasskeyModal, AuthenticatedAt: at}, SigninProbation: until},
			at.Add(window + time.Second), account.ActionRecoveryCodes, account.EReauthRequired, false},
		{"lets the owner's passkey step-up pass beside a sign-in on probation",
			account.SessionWithUser{Session: account.Session{AuthMethod: account.MethodPasskeyModal, AuthenticatedAt: at,
				SteppedUpAt: at.Add(time.Minute), SteppedUpMethod: account.MethodPasskeyUsername}, SigninProbation: until},
			at.Add(2 * time.Minute), account.ActionExport, "", false},
		{"counts the passkey like any once the probation ended",
			account.SessionWithUser{Session: account.Session{AuthMethod: account.MethodPasskeyModal, AuthenticatedAt: until}, SigninProbation: until},
			until, account.ActionChangePassword, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.sw.User.PasskeyCount = 2
			err := tc.sw.RequireFresh(tc.now, window, tc.action)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("RequireFresh = %v, want it to pass", err)
				}
				return
			}
			if !account.IsCode(err, tc.want) {
				t.Fatalf("RequireFresh = %v, want %s", err, tc.want)
			}
			if e := err.(*account.Error); tc.wantEnd != e.Until.Equal(until) {
				t.Errorf("until %v, want %v", e.Until, until)
			}
		})
	}
}
