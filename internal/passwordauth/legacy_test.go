package passwordauth_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/password/legacy"
	"github.com/keyshift/keyshift/internal/passwordauth"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// legacyMember is an imported member: the hash their old system kept, in a
// legacy format, and the password that made it. The vectors are from each
// format's reference tool or documentation, as cited in package legacy's
// tests; the costs are low so the race-enabled run stays quick.
type legacyMember struct {
	family   string
	format   legacy.Format
	stored   string // as the importer stores it (legacy.Compose)
	password string
}

func legacyMembers(t *testing.T) []legacyMember {
	b64 := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	compose := func(f legacy.Format, hash, salt string, opt legacy.Options) string {
		s, err := legacy.Compose(f, hash, salt, opt)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// The README of github.com/firebase/scrypt: its sample project
	// parameters and exported account.
	firebase := compose(legacy.FirebaseScrypt,
		"lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==", "42xEC+ixf3L2lw==",
		legacy.Options{Firebase: &legacy.FirebaseParams{
			SignerKey:     b64("jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="),
			SaltSeparator: b64("Bw=="), Rounds: 8, MemCost: 14,
		}})
	return []legacyMember{
		{"bcrypt (htpasswd -B)", legacy.Bcrypt, "$2y$05$bOvTpTACU36668qaq7okAu4juHzacUhXzxyNIB0UZ12wC4emoJYfi", "Tr0ub4dor&3"},
		{"argon2i (reference argon2 CLI)", legacy.Argon2i, "$argon2i$v=19$m=4096,t=3,p=2$c2FsdHNhbHRzYWx0$F7XyVSDk6+4zcXz+MWvop5mj8/0fsh7ykZnHSAhh2Qo", "Tr0ub4dor&3"},
		{"scrypt (passlib)", legacy.Scrypt, "$scrypt$ln=10,r=8,p=1$J6SUEgIAwPh/rxWC0Jqzlg$lBztq7jlYrdCgXsy20kbYbq3lotxpOp78GqJDbSBn20", "Tr0ub4dor&3"},
		{"firebase scrypt (Firebase README)", legacy.FirebaseScrypt, firebase, "user1password"},
		{"pbkdf2 (Django)", legacy.PBKDF2SHA256, "pbkdf2_sha256$1000$3FWYnhX7HYmtBwpftYa8Iq$Pe9rkjCh1XPyFUtPwSPDQ+ox3llupMdAlQknyi9+BFg=", "Tr0ub4dor&3"},
		{"phpass (phpass test.php)", legacy.PHPass, "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0", "test12345"},
		{"md5-crypt (openssl passwd -1)", legacy.MD5Crypt, "$1$saltstri$qQY4WxjABChYG1ccLpfkz/", "password"},
		{"sha-crypt (Drepper's specification)", legacy.SHA512Crypt, "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!"},
		{"unsalted digest (md5sum)", legacy.MD5, "4ece57a61323b52ccffdbef021956754", "Tr0ub4dor&3"},
		{"salted digest (sha1sum)", legacy.SaltedSHA1Suffix, compose(legacy.SaltedSHA1Suffix, "034775009c7882d1f4a5b208d96cbc7490e5e0ca", "s4lt!", legacy.Options{}), "Tr0ub4dor&3"},
	}
}

// importMember gives a new member the stored hash of m, as `keyshift
// import` leaves it: a password credential in a legacy format.
func importMember(t *testing.T, f *fixture, email, stored string, format legacy.Format) *account.Credential {
	t.Helper()
	ctx := context.Background()
	up, err := f.svc.Signup(ctx, email, "a placeholder password nobody types", alice)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := f.db.FindPasswordCredential(ctx, up.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.UpdatePasswordHash(ctx, cred.ID, stored, string(format), f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	cred, err = f.db.FindPasswordCredential(ctx, up.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func TestSigninWithALegacyHashRehashesIt(t *testing.T) {
	members := legacyMembers(t)
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database, cheap)
		for i, m := range members {
			t.Run(m.family, func(t *testing.T) {
				ctx := context.Background()
				email := fmt.Sprintf("member%d@example.com", i)
				// One address per member: the IP throttle counts across accounts.
				client := account.Client{IP: fmt.Sprintf("198.51.100.%d", i+1), UserAgent: "test"}
				cred := importMember(t, f, email, m.stored, m.format)

				if _, err := f.svc.SigninPassword(ctx, email, m.password+"!", client); !account.IsCode(err, account.EInvalidCredentials) {
					t.Fatalf("wrong password: err = %v, want %s", err, account.EInvalidCredentials)
				}
				kept, _ := f.db.FindPasswordCredential(ctx, cred.UserID)
				if kept.PasswordHash != m.stored || kept.PasswordFormat != string(m.format) {
					t.Fatalf("a wrong password changed the stored hash to %q (%s)", kept.PasswordHash, kept.PasswordFormat)
				}

				if _, err := f.svc.SigninPassword(ctx, email, m.password, client); err != nil {
					t.Fatalf("right password: %v", err)
				}
				after, _ := f.db.FindPasswordCredential(ctx, cred.UserID)
				if after.PasswordFormat != "argon2id" || !strings.HasPrefix(after.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
					t.Fatalf("after sign-in the hash is %q (%s), want keyshift's argon2id", after.PasswordHash, after.PasswordFormat)
				}
				evs, err := f.db.FindEvents(ctx, store.EventFilter{UserID: cred.UserID, Type: account.EventRehash})
				if err != nil {
					t.Fatal(err)
				}
				if len(evs) != 1 || evs[0].Data["from"] != string(m.format) {
					t.Fatalf("rehash events = %+v, want one from %s", evs, m.format)
				}

				// The same password keeps working, now against Argon2id.
				if _, err := f.svc.SigninPassword(ctx, email, m.password, client); err != nil {
					t.Fatalf("second sign-in: %v", err)
				}
				if evs, _ := f.db.FindEvents(ctx, store.EventFilter{UserID: cred.UserID, Type: account.EventRehash}); len(evs) != 1 {
					t.Errorf("%d rehash events after the second sign-in, want still 1", len(evs))
				}
			})
		}
	})
}

// A credential whose format keyshift cannot verify is the operator's
// problem: the member sees a wrong password (never a 500, nothing that tells
// the account exists), the row is left alone, and the log says why.
func TestSigninWithAnUnverifiableHashFailsQuietly(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database, cheap)
		var logs bytes.Buffer
		f.rebuild(func(_ *passwordauth.Config, d *passwordauth.Deps) { d.Log = slog.New(slog.NewTextHandler(&logs, nil)) })
		ctx := context.Background()
		tests := []struct {
			name, stored string
			format       legacy.Format
		}{
			{"an unknown format", "8846f7eaee8fb117ad06bdd830b7586c", "ntlm"},
			{"a hash that is not of its format", "$2y$05$bOvTpTACU36668qaq7okAu4juHzacUhXzxyNIB0UZ12wC4emoJYfi", legacy.MD5},
			{"a bcrypt cost past the bound", "$2y$31$bOvTpTACU36668qaq7okAu4juHzacUhXzxyNIB0UZ12wC4emoJYfi", legacy.Bcrypt},
		}
		for i, tt := range tests {
			email := fmt.Sprintf("broken%d@example.com", i)
			cred := importMember(t, f, email, tt.stored, tt.format)
			logs.Reset()
			_, err := f.svc.SigninPassword(ctx, email, "Tr0ub4dor&3", account.Client{IP: "203.0.113.9"})
			if !account.IsCode(err, account.EInvalidCredentials) {
				t.Errorf("%s: err = %v, want %s", tt.name, err, account.EInvalidCredentials)
			}
			if !strings.Contains(logs.String(), "stored password hash cannot be verified") || !strings.Contains(logs.String(), string(tt.format)) {
				t.Errorf("%s: log = %q, want the reason and the format", tt.name, logs.String())
			}
			kept, _ := f.db.FindPasswordCredential(ctx, cred.UserID)
			if kept.PasswordHash != tt.stored {
				t.Errorf("%s: the row changed to %q", tt.name, kept.PasswordHash)
			}
			evs, _ := f.db.FindEvents(ctx, store.EventFilter{UserID: cred.UserID, Type: account.EventSignin})
			if len(evs) == 0 || evs[len(evs)-1].Outcome != account.OutcomeFailure {
				t.Errorf("%s: the attempt was not recorded as a failed sign-in: %+v", tt.name, evs)
			}
		}
	})
}

