package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// An imported member whose old site stored bcrypt signs in through the
// public API with the password they always had, and keyshift quietly moves
// them to Argon2id in the same request.
func TestImportedBcryptMemberSignsInOverHTTP(t *testing.T) {
	// htpasswd -nbB -C 5 (apache2-utils 2.4.71); see package legacy's tests.
	const bcryptHash = "$2y$05$bOvTpTACU36668qaq7okAu4juHzacUhXzxyNIB0UZ12wC4emoJYfi"
	const oldPassword = "Tr0ub4dor&3"
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		ctx := context.Background()
		s.client().Signup("imported@example.com", goodPassword)
		u, err := s.DB.FindUserByEmailKey(ctx, "imported@example.com")
		if err != nil {
			t.Fatal(err)
		}
		cred, err := s.DB.FindPasswordCredential(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		// What `keyshift import` leaves: the old hash and its format.
		if err := s.DB.UpdatePasswordHash(ctx, cred.ID, bcryptHash, "bcrypt", s.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		stored := func() *account.Credential {
			c, err := s.DB.FindPasswordCredential(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}

		wrong := s.client().Signin("imported@example.com", "Tr0ub4dor&4")
		wantAPIError(t, wrong, http.StatusUnauthorized, "invalid_credentials")
		if c := stored(); c.PasswordHash != bcryptHash || c.PasswordFormat != "bcrypt" {
			t.Fatalf("a wrong password changed the stored hash to %q (%s)", c.PasswordHash, c.PasswordFormat)
		}

		if r := s.client().Signin("imported@example.com", oldPassword); r.Status != http.StatusOK {
			t.Fatalf("sign-in with the imported password: %d %s", r.Status, r.Body)
		}
		if c := stored(); c.PasswordFormat != "argon2id" || !strings.HasPrefix(c.PasswordHash, "$argon2id$") {
			t.Fatalf("after sign-in the hash is %q (%s), want argon2id", c.PasswordHash, c.PasswordFormat)
		}
		evs, err := s.DB.FindEvents(ctx, store.EventFilter{UserID: u.ID, Type: account.EventRehash})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Data["from"] != "bcrypt" {
			t.Errorf("rehash events = %+v, want one from bcrypt", evs)
		}
		if r := s.client().Signin("imported@example.com", oldPassword); r.Status != http.StatusOK {
			t.Errorf("second sign-in, now against argon2id: %d %s", r.Status, r.Body)
		}
	})
}
