package audit_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/audit"
	"github.com/keyshift/keyshift/internal/readiness"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// seeder makes accounts with exactly the holdings a test names.
type seeder struct {
	t   *testing.T
	db  *store.DB
	now time.Time
	n   int
}

// member makes an account holding h, with its password (if any) in
// format, and returns its id.
func (s *seeder) member(h readiness.Holdings, format string) string {
	s.t.Helper()
	ctx := context.Background()
	s.n++
	id := fmt.Sprintf("u%03d", s.n)
	email := id + "@example.com"
	_, key, err := account.NormalizeEmail(email)
	if err != nil {
		s.t.Fatal(err)
	}
	u := &account.User{ID: id, Email: email, EmailKey: key, EmailVerified: true, WebAuthnID: []byte("handle-" + id),
		CreatedAt: s.now, UpdatedAt: s.now, Origin: account.OriginSignup}
	if err := s.db.CreateUser(ctx, u); err != nil {
		s.t.Fatal(err)
	}
	for i := range h.Passkeys {
		synced := h.Synced && i == 0
		c := &account.Credential{ID: fmt.Sprintf("%s-pk%d", id, i), UserID: id, Type: account.CredentialWebAuthn,
			CredentialID: []byte(fmt.Sprintf("%s-cred%d", id, i)), PublicKey: []byte{1}, BackupEligible: synced, BackupState: synced,
			CreatedAt: s.now, UpdatedAt: s.now}
		if err := s.db.CreateCredential(ctx, c); err != nil {
			s.t.Fatal(err)
		}
	}
	if h.Password {
		c := &account.Credential{ID: id + "-pw", UserID: id, Type: account.CredentialPassword, PasswordHash: "x", PasswordFormat: format,
			CreatedAt: s.now, UpdatedAt: s.now}
		if err := s.db.CreateCredential(ctx, c); err != nil {
			s.t.Fatal(err)
		}
	}
	var codes []account.RecoveryCodeHash
	for i := range h.RecoveryCodes {
		codes = append(codes, account.RecoveryCodeHash{Hash: []byte(fmt.Sprintf("%s-code%d", id, i)), PepperID: "p"})
	}
	if len(codes) > 0 {
		if err := s.db.ReplaceRecoveryCodes(ctx, id, codes, s.now); err != nil {
			s.t.Fatal(err)
		}
	}
	return id
}

// signin records a sign-in by id with method, daysAgo days before now.
func (s *seeder) signin(id string, method account.AuthMethod, outcome string, daysAgo int) {
	s.t.Helper()
	e := &account.Event{At: s.now.AddDate(0, 0, -daysAgo).Add(time.Minute), Type: account.EventSignin, UserID: id, Method: string(method), Outcome: outcome}
	if err := s.db.AppendEvent(context.Background(), e); err != nil {
		s.t.Fatal(err)
	}
}

