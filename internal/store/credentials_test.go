package store_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// asTime reads a time column scanned into an any: SQLite's integer
// milliseconds or PostgreSQL's timestamptz; NULL is the zero time.
func asTime(t *testing.T, v any) time.Time {
	t.Helper()
	switch x := v.(type) {
	case nil:
		return time.Time{}
	case int64:
		return time.UnixMilli(x).UTC()
	case time.Time:
		return x.UTC()
	}
	t.Fatalf("a time column scanned as %T", v)
	return time.Time{}
}

// rawPasskey reads back every column of a webauthn credential, since no store
// method returns them yet.
func rawPasskey(t *testing.T, db *store.DB, id string) account.Credential {
	t.Helper()
	c := account.Credential{ID: id}
	var (
		typ, transports            string
		signCount                  int64
		be, bs, hashIsNull         int
		created, updated, lastUsed any
	)
	err := db.QueryRowForTest(t.Context(), `SELECT user_id, type, credential_id, public_key, sign_count, aaguid,
			transports, attachment, CASE WHEN backup_eligible THEN 1 ELSE 0 END, CASE WHEN backup_state THEN 1 ELSE 0 END,
			user_handle, name, created_at, updated_at, last_used_at, CASE WHEN password_hash IS NULL THEN 1 ELSE 0 END
		FROM credentials WHERE id = ?`, id).
		Scan(&c.UserID, &typ, &c.CredentialID, &c.PublicKey, &signCount, &c.AAGUID, &transports, &c.Attachment,
			&be, &bs, &c.UserHandle, &c.Name, &created, &updated, &lastUsed, &hashIsNull)
	if err != nil {
		t.Fatalf("reading credential %s: %v", id, err)
	}
	if signCount < 0 || signCount > math.MaxUint32 {
		t.Fatalf("sign_count %d does not fit a uint32", signCount)
	}
	if hashIsNull != 1 {
		t.Errorf("a passkey has a password hash")
	}
	c.Type = account.CredentialType(typ)
	c.SignCount = uint32(signCount)
	if transports != "" {
		c.Transports = strings.Split(transports, ",")
	}
	c.BackupEligible, c.BackupState = be == 1, bs == 1
	c.CreatedAt, c.UpdatedAt, c.LastUsedAt = asTime(t, created), asTime(t, updated), asTime(t, lastUsed)
	return c
}

func TestPasswordCredentials(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)

		t.Run("a password round-trips", func(t *testing.T) {
			t.Parallel()
			u := createUser(t, db)
			c := newPassword(u)
			c.PasswordHash = `$legacy$'; DROP TABLE credentials; --$\"🔑`
			c.PasswordFormat = "bcrypt"
			create(t, db, c)
			got, err := db.FindPasswordCredential(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "FindPasswordCredential", got, c)
		})

		t.Run("a member without a password has none, even with passkeys", func(t *testing.T) {
			t.Parallel()
			u := createUser(t, db)
			create(t, db, newPasskey(u))
			c, err := db.FindPasswordCredential(t.Context(), u.ID)
			wantCode(t, err, account.ENotFound)
			if c != nil {
				t.Errorf("returned a credential with the error: %+v", c)
			}
		})

		t.Run("a second password for one member is refused", func(t *testing.T) {
			t.Parallel()
			u := createUser(t, db)
			first := newPassword(u)
			create(t, db, first)
			second := newPassword(u)
			second.PasswordHash = "another"
			err := db.CreateCredential(t.Context(), second)
			wantCode(t, err, account.EInvalidRequest)
			got, err := db.FindPasswordCredential(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != first.ID || got.PasswordHash != first.PasswordHash {
				t.Errorf("the password is now %s %q, want the first %s %q", got.ID, got.PasswordHash, first.ID, first.PasswordHash)
			}
		})

		t.Run("two members may have the same password hash", func(t *testing.T) {
			t.Parallel()
			a, b := createUser(t, db), createUser(t, db)
			create(t, db, newPassword(a), newPassword(b))
		})
	})
}

