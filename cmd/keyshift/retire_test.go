package main

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// retireMember is one seeded member of TestRetireTakesOnlyOptedInReadyPasswords.
type retireMember struct {
	name            string
	optedIn         bool
	password        bool
	passkeys        int
	synced          int
	recoveryCodes   int
	firstPasskeyAgo time.Duration // 0: never signed in with a passkey
	want            string        // retired, or the reason the password stays; "" not listed at all
}

// TestRetireTakesOnlyOptedInReadyPasswords seeds members of every kind and
// runs `keyshift rollout retire`: the dry run lists exactly what the real run
// then does, nobody who did not opt in loses a password, and each retired
// member gets a notice and an event.
func TestRetireTakesOnlyOptedInReadyPasswords(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	members := []retireMember{
		{name: "ready with two passkeys", optedIn: true, password: true, passkeys: 2, firstPasskeyAgo: 100 * day, want: "retired"},
		{name: "ready with a synced passkey and codes", optedIn: true, password: true, passkeys: 1, synced: 1, recoveryCodes: 10, firstPasskeyAgo: 91 * day, want: "retired"},
		{name: "ready in every way but never opted in", password: true, passkeys: 3, synced: 3, recoveryCodes: 10, firstPasskeyAgo: 400 * day},
		{name: "opted in too recently", optedIn: true, password: true, passkeys: 2, firstPasskeyAgo: 10 * day, want: "passkey_too_recent"},
		{name: "opted in with one device", optedIn: true, password: true, passkeys: 1, firstPasskeyAgo: 200 * day, want: "single_device"},
		{name: "opted in, never a passkey sign-in", optedIn: true, password: true, passkeys: 2, want: "no_passkey_signin"},
		{name: "opted in without a password", optedIn: true, passkeys: 2, firstPasskeyAgo: 200 * day},
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		dir := t.TempDir()
		env := map[string]string{"KEYSHIFT_DATABASE": database, "KEYSHIFT_PEPPER": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
		db, err := store.Open(ctx, database)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ids := map[string]string{}
		for _, m := range members {
			ids[m.name] = seedRetireMember(t, db, m)
		}

		r := runCmd(t, ctx, env, "rollout", "retire")
		if r.code != 1 || !strings.Contains(r.stderr, "password-retirement phase") {
			t.Fatalf("a real run outside password-retirement: code %d, stderr %q", r.code, r.stderr)
		}
		dry := filepath.Join(dir, "dry.csv")
		r = runCmd(t, ctx, env, "rollout", "retire", "--dry-run", "--csv", dry)
		if r.code != 0 || !strings.Contains(r.stdout, "would retire 2 password(s)") || !strings.Contains(r.stdout, "never opted in): 1") {
			t.Fatalf("dry run: code %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		if r := runCmd(t, ctx, env, "rollout", "set", "password-retirement", "--force"); r.code != 0 {
			t.Fatalf("set: %s", r.stderr)
		}
		real := filepath.Join(dir, "real.csv")
		before := time.Now().Truncate(time.Second)
		r = runCmd(t, ctx, env, "rollout", "retire", "--csv", real)
		if r.code != 0 || !strings.Contains(r.stdout, "retired 2 password(s)") {
			t.Fatalf("real run: code %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		// The real run is an operator's action in the rollout's history:
		// who, when and the counts (the dry run is not).
		changes, err := db.RolloutChanges(ctx, 10)
		if err != nil || len(changes) != 2 {
			t.Fatalf("history after set and retire: %+v, %v", changes, err)
		}
		run := changes[0]
		if wantBy := cli.Operator(&cli.Env{Getenv: os.Getenv}); run.By != wantBy || run.At.Before(before) || run.At.After(time.Now()) ||
			run.Reason != "retire: 2 password(s) retired, 3 opted in but not ready, 1 never opted in" ||
			run.From.Phase != rollout.PasswordRetirement || run.To.Phase != rollout.PasswordRetirement {
			t.Errorf("the retirement run's audit: %+v", run)
		}
		if r := runCmd(t, ctx, env, "rollout", "history"); !strings.Contains(r.stdout, "retire: 2 password(s) retired") {
			t.Errorf("rollout history does not list the run:\n%s", r.stdout)
		}
		dryRows, realRows := readOutcomes(t, dry), readOutcomes(t, real)
		for _, m := range members {
			wantDry, wantReal := m.want, m.want
			if m.want == "retired" {
				wantDry = "would_retire"
			}
			if dryRows[ids[m.name]] != wantDry || realRows[ids[m.name]] != wantReal {
				t.Errorf("%s: dry run %q, real run %q, want %q", m.name, dryRows[ids[m.name]], realRows[ids[m.name]], m.want)
			}
			_, err := db.FindPasswordCredential(ctx, ids[m.name])
			hasPassword := err == nil
			if want := m.password && m.want != "retired"; hasPassword != want {
				t.Errorf("%s: has a password %v after the run, want %v", m.name, hasPassword, want)
			}
			events, _ := db.FindEvents(ctx, store.EventFilter{UserID: ids[m.name], Type: account.EventPasswordRetired})
			if (len(events) == 1) != (m.want == "retired") {
				t.Errorf("%s: %d password_retired events", m.name, len(events))
			}
		}
		queued, err := db.FindOutbox(ctx, outbox.Filter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var notified []string
		for _, q := range queued {
			if q.Kind == "notice_password_retired" {
				notified = append(notified, q.To)
			}
		}
		if len(notified) != 2 {
			t.Errorf("%d retirement notices queued, want 2: %v", len(notified), notified)
		}
		if r := runCmd(t, ctx, env, "rollout", "retire"); r.code != 0 || !strings.Contains(r.stdout, "retired 0 password(s)") {
			t.Fatalf("a second run: code %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})
}

func seedRetireMember(t *testing.T, db *store.DB, m retireMember) string {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	id := rand.Text()
	u := &account.User{ID: "u-" + id, Email: "m-" + strings.ToLower(id) + "@example.com", EmailKey: "m-" + strings.ToLower(id) + "@example.com",
		EmailVerified: true, WebAuthnID: []byte(id), CreatedAt: now, UpdatedAt: now, Origin: account.OriginSignup}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if m.password {
		if err := db.CreateCredential(ctx, &account.Credential{ID: "p-" + id, UserID: u.ID, Type: account.CredentialPassword,
			PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", PasswordFormat: "argon2id", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range m.passkeys {
		if err := db.CreateCredential(ctx, &account.Credential{ID: "k-" + id + string(rune('a'+i)), UserID: u.ID, Type: account.CredentialWebAuthn,
			CredentialID: []byte(id + string(rune('a'+i))), PublicKey: []byte("cose"), BackupEligible: i < m.synced, BackupState: i < m.synced,
			CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if m.recoveryCodes > 0 {
		codes := make([]account.RecoveryCodeHash, m.recoveryCodes)
		for i := range codes {
			codes[i] = account.RecoveryCodeHash{Hash: []byte(rand.Text()), PepperID: "x"}
		}
		if err := db.ReplaceRecoveryCodes(ctx, u.ID, codes, now); err != nil {
			t.Fatal(err)
		}
	}
	if m.firstPasskeyAgo > 0 {
		for _, ago := range []time.Duration{m.firstPasskeyAgo, time.Hour} {
			if err := db.AppendEvent(ctx, &account.Event{At: now.Add(-ago), Type: account.EventSignin, UserID: u.ID,
				Method: string(account.MethodPasskeyModal), Outcome: account.OutcomeSuccess}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if m.optedIn {
		if err := db.SetRolloutAnswers(ctx, u.ID, rollout.Answers{Passwordless: true}, now); err != nil {
			t.Fatal(err)
		}
	}
	return u.ID
}

// readOutcomes reads a retire CSV as user id → outcome.
func readOutcomes(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) == 0 || !slices.Equal(rows[0][:3], []string{"user_id", "email", "outcome"}) {
		t.Fatalf("%s: %v %v", path, rows, err)
	}
	out := map[string]string{}
	for _, r := range rows[1:] {
		out[r[0]] = r[2]
	}
	return out
}
