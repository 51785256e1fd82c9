package adminrole_test

import (
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/adminrole"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func newMember(t *testing.T, db *store.DB, id, email string) *account.User {
	t.Helper()
	_, key, err := account.NormalizeEmail(email)
	if err != nil {
		t.Fatal(err)
	}
	u := &account.User{ID: id, Email: email, EmailKey: key, WebAuthnID: []byte(id), CreatedAt: t0, UpdatedAt: t0, Origin: account.OriginSignup}
	if err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestGrantRevokeAndAdmit: the role is granted and revoked by address,
// each change audited once; Admit lets a holder through only in a session
// that proved a passkey.
func TestGrantRevokeAndAdmit(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := t.Context()
		db, err := store.Open(ctx, database)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		roles := adminrole.New(db, func() time.Time { return t0 })
		ada := newMember(t, db, "u-ada", "ada@example.com")
		bob := newMember(t, db, "u-bob", "bob@example.com")

		if _, err := roles.Grant(ctx, "nobody@example.com", "cli"); !account.IsCode(err, account.ENotFound) {
			t.Errorf("granting an unknown address: %v, want not_found", err)
		}
		if _, err := roles.Grant(ctx, "not an address", "cli"); !account.IsCode(err, account.EInvalidEmail) {
			t.Errorf("granting a non-address: %v, want invalid_email", err)
		}
		c, err := roles.Grant(ctx, "ADA@example.com", "cli")
		if err != nil || !c.Changed || c.User.ID != ada.ID {
			t.Fatalf("grant: %+v, %v", c, err)
		}
		if c, err := roles.Grant(ctx, "ada@example.com", "cli"); err != nil || c.Changed {
			t.Errorf("granting again: %+v, %v; want no change", c, err)
		}
		list, err := roles.List(ctx)
		if err != nil || len(list) != 1 || list[0].Email != "ada@example.com" || !list[0].GrantedAt.Equal(t0) || list[0].GrantedBy != "cli" {
			t.Errorf("list: %+v, %v", list, err)
		}

		session := func(u *account.User, m, up account.AuthMethod) *account.SessionWithUser {
			return &account.SessionWithUser{User: *u, Session: account.Session{UserID: u.ID, AuthMethod: m, SteppedUpMethod: up}}
		}
		for _, tc := range []struct {
			name string
			sw   *account.SessionWithUser
			code account.Code
		}{
			{"admits a holder signed in with a passkey", session(ada, account.MethodPasskeyConditional, ""), ""},
			{"admits a holder who stepped up with a passkey", session(ada, account.MethodEmailCode, account.MethodPasskeyUsername), ""},
			{"asks a holder signed in with a password for a passkey", session(ada, account.MethodPassword, ""), account.EReauthRequired},
			{"asks a holder who stepped up with a password for a passkey", session(ada, account.MethodEmailLink, account.MethodPassword), account.EReauthRequired},
			{"refuses a member without the role, passkey or not", session(bob, account.MethodPasskeyModal, ""), account.EAdminRequired},
		} {
			err := roles.Admit(ctx, tc.sw)
			if tc.code == "" && err != nil || tc.code != "" && !account.IsCode(err, tc.code) {
				t.Errorf("%s: %v, want %q", tc.name, err, tc.code)
			}
		}

		if c, err := roles.Revoke(ctx, "bob@example.com", "cli"); err != nil || c.Changed {
			t.Errorf("revoking from a non-holder: %+v, %v; want no change", c, err)
		}
		if c, err := roles.Revoke(ctx, "ada@example.com", "cli"); err != nil || !c.Changed {
			t.Fatalf("revoke: %+v, %v", c, err)
		}
		if err := roles.Admit(ctx, session(ada, account.MethodPasskeyModal, "")); !account.IsCode(err, account.EAdminRequired) {
			t.Errorf("after the revoke: %v, want admin_required", err)
		}
		events, err := db.FindEvents(ctx, store.EventFilter{UserID: ada.ID})
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range events {
			types = append(types, e.Type)
			if e.Data["by"] != "cli" {
				t.Errorf("%s: by %v", e.Type, e.Data["by"])
			}
		}
		if len(types) != 2 || types[0] != adminrole.EventGranted || types[1] != adminrole.EventRevoked {
			t.Errorf("audit: %v, want one grant then one revoke", types)
		}
	})
}