func TestUpdatePasswordHash(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		at := t0.Add(time.Hour)

		t.Run("replaces the hash and format and marks the password used", func(t *testing.T) {
			t.Parallel()
			u := createUser(t, db)
			c := newPassword(u)
			c.PasswordFormat = "bcrypt"
			create(t, db, c)
			if err := db.UpdatePasswordHash(t.Context(), c.ID, "$argon2id$new", "argon2id", at); err != nil {
				t.Fatal(err)
			}
			got, err := db.FindPasswordCredential(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := *c
			want.PasswordHash, want.PasswordFormat, want.UpdatedAt, want.LastUsedAt = "$argon2id$new", "argon2id", at, at
			same(t, "after UpdatePasswordHash", got, want)
		})

		tests := []struct {
			name string
			id   func(t *testing.T, u *account.User) string
		}{
			{"a missing credential is not found", func(*testing.T, *account.User) string { return "c-missing" }},
			{"a passkey is not a password and is not found", func(t *testing.T, u *account.User) string {
				pk := newPasskey(u)
				create(t, db, pk)
				return pk.ID
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				u := createUser(t, db)
				id := tt.id(t, u)
				err := db.UpdatePasswordHash(t.Context(), id, "hash", "argon2id", at)
				wantCode(t, err, account.ENotFound)
				got, err := db.FindUser(t.Context(), u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.HasPassword {
					t.Error("the member has a password now")
				}
			})
		}
	})
}

func TestTouchCredential(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		at := t0.Add(90 * time.Minute)

		t.Run("marks a password used", func(t *testing.T) {
			t.Parallel()
			u := createUser(t, db)
			c := newPassword(u)
			create(t, db, c)
			if err := db.TouchCredential(t.Context(), c.ID, at); err != nil {
				t.Fatal(err)
			}
			got, err := db.FindPasswordCredential(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.LastUsedAt.Equal(at) || !got.UpdatedAt.Equal(c.UpdatedAt) {
				t.Errorf("LastUsedAt, UpdatedAt = %v, %v; want %v, %v", got.LastUsedAt, got.UpdatedAt, at, c.UpdatedAt)
			}
		})

		t.Run("marks a passkey used", func(t *testing.T) {
			t.Parallel()
			c := newPasskey(createUser(t, db))
			create(t, db, c)
			if err := db.TouchCredential(t.Context(), c.ID, at); err != nil {
				t.Fatal(err)
			}
			if got := rawPasskey(t, db, c.ID).LastUsedAt; !got.Equal(at) {
				t.Errorf("last_used_at = %v, want %v", got, at)
			}
		})

		t.Run("a missing credential is not found", func(t *testing.T) {
			t.Parallel()
			wantCode(t, db.TouchCredential(t.Context(), "c-missing", at), account.ENotFound)
		})
	})
}

func TestPasskeyCredentials(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)

		full := func(u *account.User) *account.Credential {
			c := newPasskey(u)
			c.AAGUID = []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}
			c.Transports = []string{"usb", "nfc", "ble", "hybrid", "internal"}
			c.Attachment = "cross-platform"
			c.BackupEligible, c.BackupState = true, true
			c.UserHandle = u.WebAuthnID
			c.Name = `YubiKey "5C" 🔑 o'clock \ ; --`
			c.LastUsedAt = t0.Add(time.Minute)
			return c
		}
		tests := []struct {
			name string
			edit func(c *account.Credential)
		}{
			{"a passkey with every column round-trips", func(c *account.Credential) {}},
			{"a sign count of 1 round-trips", func(c *account.Credential) { c.SignCount = 1 }},
			{"the largest sign count, 2^32-1, round-trips", func(c *account.Credential) { c.SignCount = math.MaxUint32 }},
			{"a sign count past 2^31 round-trips", func(c *account.Credential) { c.SignCount = 1<<31 + 5 }},
			{"a backed-up-eligible passkey not yet backed up round-trips", func(c *account.Credential) { c.BackupState = false }},
			{"a platform passkey with one transport round-trips", func(c *account.Credential) {
				c.Attachment, c.Transports = "platform", []string{"internal"}
			}},
			{"a bare passkey, without the optional columns, round-trips", func(c *account.Credential) {
				c.AAGUID, c.Transports, c.Attachment, c.UserHandle, c.Name = nil, nil, "", nil, ""
				c.BackupEligible, c.BackupState, c.LastUsedAt = false, false, time.Time{}
			}},
			{"binary ids with zero bytes and every byte value round-trip", func(c *account.Credential) {
				c.CredentialID = make([]byte, 256)
				for i := range c.CredentialID {
					c.CredentialID[i] = byte(i)
				}
				c.PublicKey = []byte{0, 0, 0, 0xff, 0, 0x27, 0x5c}
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				u := createUser(t, db)
				c := full(u)
				tt.edit(c)
				create(t, db, c)
				got := rawPasskey(t, db, c.ID)
				same(t, "the stored passkey", got, *c)
			})
		}

		t.Run("a credential id registered to the same member is refused", func(t *testing.T) {
			t.Parallel()
			u := createUser(t, db)
			first := newPasskey(u)
			create(t, db, first)
			again := newPasskey(u)
			again.CredentialID = first.CredentialID
			wantCode(t, db.CreateCredential(t.Context(), again), account.EPasskeyExists)
		})

		t.Run("a credential id registered to another member is refused", func(t *testing.T) {
			t.Parallel()
			first := newPasskey(createUser(t, db))
			create(t, db, first)
			other := createUser(t, db)
			theirs := newPasskey(other)
			theirs.CredentialID = first.CredentialID
			wantCode(t, db.CreateCredential(t.Context(), theirs), account.EPasskeyExists)
			got, err := db.FindUser(t.Context(), other.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.PasskeyCount != 0 {
				t.Errorf("the other member has %d passkeys, want 0", got.PasskeyCount)
			}
		})
	})
}