// TestTheAuditCountsWhatWasSeeded: a population with known holdings, hash
// formats and sign-ins; every figure of the report is the ground truth.
func TestTheAuditCountsWhatWasSeeded(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db, err := store.Open(t.Context(), database)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		s := &seeder{t: t, db: db, now: now}

		strongTwo := s.member(readiness.Holdings{Passkeys: 3, Password: true}, "argon2id")
		s.member(readiness.Holdings{Passkeys: 1, Synced: true, RecoveryCodes: 10}, "")
		okSynced := s.member(readiness.Holdings{Passkeys: 1, Synced: true}, "")
		s.member(readiness.Holdings{Passkeys: 1, Password: true}, "md5")
		atRisk := s.member(readiness.Holdings{Passkeys: 1}, "")
		s.member(readiness.Holdings{Passkeys: 1}, "")
		weakPw := s.member(readiness.Holdings{Password: true}, "md5")
		s.member(readiness.Holdings{Password: true}, "bcrypt")
		s.member(readiness.Holdings{Password: true}, "sha1-salt-suffix")
		s.member(readiness.Holdings{}, "") // email only

		s.signin(okSynced, account.MethodEmailLink, account.OutcomeSuccess, 1)  // a passkey holder, this week
		s.signin(okSynced, account.MethodEmailCode, account.OutcomeSuccess, 10) // a passkey holder, this month
		s.signin(weakPw, account.MethodEmailLink, account.OutcomeSuccess, 2)    // no passkey, this week
		s.signin(weakPw, account.MethodEmailLink, account.OutcomeFailure, 2)    // failures do not count
		s.signin(atRisk, account.MethodRecoveryCode, account.OutcomeSuccess, 3) // a passkey holder
		s.signin(weakPw, account.MethodPassword, account.OutcomeSuccess, 40)    // older than 30 days
		s.signin(strongTwo, account.MethodPasskeyModal, account.OutcomeSuccess, 0)
		s.signin(weakPw, account.MethodSupportRecovery, account.OutcomeSuccess, 20) // support moved it, this month

		r, err := audit.Run(context.Background(), db, audit.Settings{EmailSignin: true, EmailPasskeyAccounts: "full", PasswordSignup: true}, now)
		if err != nil {
			t.Fatal(err)
		}
		wantReadiness := map[readiness.Class]int{readiness.Strong: 2, readiness.OK: 2, readiness.AtRisk: 2, readiness.Weak: 4}
		if !maps.Equal(r.Readiness, wantReadiness) || r.Accounts != 10 {
			t.Errorf("readiness %v of %d accounts, want %v of 10", r.Readiness, r.Accounts, wantReadiness)
		}
		if want := map[string]int{"argon2id": 1, "md5": 2, "bcrypt": 1, "sha1-salt-suffix": 1}; !maps.Equal(r.Passwords, want) {
			t.Errorf("password formats %v, want %v", r.Passwords, want)
		}
		if want := map[string]int{"md5": 2, "sha1-salt-suffix": 1}; !maps.Equal(r.Weak, want) {
			t.Errorf("weak formats %v, want %v", r.Weak, want)
		}
		type uses struct{ week, month, holders int }
		want := map[string]uses{"email_link": {2, 2, 1}, "email_code": {0, 1, 0}, "recovery_code": {1, 1, 1}, "password": {0, 0, 0}, "sms": {0, 0, 0},
			"support_recovery": {0, 1, 0}}
		for _, c := range r.Channels {
			w, ok := want[c.Name]
			if !ok {
				continue
			}
			if got := (uses{c.Uses7, c.Uses30, c.ByPasskeyHolders7}); got != w {
				t.Errorf("%s: uses %+v, want %+v", c.Name, got, w)
			}
			if c.Enabled != (c.Name != "sms") {
				t.Errorf("%s: enabled %v", c.Name, c.Enabled)
			}
		}
		codes := map[string]audit.Severity{}
		for _, f := range r.Findings {
			codes[f.Code] = f.Severity
		}
		wantFindings := map[string]audit.Severity{"email_full_sessions": audit.High, "weak_password_hashes": audit.High,
			"accounts_at_risk": audit.Medium, "recovery_codes_used": audit.Low, "email_used_by_passkey_members": audit.Low,
			"accounts_without_passkey": audit.Low}
		if !maps.Equal(codes, wantFindings) || !r.High() {
			t.Errorf("findings %v, want %v", codes, wantFindings)
		}
		for _, f := range r.Findings {
			if f.Code == "email_full_sessions" && !strings.Contains(f.Message, "6 passkey accounts") {
				t.Errorf("%q does not count the 6 passkey accounts", f.Message)
			}
		}
		// Restricted or passkey-requiring email sign-in gives no passkey
		// account a full session: the finding is gone, the rest stays.
		for _, policy := range []string{"restricted", "require_passkey"} {
			r, err := audit.Run(context.Background(), db, audit.Settings{EmailSignin: true, EmailPasskeyAccounts: policy, PasswordSignup: true}, now)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range r.Findings {
				if f.Code == "email_full_sessions" {
					t.Errorf("under %s: %q", policy, f.Message)
				}
			}
			if !r.High() {
				t.Errorf("under %s the weak hashes are no longer a high finding", policy)
			}
		}
	})
}

// TestAQuietDeploymentHasNoHighFinding: no passkey members yet and no weak
// hashes — nothing for --strict to fail on; with email sign-in off, its
// channels are reported disabled.
func TestAQuietDeploymentHasNoHighFinding(t *testing.T) {
	db, err := store.Open(t.Context(), "sqlite:"+testdb.SQLitePath(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := &seeder{t: t, db: db, now: time.Now()}
	s.member(readiness.Holdings{Password: true}, "argon2id")
	r, err := audit.Run(context.Background(), db, audit.Settings{EmailPasskeyAccounts: "full"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r.High() {
		t.Errorf("high findings: %+v", r.Findings)
	}
	for _, c := range r.Channels {
		if (c.Name == "email_link" || c.Name == "email_code") && c.Enabled {
			t.Errorf("%s enabled without mail", c.Name)
		}
		if c.Name == "password" && !c.Enabled {
			t.Error("password disabled while a member holds one")
		}
	}
}
