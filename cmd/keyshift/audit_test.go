package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestAuditReportsAndGatesOnHighFindings: `keyshift audit` prints the
// channels, readiness and findings; --json carries the same; --strict
// exits 1 once a passkey member can be reached by a full email session
// (email_signin.passkey_accounts full), and 0 before and under the default.
func TestAuditReportsAndGatesOnHighFindings(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		env := map[string]string{"KEYSHIFT_DATABASE": database, "KEYSHIFT_DEV": "true"}
		db, err := store.Open(ctx, database)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		now := time.Now()
		_, key, _ := account.NormalizeEmail("ada@example.com")
		ada := &account.User{ID: "ada", Email: "ada@example.com", EmailKey: key, WebAuthnID: []byte("ada"), CreatedAt: now, UpdatedAt: now, Origin: account.OriginSignup}
		if err := db.CreateUser(ctx, ada); err != nil {
			t.Fatal(err)
		}

		if r := runCmd(t, ctx, env, "audit", "--strict"); r.code != 0 || !strings.Contains(r.stdout, "email_link") || !strings.Contains(r.stdout, "weak     1") {
			t.Fatalf("without passkeys: code %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		pk := &account.Credential{ID: "pk", UserID: "ada", Type: account.CredentialWebAuthn, CredentialID: []byte("c"), PublicKey: []byte{1}, CreatedAt: now, UpdatedAt: now}
		if err := db.CreateCredential(ctx, pk); err != nil {
			t.Fatal(err)
		}
		// The default policy (restricted) gives no passkey member a full
		// email session: nothing high.
		if r := runCmd(t, ctx, env, "audit", "--strict"); r.code != 0 || strings.Contains(r.stdout, "email_full_sessions") {
			t.Fatalf("with a passkey member under restricted: code %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		env["KEYSHIFT_EMAIL_SIGNIN_PASSKEY_ACCOUNTS"] = "full"
		r := runCmd(t, ctx, env, "audit", "--strict")
		if r.code != 1 || !strings.Contains(r.stdout, "HIGH   email_full_sessions") || !strings.Contains(r.stdout, "at_risk  1") {
			t.Fatalf("with a passkey member: code %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		r = runCmd(t, ctx, env, "audit", "--json")
		var report struct {
			Accounts  int            `json:"accounts"`
			Readiness map[string]int `json:"readiness"`
			Findings  []struct {
				Severity, Code string
			} `json:"findings"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &report); err != nil || r.code != 0 {
			t.Fatalf("--json: code %d, %v\n%s", r.code, err, r.stdout)
		}
		if report.Accounts != 1 || report.Readiness["at_risk"] != 1 || len(report.Findings) == 0 || report.Findings[0].Code != "email_full_sessions" {
			t.Errorf("--json: %+v", report)
		}
	})
}
