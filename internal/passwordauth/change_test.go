package passwordauth_test

import (
	"context"
	"testing"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/notice"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/passwordauth"
	"github.com/keyshift/keyshift/internal/testdb"
)

// withNotices gives the fixture's service real notices, queued in the
// store's outbox, and returns a counter of them by kind.
func (f *fixture) withNotices(t *testing.T) func(kind string) int {
	f.notices = notice.New(notice.Config{Origin: "https://id.example.com", Site: "Example"}, outbox.NewOutbox(f.db, f.clock.Now), f.db, f.clock.Now)
	f.build()
	return func(kind string) int {
		t.Helper()
		all, err := f.db.FindOutbox(context.Background(), outbox.Filter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range all {
			if m.Kind == kind {
				n++
			}
		}
		return n
	}
}

// sessionOf loads the live session a token proves.
func (f *fixture) sessionOf(t *testing.T, token string) *account.SessionWithUser {
	t.Helper()
	sw, err := f.sessions.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return sw
}

const newPw = "a brand new passphrase"

func TestChangePassword(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database, cheap)
		notices := f.withNotices(t)
		ctx := context.Background()
		up, err := f.svc.Signup(ctx, "ada@example.com", pw, alice)
		if err != nil {
			t.Fatal(err)
		}
		// Notices go only to proven addresses.
		if err := f.db.VerifyUserEmail(ctx, up.User.ID, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		other, err := f.svc.SigninPassword(ctx, "ada@example.com", pw, alice)
		if err != nil {
			t.Fatal(err)
		}
		sw := f.sessionOf(t, up.Token)

		for _, tc := range []struct {
			name, current, next string
			code                account.Code
			field               string
		}{
			{"refuses a wrong current password", "wrong " + pw, newPw, account.EWrongPassword, "currentPassword"},
			{"refuses a missing current password", "", newPw, account.EWrongPassword, "currentPassword"},
			{"refuses a weak new password", pw, "password", account.EWeakPassword, "newPassword"},
			{"refuses a new password made of the address", pw, "ada@example.com", account.EWeakPassword, "newPassword"},
		} {
			_, err := f.svc.ChangePassword(ctx, sw, tc.current, tc.next, alice)
			e, ok := err.(*account.Error)
			if !ok || e.Code != tc.code || e.Field != tc.field {
				t.Errorf("%s: %v, want %s on %s", tc.name, err, tc.code, tc.field)
			}
		}
		if _, err := f.svc.SigninPassword(ctx, "ada@example.com", pw, alice); err != nil {
			t.Fatalf("a refused change broke the old password: %v", err)
		}
		if n := notices(notice.KindPasswordChanged); n != 0 {
			t.Errorf("%d notices for refused changes", n)
		}

		ch, err := f.svc.ChangePassword(ctx, sw, pw, newPw, alice)
		if err != nil {
			t.Fatal(err)
		}
		if !ch.User.HasPassword {
			t.Errorf("answer %+v", ch.User)
		}
		if got, err := f.sessions.Authenticate(ctx, ch.Token); err != nil || got.Session.ID != sw.Session.ID {
			t.Errorf("the session that changed the password ended: %v", err)
		}
		if _, err := f.sessions.Authenticate(ctx, up.Token); !account.IsCode(err, account.EUnauthenticated) {
			t.Errorf("the session's token from before the change still works: %v", err)
		}
		if _, err := f.sessions.Authenticate(ctx, other.Token); !account.IsCode(err, account.EUnauthenticated) {
			t.Errorf("another session survived the change: %v", err)
		}
		if _, err := f.svc.SigninPassword(ctx, "ada@example.com", pw, alice); !account.IsCode(err, account.EInvalidCredentials) {
			t.Errorf("the old password still signs in: %v", err)
		}
		if _, err := f.svc.SigninPassword(ctx, "ada@example.com", newPw, alice); err != nil {
			t.Errorf("the new password does not sign in: %v", err)
		}
		if n := notices(notice.KindPasswordChanged); n != 1 {
			t.Errorf("%d password-changed notices, want 1", n)
		}
	})
}

