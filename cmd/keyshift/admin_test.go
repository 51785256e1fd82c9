package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/pepper"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

func TestAdminMailListsStuckMail(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		env := map[string]string{"KEYSHIFT_DATABASE": database}
		db, err := store.Open(ctx, database)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()

		if r := runCmd(t, ctx, env, "admin", "mail"); r.code != 0 || strings.TrimSpace(r.stdout) != "no stuck mail" {
			t.Fatalf("empty outbox: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}

		now := time.Now()
		for _, subject := range []string{"refused", "retrying", "waiting"} {
			m := &outbox.Mail{Message: outbox.Message{To: subject + "@example.com", Subject: subject, Text: "t", Kind: "test"}, CreatedAt: now, DueAt: now}
			if err := db.CreateOutbox(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		claimed, err := db.ClaimOutbox(ctx, now, now.Add(time.Minute), "lease", 2)
		if err != nil || len(claimed) != 2 {
			t.Fatalf("claim = %d, %v", len(claimed), err)
		}
		if err := db.MarkOutboxFailed(ctx, claimed[0].ID, "lease", now, "smtp://mx:25: 550 5.0.0 no such\nuser"); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkOutboxRetry(ctx, claimed[1].ID, "lease", now.Add(time.Minute), "dial tcp: connection refused"); err != nil {
			t.Fatal(err)
		}

		r := runCmd(t, ctx, env, "admin", "mail")
		if r.code != 0 {
			t.Fatalf("admin mail: code %d, stderr %q", r.code, r.stderr)
		}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") {
			t.Fatalf("admin mail printed %d lines, want a header and 2 mails:\n%s", len(lines), r.stdout)
		}
		for _, want := range []string{"failed", "refused@example.com", "550 5.0.0 no such user", "never", "queued", "connection refused"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("admin mail lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "waiting@") {
			t.Errorf("admin mail lists mail that never failed:\n%s", r.stdout)
		}
		if r := runCmd(t, ctx, env, "admin", "mail", "--all"); !strings.Contains(r.stdout, "waiting@example.com") {
			t.Errorf("admin mail --all lacks the waiting mail:\n%s", r.stdout)
		}
	})
}

func TestAdminUsage(t *testing.T) {
	if r := runCmd(t, context.Background(), nil, "admin"); r.code != 2 || !strings.Contains(r.stdout, "mail") {
		t.Errorf("admin: code %d, stdout %q", r.code, r.stdout)
	}
	if r := runCmd(t, context.Background(), nil, "admin", "--help"); r.code != 0 {
		t.Errorf("admin --help: code %d", r.code)
	}
	if r := runCmd(t, context.Background(), nil, "admin", "nope"); r.code != 2 || !strings.Contains(r.stderr, `unknown subcommand "nope"`) {
		t.Errorf("admin nope: code %d, stderr %q", r.code, r.stderr)
	}
}

// TestAdminMailOpensSealedSubjects: the outbox keeps subjects sealed under
// the pepper; admin mail opens them with the configured pepper, and without
// it still lists what is stuck, subjects shown as sealed.
func TestAdminMailOpensSealedSubjects(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		const secret = "c2VjcmV0IHBlcHBlciBmb3IgdGhlIGFkbWluIG1haWwgdGVzdA=="
		p, err := pepper.Parse(secret)
		if err != nil {
			t.Fatal(err)
		}
		db, err := store.Open(ctx, database)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		box := outbox.NewOutbox(db, nil, outbox.WithKeys(pepper.Set{Current: p}.Keys(outbox.SealPurpose)))
		msg := outbox.Message{To: "ada@example.com", Kind: "signin", Subject: "Your sign-in code: 123456", Text: "code 123456"}
		if err := db.InTx(ctx, func(ctx context.Context) error { return box.Enqueue(ctx, msg) }); err != nil {
			t.Fatal(err)
		}
		if n, err := outbox.NewWorker(box, outbox.LogSender{}, outbox.Policy{}, nil, nil).RunOnce(ctx); n != 1 || err != nil {
			t.Fatalf("RunOnce = %d, %v", n, err)
		}

		r := runCmd(t, ctx, map[string]string{"KEYSHIFT_DATABASE": database, "KEYSHIFT_PEPPER": secret}, "admin", "mail")
		if r.code != 0 || !strings.Contains(r.stdout, "Your sign-in code: 123456") || !strings.Contains(r.stdout, "not delivered") {
			t.Errorf("with the pepper: code %d, stdout:\n%s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
		r = runCmd(t, ctx, map[string]string{"KEYSHIFT_DATABASE": database}, "admin", "mail")
		if r.code != 0 || strings.Contains(r.stdout, "123456") || !strings.Contains(r.stdout, "(sealed)") ||
			!strings.Contains(r.stdout, "ada@example.com") || !strings.Contains(r.stderr, "sealed") {
			t.Errorf("without the pepper: code %d, stdout:\n%s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
	})
}

// TestAdminEmailKeysListsUnkeyedAccounts: the accounts the upgrade to
// canonical email keys left without a key are listed, their addresses
// escaped so that look-alike and invisible characters show, and
// `keyshift migrate` says how many there are.
func TestAdminEmailKeysListsUnkeyedAccounts(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		env := map[string]string{"KEYSHIFT_DATABASE": database}
		db, err := store.Open(ctx, database)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if r := runCmd(t, ctx, env, "admin", "email-keys"); r.code != 0 || strings.TrimSpace(r.stdout) != "every account has the key of its address" {
			t.Fatalf("no conflicts: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}

		now := time.Now()
		for _, u := range []*account.User{
			{ID: "kept-by", Email: "ada@bücher.de", EmailKey: "ada@bücher.de"},
			{ID: "unkeyed", Email: "ada@xn--bcher-kva.de", EmailKey: store.UnkeyedPrefix + "unkeyed"},
			{ID: "lookalike", Email: "\u212Aate@example.com", EmailKey: store.UnkeyedPrefix + "lookalike"},
		} {
			u.WebAuthnID, u.CreatedAt, u.UpdatedAt, u.Origin = []byte(u.ID), now, now, account.OriginSignup
			if err := db.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		// What the migration writes (store.TestCanonicalEmailKeysMigration).
		insert := `INSERT INTO email_key_conflicts (user_id, email, old_key, canonical_key, reason, kept_by, found_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
		at := any(now.UnixMilli())
		if !strings.HasPrefix(database, "sqlite:") {
			insert, at = strings.NewReplacer("(?, ?, ?, ?, ?, ?, ?)", "($1, $2, $3, $4, $5, $6, $7)").Replace(insert), now
		}
		raw := testdb.Raw(t, database)
		for _, c := range [][]any{
			{"unkeyed", "ada@xn--bcher-kva.de", "ada@xn--bcher-kva.de", "ada@bücher.de", "duplicate", "kept-by", at},
			{"lookalike", "\u212Aate@example.com", "kate@example.com", "", "lookalike_character", "", at},
		} {
			if _, err := raw.ExecContext(ctx, insert, c...); err != nil {
				t.Fatal(err)
			}
		}

		r := runCmd(t, ctx, env, "admin", "email-keys")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "ACCOUNT") {
			t.Fatalf("admin email-keys: code %d, stderr %q, stdout:\n%s", r.code, r.stderr, r.stdout)
		}
		for _, want := range []string{`"ada@xn--bcher-kva.de"`, `duplicate`, `kept-by "ada@b\u00fccher.de"`,
			`"\u212aate@example.com"`, `lookalike_character`} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("admin email-keys lacks %q:\n%s", want, r.stdout)
			}
		}
		if r := runCmd(t, ctx, env, "migrate"); r.code != 0 || !strings.Contains(r.stdout, "accounts without an address key (another account has their address, or it is refused now): 2;") {
			t.Errorf("migrate: code %d, stdout %q", r.code, r.stdout)
		}
	})
}

// TestAdminGrantRevokeList: the admin role by address, said plainly,
// with a warning when the member has no passkey for it to be of use.
func TestAdminGrantRevokeList(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		env := map[string]string{"KEYSHIFT_DATABASE": database}
		db, err := store.Open(ctx, database)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		now := time.Now()
		u := &account.User{ID: "u-ada", Email: "ada@example.com", EmailKey: "ada@example.com", WebAuthnID: []byte("ada"),
			CreatedAt: now, UpdatedAt: now, Origin: account.OriginSignup}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		for _, step := range []struct {
			args []string
			code int
			want []string
		}{
			{[]string{"admin", "list"}, 0, []string{"no member holds the admin role"}},
			{[]string{"admin", "grant"}, 2, nil},
			{[]string{"admin", "grant", "nobody@example.com"}, 1, nil},
			{[]string{"admin", "grant", "Ada@example.com"}, 0, []string{"ada@example.com may open /admin", "has no passkey yet, so the role opens nothing"}},
			{[]string{"admin", "grant", "ada@example.com"}, 0, []string{"holds the admin role already"}},
			{[]string{"admin", "list"}, 0, []string{"EMAIL", "ada@example.com", "cli", "0"}},
			{[]string{"admin", "revoke", "ada@example.com"}, 0, []string{"no longer holds the admin role"}},
			{[]string{"admin", "revoke", "ada@example.com"}, 0, []string{"did not hold the admin role"}},
		} {
			r := runCmd(t, ctx, env, step.args...)
			if r.code != step.code {
				t.Errorf("%v: code %d, want %d (stdout %q, stderr %q)", step.args, r.code, step.code, r.stdout, r.stderr)
			}
			for _, w := range step.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("%v: stdout %q lacks %q", step.args, r.stdout, w)
				}
			}
		}
		events, err := db.FindEvents(ctx, store.EventFilter{UserID: "u-ada"})
		if err != nil || len(events) != 2 || events[0].Type != "admin_granted" || events[1].Type != "admin_revoked" {
			t.Errorf("audit: %+v, %v; want one grant and one revoke", events, err)
		}
	})
}
