package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/testdb"
)

// hostile are texts that break naive SQL or encodings; every text field must
// store them verbatim.
var hostile = []struct{ name, text string }{
	{"a quote that ends a statement", `'; DROP TABLE users; --`},
	{"a double quote and a tautology", `" OR 1=1 --`},
	{"backslashes and escaped quotes", `back\slash \' \" \\ \n`},
	{"placeholders of both dialects", `? $1 ?? :name %s`},
	{"emoji and other scripts", "🔑 👩🏽‍💻 Ünïcödé 中文 עברית"},
	{"a comment opener and a semicolon", "/* ; */ -- ;"},
}

func TestUsersRoundTrip(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)

		type test struct {
			name string
			edit func(u *account.User)
		}
		tests := []test{
			{"a plain member round-trips", func(u *account.User) {}},
			{"a verified member with an external id round-trips", func(u *account.User) {
				u.EmailVerified = true
				u.ExternalID = "ext-" + u.ID
			}},
			{"a member without a name round-trips", func(u *account.User) { u.Name = "" }},
			{"times in another zone come back as the same instant in UTC", func(u *account.User) {
				tz := time.FixedZone("UTC+5:30", 5*3600+1800)
				u.CreatedAt = t0.Add(-48 * time.Hour).In(tz)
				u.UpdatedAt = t0.In(tz)
			}},
		}
		for _, h := range hostile {
			tests = append(tests, test{"stores " + h.name + " verbatim in every text field", func(u *account.User) {
				u.ID += h.text
				u.Email = h.text + u.Email
				u.EmailKey = h.text + u.EmailKey
				u.Name = h.text
				u.ExternalID = h.text + u.ID
			}})
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				u := newUser()
				tt.edit(u)
				create(t, db, u)
				want := *u
				want.CreatedAt = u.CreatedAt.UTC()
				want.UpdatedAt = u.UpdatedAt.UTC()

				byKey, err := db.FindUserByEmailKey(t.Context(), u.EmailKey)
				if err != nil {
					t.Fatalf("FindUserByEmailKey: %v", err)
				}
				same(t, "FindUserByEmailKey", byKey, want)
				byID, err := db.FindUser(t.Context(), u.ID)
				if err != nil {
					t.Fatalf("FindUser: %v", err)
				}
				same(t, "FindUser", byID, want)
			})
		}
	})
}

func TestUsersKeepTimesToTheMillisecond(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		u := newUser()
		u.CreatedAt = t0.Add(123_456 * time.Nanosecond) // sub-millisecond part
		u.UpdatedAt = t0.Add(999 * time.Microsecond)
		create(t, db, u)
		got, err := db.FindUser(t.Context(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name      string
			got, want time.Time
		}{{"CreatedAt", got.CreatedAt, u.CreatedAt}, {"UpdatedAt", got.UpdatedAt, u.UpdatedAt}} {
			if !c.got.Truncate(time.Millisecond).Equal(c.want.Truncate(time.Millisecond)) {
				t.Errorf("%s = %v, want %v to the millisecond", c.name, c.got, c.want)
			}
			if c.got.Location() != time.UTC {
				t.Errorf("%s is in %v, want UTC", c.name, c.got.Location())
			}
		}
	})
}

func TestUsersDeriveHowTheySignIn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		tests := []struct {
			name         string
			password     bool
			passkeys     int
			wantPassword bool
		}{
			{"a member with no credentials has neither", false, 0, false},
			{"a member with a password has a password and no passkeys", true, 0, true},
			{"a member with one passkey counts one", false, 1, false},
			{"a member with a password and three passkeys has both", true, 3, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				u := createUser(t, db)
				if tt.password {
					create(t, db, newPassword(u))
				}
				for range tt.passkeys {
					create(t, db, newPasskey(u))
				}
				s := newSession(u, t0)
				create(t, db, s)

				byID, err := db.FindUser(t.Context(), u.ID)
				if err != nil {
					t.Fatal(err)
				}
				byKey, err := db.FindUserByEmailKey(t.Context(), u.EmailKey)
				if err != nil {
					t.Fatal(err)
				}
				sw, err := db.FindSessionByToken(t.Context(), s.TokenHash)
				if err != nil {
					t.Fatal(err)
				}
				for _, got := range []struct {
					via string
					u   *account.User
				}{{"FindUser", byID}, {"FindUserByEmailKey", byKey}, {"FindSessionByToken", &sw.User}} {
					if got.u.HasPassword != tt.wantPassword || got.u.PasskeyCount != tt.passkeys {
						t.Errorf("%s: HasPassword, PasskeyCount = %v, %d; want %v, %d",
							got.via, got.u.HasPassword, got.u.PasskeyCount, tt.wantPassword, tt.passkeys)
					}
				}
			})
		}
	})
}

func TestUsersRefuseATakenEmailKey(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		tests := []struct {
			name  string
			key   string // the first user's email key, before a unique suffix
			email func(first string) string
		}{
			{"refuses the same key and address", "ada@example.com", func(first string) string { return first }},
			{"refuses the same key under another spelling of the address", "ada@example.com", strings.ToUpper},
			{"refuses a key with SQL in it", `o'brien"; --@example.com`, func(first string) string { return first }},
			{"refuses a key in other scripts", "üñï🔑@例え.jp", func(first string) string { return first }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				first := newUser()
				first.EmailKey = first.ID + "." + tt.key
				create(t, db, first)
				second := newUser()
				second.EmailKey = first.EmailKey
				second.Email = tt.email(first.Email)
				err := db.CreateUser(t.Context(), second)
				wantCode(t, err, account.EEmailTaken)

				got, err := db.FindUserByEmailKey(t.Context(), first.EmailKey)
				if err != nil {
					t.Fatal(err)
				}
				if got.ID != first.ID {
					t.Errorf("the key now finds %s, want the first user %s", got.ID, first.ID)
				}
				_, err = db.FindUser(t.Context(), second.ID)
				wantCode(t, err, account.ENotFound)
			})
		}

		t.Run("allows the same address under different keys", func(t *testing.T) {
			t.Parallel()
			// The store enforces the key only; normalising is account's job.
			first := createUser(t, db)
			second := newUser()
			second.Email = first.Email
			create(t, db, second)
		})
	})
}

func TestUsersMissingAreNotFound(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		createUser(t, db) // so the table is not empty
		for _, key := range []string{"nobody@example.com", "", `' OR '1'='1`, "%", "_"} {
			t.Run("finds no user by the email key "+key, func(t *testing.T) {
				t.Parallel()
				u, err := db.FindUserByEmailKey(t.Context(), key)
				wantCode(t, err, account.ENotFound)
				if u != nil {
					t.Errorf("returned a user with the error: %+v", u)
				}
			})
			t.Run("finds no user by the id "+key, func(t *testing.T) {
				t.Parallel()
				u, err := db.FindUser(t.Context(), key)
				wantCode(t, err, account.ENotFound)
				if u != nil {
					t.Errorf("returned a user with the error: %+v", u)
				}
			})
		}
	})
}

func TestUsersAreCounted(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		for want := range 4 {
			n, err := db.CountUsers(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if n != want {
				t.Fatalf("CountUsers = %d, want %d", n, want)
			}
			createUser(t, db)
		}
	})
}