func TestWrongCurrentPasswordIsThrottled(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database, cheap)
		ctx := context.Background()
		up, err := f.svc.Signup(ctx, "ada@example.com", pw, alice)
		if err != nil {
			t.Fatal(err)
		}
		// Notices go only to proven addresses.
		if err := f.db.VerifyUserEmail(ctx, up.User.ID, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		sw := f.sessionOf(t, up.Token)
		for i := range passwordauth.PolicyAccount.Free {
			if _, err := f.svc.ChangePassword(ctx, sw, "guess", newPw, alice); !account.IsCode(err, account.EWrongPassword) {
				t.Fatalf("guess %d: %v", i+1, err)
			}
		}
		// A stolen session is no unthrottled password oracle.
		if _, err := f.svc.ChangePassword(ctx, sw, pw, newPw, alice); !account.IsCode(err, account.EThrottled) {
			t.Errorf("after %d wrong guesses: %v, want too_many_attempts", passwordauth.PolicyAccount.Free, err)
		}
	})
}

func TestSetPasswordWithoutOne(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database, cheap)
		notices := f.withNotices(t)
		ctx := context.Background()
		u := &account.User{ID: f.deps.Random.NewID(), Email: "ada@example.com", EmailKey: "ada@example.com", EmailVerified: true,
			WebAuthnID: []byte("handle-ada"), CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now(), Origin: account.OriginImport}
		var res *account.SigninResult
		err := f.db.InTx(ctx, func(ctx context.Context) error {
			if err := f.db.CreateUser(ctx, u); err != nil {
				return err
			}
			var err error
			res, err = f.sessions.StartFirst(ctx, u, account.MethodEmailLink, alice)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// No current password to give: any is ignored.
		got, err := f.svc.ChangePassword(ctx, f.sessionOf(t, res.Token), "", newPw, alice)
		if err != nil {
			t.Fatal(err)
		}
		if !got.User.HasPassword {
			t.Errorf("answer %+v", got.User)
		}
		if _, err := f.svc.SigninPassword(ctx, "ada@example.com", newPw, alice); err != nil {
			t.Errorf("the password set does not sign in: %v", err)
		}
		if n := notices(notice.KindPasswordChanged); n != 1 {
			t.Errorf("%d notices, want 1", n)
		}
	})
}

func TestRemovePassword(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database, cheap)
		notices := f.withNotices(t)
		ctx := context.Background()
		up, err := f.svc.Signup(ctx, "ada@example.com", pw, alice)
		if err != nil {
			t.Fatal(err)
		}
		// Notices go only to proven addresses.
		if err := f.db.VerifyUserEmail(ctx, up.User.ID, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		sw := f.sessionOf(t, up.Token)
		_, err = f.svc.RemovePassword(ctx, sw, alice)
		if !account.IsCode(err, account.EPasskeyRequired) {
			t.Fatalf("removal without a passkey: %v, want passkey_required", err)
		}
		if _, err := f.svc.SigninPassword(ctx, "ada@example.com", pw, alice); err != nil {
			t.Fatalf("a refused removal broke the password: %v", err)
		}
		now := f.clock.Now()
		if err := f.db.CreateCredential(ctx, &account.Credential{ID: f.deps.Random.NewID(), UserID: up.User.ID, Type: account.CredentialWebAuthn,
			CredentialID: []byte("cred-ada"), PublicKey: []byte("cose"), CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		ch, err := f.svc.RemovePassword(ctx, sw, alice)
		if err != nil {
			t.Fatal(err)
		}
		if ch.User.HasPassword || ch.User.PasskeyCount != 1 {
			t.Errorf("answer %+v", ch.User)
		}
		if _, err := f.sessions.Authenticate(ctx, up.Token); !account.IsCode(err, account.EUnauthenticated) {
			t.Errorf("the session's token from before the removal still works: %v", err)
		}
		if _, err := f.sessions.Authenticate(ctx, ch.Token); err != nil {
			t.Errorf("the rotated token does not work: %v", err)
		}
		if _, err := f.svc.SigninPassword(ctx, "ada@example.com", pw, alice); !account.IsCode(err, account.EInvalidCredentials) {
			t.Errorf("the removed password still signs in: %v", err)
		}
		if _, err := f.sessions.Authenticate(ctx, ch.Token); err != nil {
			t.Errorf("removing the password ended the session: %v", err)
		}
		if n := notices(notice.KindPasswordRemoved); n != 1 {
			t.Errorf("%d password-removed notices, want 1", n)
		}
		if _, err := f.svc.RemovePassword(ctx, sw, alice); !account.IsCode(err, account.ENotFound) {
			t.Errorf("removing a missing password: %v, want not_found", err)
		}
	})
}
