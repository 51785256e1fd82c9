package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/support"
	"github.com/keyshift/keyshift/internal/testdb"
)

var recoveryIDRE = regexp.MustCompile(`recovery (\S+): `)

// TestAdminRecoverBeginsListsAndCancels runs `keyshift admin recover` as
// support would: the recovery is stored pending with its evidence, the
// account's address gets a sealed notice, a second one is refused while it
// waits, --list shows it, --cancel ends it once, and every step is in the
// audit log.
func TestAdminRecoverBeginsListsAndCancels(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		env := map[string]string{"KEYSHIFT_DATABASE": database, "KEYSHIFT_PEPPER": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
		db, err := store.Open(ctx, database)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		now := time.Now()
		u := &account.User{ID: "u-ada", Email: "ada@example.com", EmailKey: "ada@example.com", EmailVerified: true, WebAuthnID: []byte("ada"),
			CreatedAt: now, UpdatedAt: now, Origin: account.OriginSignup}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}

		if r := runCmd(t, ctx, env, "admin", "recover", "--user", "ada@example.com"); r.code != 2 {
			t.Errorf("no new address: code %d, want 2 (usage)", r.code)
		}
		if r := runCmd(t, ctx, env, "admin", "recover", "--user", "ada@example.com", "--new-email", "ada@new.example"); r.code != 1 || !strings.Contains(r.stderr, "--evidence") {
			t.Errorf("no evidence: code %d, stderr %q", r.code, r.stderr)
		}
		r := runCmd(t, ctx, env, "admin", "recover", "--user", "ADA@example.com", "--new-email", "ada@new.example", "--evidence", "passport on a video call, ticket 4711")
		if r.code != 0 || !strings.Contains(r.stdout, "told: 1 address by mail, 0 live sessions") || !strings.Contains(r.stdout, "ada@new.example") {
			t.Fatalf("begin: code %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		m := recoveryIDRE.FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("no recovery id in:\n%s", r.stdout)
		}
		id := m[1]
		rec, err := db.FindSupportRecovery(ctx, id)
		if err != nil || rec.State != support.StatePending || rec.Evidence != "passport on a video call, ticket 4711" || !strings.HasPrefix(rec.RequestedBy, "cli") ||
			rec.ReadyAt.Sub(rec.CreatedAt) != 72*time.Hour {
			t.Errorf("stored: %+v, %v", rec, err)
		}
		mails, err := db.FindOutbox(ctx, outbox.Filter{Limit: 10})
		if err != nil || len(mails) != 1 || mails[0].Kind != "notice_support_recovery_requested" || mails[0].To != "ada@example.com" || len(mails[0].Sealed) == 0 {
			t.Errorf("outbox: %+v, %v; want one sealed notice to ada@example.com", mails, err)
		}

		if r := runCmd(t, ctx, env, "admin", "recover", "--user", "ada@example.com", "--new-email", "other@new.example", "--evidence", "x"); r.code != 1 || !strings.Contains(r.stderr, "pending already") {
			t.Errorf("a second recovery: code %d, stderr %q", r.code, r.stderr)
		}
		r = runCmd(t, ctx, env, "admin", "recover", "--list")
		if r.code != 0 || !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "ticket 4711") || !strings.Contains(r.stdout, "pending") {
			t.Errorf("list: code %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		if r := runCmd(t, ctx, env, "admin", "recover", "--cancel", id); r.code != 0 || !strings.Contains(r.stdout, "cancelled recovery "+id) {
			t.Errorf("cancel: code %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		if r := runCmd(t, ctx, env, "admin", "recover", "--cancel", id); r.code != 1 || !strings.Contains(r.stderr, "not pending") {
			t.Errorf("cancel again: code %d, stderr %q", r.code, r.stderr)
		}
		if r := runCmd(t, ctx, env, "admin", "recover", "--cancel", "no-such-id"); r.code != 1 {
			t.Errorf("cancel of an unknown id: code %d", r.code)
		}
		if r := runCmd(t, ctx, env, "admin", "recover", "--list"); r.code != 0 || strings.TrimSpace(r.stdout) != "no pending support recoveries" {
			t.Errorf("list after the cancel: %q", r.stdout)
		}
		if r := runCmd(t, ctx, env, "admin", "recover", "--list", "--all", "--user", "ada@example.com"); r.code != 0 || !strings.Contains(r.stdout, "cancelled (cli") {
			t.Errorf("list --all: %q", r.stdout)
		}
		for _, typ := range []string{support.EventRequested, support.EventCancelled} {
			evs, err := db.FindEvents(ctx, store.EventFilter{UserID: u.ID, Type: typ})
			if err != nil || len(evs) != 1 {
				t.Errorf("%s events: %d, %v", typ, len(evs), err)
			}
		}
	})
}