// A member whose password is still the imported hash changes it by typing
// that password: the current one is checked in its own format, and the new
// one is keyshift's Argon2id. An unverifiable row counts as a wrong
// current password, never a server error.
func TestChangePasswordFromALegacyHash(t *testing.T) {
	m := legacyMembers(t)[0]
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database, cheap)
		ctx := context.Background()
		cred := importMember(t, f, "ada@example.com", m.stored, m.format)
		in, err := f.sessions.Start(ctx, &account.User{ID: cred.UserID}, account.MethodEmailLink, alice)
		if err != nil {
			t.Fatal(err)
		}
		sw := f.sessionOf(t, in.Token)
		if _, err := f.svc.ChangePassword(ctx, sw, m.password+"!", newPw, alice); !account.IsCode(err, account.EWrongPassword) {
			t.Fatalf("wrong current password: %v, want %s", err, account.EWrongPassword)
		}
		if _, err := f.svc.ChangePassword(ctx, sw, m.password, newPw, alice); err != nil {
			t.Fatalf("changing from %s: %v", m.format, err)
		}
		after, _ := f.db.FindPasswordCredential(ctx, cred.UserID)
		if after.PasswordFormat != "argon2id" {
			t.Errorf("new password stored as %s", after.PasswordFormat)
		}
		if _, err := f.svc.SigninPassword(ctx, "ada@example.com", newPw, alice); err != nil {
			t.Errorf("the new password does not sign in: %v", err)
		}

		broken := importMember(t, f, "bob@example.com", "$2y$31$bOvTpTACU36668qaq7okAu4juHzacUhXzxyNIB0UZ12wC4emoJYfi", legacy.Bcrypt)
		in, err = f.sessions.Start(ctx, &account.User{ID: broken.UserID}, account.MethodEmailLink, alice)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ChangePassword(ctx, f.sessionOf(t, in.Token), m.password, newPw, alice); !account.IsCode(err, account.EWrongPassword) {
			t.Errorf("unverifiable current hash: %v, want %s", err, account.EWrongPassword)
		}
	})
}
