package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestRolloutCommands moves the rollout through the CLI as an operator
// would, on both backends: status, a phase, the ramp (lowering needs
// --force), the internal cohort, and the history of it all.
func TestRolloutCommands(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ctx := context.Background()
		env := map[string]string{"KEYSHIFT_DATABASE": database, "USER": "ops"}
		db, err := store.Open(ctx, database)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()

		doc := func(args ...string) rollout.Document {
			t.Helper()
			r := runCmd(t, ctx, env, append(args, "--json")...)
			if r.code != 0 {
				t.Fatalf("%v: code %d, stderr %q", args, r.code, r.stderr)
			}
			var d rollout.Document
			if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
				t.Fatalf("%v printed no document: %v\n%s", args, err, r.stdout)
			}
			return d
		}
		if d := doc("rollout", "status"); d.Phase != rollout.ExistingUsers || d.Percent != 100 || d.Guardrails.Tripped || d.Internal.Domains == nil {
			t.Fatalf("a fresh install's rollout: %+v", d)
		}
		if d := doc("rollout", "set", "dogfood", "--reason", "staff first"); d.Phase != rollout.Dogfood || !strings.HasPrefix(d.UpdatedBy, "cli") {
			t.Fatalf("after set dogfood: %+v", d)
		}
		r := runCmd(t, ctx, env, "rollout", "percent", "10")
		if r.code != 1 || !strings.Contains(r.stderr, "--force") {
			t.Fatalf("lowering without --force: code %d, stderr %q", r.code, r.stderr)
		}
		if d := doc("rollout", "percent", "10", "--force"); d.Percent != 10 {
			t.Fatalf("after percent 10 --force: %+v", d)
		}
		if d := doc("rollout", "cohort", "add", "--domain", "@Example.com", "--email", "ada@elsewhere.net"); len(d.Internal.Domains) != 1 || d.Internal.Domains[0] != "example.com" {
			t.Fatalf("after cohort add: %+v", d.Internal)
		}
		if d := doc("rollout", "cohort", "remove", "--domain", "example.com"); len(d.Internal.Domains) != 0 || len(d.Internal.Emails) != 1 {
			t.Fatalf("after cohort remove: %+v", d.Internal)
		}
		r = runCmd(t, ctx, env, "rollout", "status")
		if r.code != 0 || !strings.Contains(r.stdout, "phase:     dogfood") || !strings.Contains(r.stdout, "ramp:      10 %") {
			t.Fatalf("status for a person:\n%s\n%s", r.stdout, r.stderr)
		}
		r = runCmd(t, ctx, env, "rollout", "history")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || len(lines) != 5 || !strings.Contains(lines[4], "staff first") || !strings.Contains(lines[3], "true") {
			t.Fatalf("history:\n%s\n%s", r.stdout, r.stderr)
		}
		for _, bad := range [][]string{{"rollout", "set", "sideways"}, {"rollout", "percent", "150"}} {
			if r := runCmd(t, ctx, env, bad...); r.code == 0 {
				t.Errorf("%v succeeded", bad)
			}
		}
		for _, usage := range [][]string{{"rollout", "set"}, {"rollout", "percent", "ten"}, {"rollout", "cohort", "add"}, {"rollout", "frobnicate"}} {
			if r := runCmd(t, ctx, env, usage...); r.code != 2 {
				t.Errorf("%v: code %d, want 2 (usage)", usage, r.code)
			}
		}
	})
}

// TestAdminTokenCommands makes, lists and revokes a token through the CLI;
// the secret is printed once and never listed.
func TestAdminTokenCommands(t *testing.T) {
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
		r := runCmd(t, ctx, env, "admin", "token", "create", "--name", "deploy", "--scope", "rollout,metrics", "--json")
		var made struct{ Name, Token string }
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &made) != nil || made.Name != "deploy" || !strings.HasPrefix(made.Token, "ks_admin_") {
			t.Fatalf("create: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		if r := runCmd(t, ctx, env, "admin", "token", "create", "--name", "deploy"); r.code != 1 || !strings.Contains(r.stderr, "exists") {
			t.Fatalf("the same name again: code %d, stderr %q", r.code, r.stderr)
		}
		if r := runCmd(t, ctx, env, "admin", "token", "create", "--name", "x", "--scope", "root"); r.code != 1 || !strings.Contains(r.stderr, "unknown scope") {
			t.Fatalf("an unknown scope: code %d, stderr %q", r.code, r.stderr)
		}
		r = runCmd(t, ctx, env, "admin", "token", "list")
		if r.code != 0 || !strings.Contains(r.stdout, "deploy") || !strings.Contains(r.stdout, "rollout,metrics") || strings.Contains(r.stdout, made.Token) {
			t.Fatalf("list:\n%s", r.stdout)
		}
		if r := runCmd(t, ctx, env, "admin", "token", "revoke", "--name", "deploy"); r.code != 0 {
			t.Fatalf("revoke: code %d, stderr %q", r.code, r.stderr)
		}
		if r := runCmd(t, ctx, env, "admin", "token", "revoke", "--name", "deploy"); r.code != 1 || !strings.Contains(r.stderr, "no live admin token") {
			t.Fatalf("revoke twice: code %d, stderr %q", r.code, r.stderr)
		}
		r = runCmd(t, ctx, env, "admin", "token", "list", "--json")
		if r.code != 0 || !strings.Contains(r.stdout, `"revokedAt":"`) {
			t.Fatalf("list --json after revoke:\n%s", r.stdout)
		}
	})
}