func TestCredentialsBreakingTheSchemaAreRefused(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		tests := []struct {
			name string
			make func(u *account.User) *account.Credential
		}{
			{"a password without a hash", func(u *account.User) *account.Credential {
				c := newPassword(u)
				c.PasswordHash = ""
				return c
			}},
			{"a password with a credential id", func(u *account.User) *account.Credential {
				c := newPassword(u)
				c.CredentialID = randomBytes(16)
				return c
			}},
			{"a passkey without a credential id", func(u *account.User) *account.Credential {
				c := newPasskey(u)
				c.CredentialID = nil
				return c
			}},
			{"a passkey without a public key", func(u *account.User) *account.Credential {
				c := newPasskey(u)
				c.PublicKey = nil
				return c
			}},
			{"a passkey with a password hash", func(u *account.User) *account.Credential {
				c := newPasskey(u)
				c.PasswordHash = "hash"
				return c
			}},
			{"a credential of an unknown type", func(u *account.User) *account.Credential {
				c := newPassword(u)
				c.Type = "sms"
				return c
			}},
			{"a credential of a member who does not exist", func(u *account.User) *account.Credential {
				c := newPasskey(u)
				c.UserID = "u-missing"
				return c
			}},
		}
		for _, tt := range tests {
			t.Run("refuses "+tt.name, func(t *testing.T) {
				t.Parallel()
				u := createUser(t, db)
				c := tt.make(u)
				if err := db.CreateCredential(t.Context(), c); err == nil {
					t.Fatal("CreateCredential succeeded")
				}
				if n := count(t, db, "SELECT COUNT(*) FROM credentials WHERE id = ?", c.ID); n != 0 {
					t.Errorf("%d rows stored", n)
				}
			})
		}
	})
}

func TestDeletingAUserCascades(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		// Two members with the same kinds of rows; only the first is deleted.
		type member struct {
			u        *account.User
			sessions []*account.Session
		}
		var ms []member
		for range 2 {
			u := createUser(t, db)
			m := member{u: u, sessions: []*account.Session{newSession(u, t0), newSession(u, t0.Add(time.Minute))}}
			create(t, db, newPassword(u), newPasskey(u), newPasskey(u), m.sessions[0], m.sessions[1],
				&account.Event{At: t0, Type: account.EventSignup, UserID: u.ID})
			ms = append(ms, m)
		}
		gone, kept := ms[0], ms[1]
		if err := db.ExecForTest(t.Context(), "DELETE FROM users WHERE id = ?", gone.u.ID); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name string
			m    member
			want int // credentials and sessions expected
		}{
			{"the deleted member's credentials and sessions are gone", gone, 0},
			{"the other member's are untouched", kept, 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				id := tt.m.u.ID
				if n := count(t, db, "SELECT COUNT(*) FROM credentials WHERE user_id = ?", id); n != 3*tt.want {
					t.Errorf("%d credentials, want %d", n, 3*tt.want)
				}
				if n := count(t, db, "SELECT COUNT(*) FROM sessions WHERE user_id = ?", id); n != 2*tt.want {
					t.Errorf("%d sessions, want %d", n, 2*tt.want)
				}
				for _, s := range tt.m.sessions {
					_, err := db.FindSessionByToken(t.Context(), s.TokenHash)
					if tt.want == 0 {
						wantCode(t, err, account.ENotFound)
					} else if err != nil {
						t.Errorf("FindSessionByToken: %v", err)
					}
				}
				_, err := db.FindPasswordCredential(t.Context(), id)
				if tt.want == 0 {
					wantCode(t, err, account.ENotFound)
				} else if err != nil {
					t.Errorf("FindPasswordCredential: %v", err)
				}
			})
		}

		t.Run("the audit trail outlives the member", func(t *testing.T) {
			evs, err := db.FindEvents(t.Context(), store.EventFilter{UserID: gone.u.ID})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 {
				t.Errorf("%d events of the deleted member, want 1", len(evs))
			}
		})
	})
}
