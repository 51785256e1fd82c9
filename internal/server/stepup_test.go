package server_test

// Step-up lives in the domain: every sensitive action is a domain method
// that takes the session and checks its freshness first
// (account.SessionWithUser.RequireFresh), so no HTTP handler, form or command can
// reach one without the check.

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// sensitive is every domain method that is a sensitive action, called as
// the member of sw would call it.
func sensitive(ctx context.Context, in *servertest.Instance, c account.Client) map[string]func(sw *account.SessionWithUser) error {
	return map[string]func(sw *account.SessionWithUser) error{
		"passkey.Service.BeginRegistration": func(sw *account.SessionWithUser) error {
			_, err := in.Passkeys.BeginRegistration(ctx, sw)
			return err
		},
		"passkey.Service.Delete": func(sw *account.SessionWithUser) error {
			return in.Passkeys.Delete(ctx, sw, "no-such-passkey", c)
		},
		"passwordauth.Service.ChangePassword": func(sw *account.SessionWithUser) error {
			_, err := in.Passwords.ChangePassword(ctx, sw, memberPassword, "a brand new passphrase", c)
			return err
		},
		"passwordauth.Service.RemovePassword": func(sw *account.SessionWithUser) error {
			_, err := in.Passwords.RemovePassword(ctx, sw, c)
			return err
		},
		"recovery.Service.Generate": func(sw *account.SessionWithUser) error {
			_, err := in.Recovery.Generate(ctx, sw, c)
			return err
		},
		"change.Service.Begin": func(sw *account.SessionWithUser) error {
			return in.Change.Begin(ctx, sw, "somewhere.else@example.org", c)
		},
		"passkey.Service.BeginUpgrade": func(sw *account.SessionWithUser) error {
			_, err := in.Passkeys.BeginUpgrade(ctx, sw)
			return err
		},
		"export.Service.Export": func(sw *account.SessionWithUser) error {
			_, err := in.Export.Export(ctx, sw, c)
			return err
		},
		// Consent to retire the password ("Go passwordless").
		"rollout.Service.SetPreferences": func(sw *account.SessionWithUser) error {
			on := true
			_, err := in.Rollout.SetPreferences(ctx, sw, rollout.Preferences{Passwordless: &on}, c)
			return err
		},
	}
}

// TestEverySensitiveDomainMethodRefusesAStaleSession: each sensitive
// method refuses a session whose sign-in is older than the reauth window
// with reauth_required, before it reads or writes anything; a fresh
// session passes the check (each may then refuse for its own reasons).
func TestEverySensitiveDomainMethodRefusesAStaleSession(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		in := servertest.Start(t, database)
		ctx := context.Background()
		c := account.Client{IP: "192.0.2.44", UserAgent: "test"}
		res, err := in.Passwords.Signup(ctx, "stale@example.com", memberPassword, c)
		if err != nil {
			t.Fatal(err)
		}
		// A proven address, so that only freshness can refuse.
		if err := in.DB.VerifyUserEmail(ctx, res.User.ID, in.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		res.User.EmailVerified = true
		events := func() int {
			t.Helper()
			evs, err := in.DB.FindEvents(ctx, store.EventFilter{UserID: res.User.ID})
			if err != nil {
				t.Fatal(err)
			}
			return len(evs)
		}
		in.Clock.Advance(in.Config.Passkey.ReauthWindow + time.Second)
		stale := &account.SessionWithUser{User: res.User, Session: res.Session}
		for name, call := range sensitive(ctx, in, c) {
			before := events()
			if err := call(stale); !account.IsCode(err, account.EReauthRequired) {
				t.Errorf("%s with a stale session: %v, want reauth_required", name, err)
			}
			if after := events(); after != before {
				t.Errorf("%s with a stale session wrote %d events", name, after-before)
			}
		}
		in.Clock.Advance(-(in.Config.Passkey.ReauthWindow + time.Second))
		for name, call := range sensitive(ctx, in, c) {
			fresh := &account.SessionWithUser{User: res.User, Session: res.Session}
			if err := call(fresh); account.IsCode(err, account.EReauthRequired) {
				t.Errorf("%s with a fresh session: %v", name, err)
			}
		}
	})
}

// TestAPasskeyMembersWeakerProofsOnlyAddAPasskey: for a member with a
// passkey, a fresh sign-in or step-up by password or email counts only for
// adding a passkey: every other sensitive method refuses it with reason
// "passkey", before it writes anything; a passkey step-up within the
// window passes every gate.
func TestAPasskeyMembersWeakerProofsOnlyAddAPasskey(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		in := servertest.Start(t, database)
		ctx := context.Background()
		c := account.Client{IP: "192.0.2.45", UserAgent: "test"}
		res, err := in.Passwords.Signup(ctx, "keyholder@example.com", memberPassword, c)
		if err != nil {
			t.Fatal(err)
		}
		if err := in.DB.VerifyUserEmail(ctx, res.User.ID, in.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		now := in.Clock.Now()
		if err := in.DB.CreateCredential(ctx, &account.Credential{ID: in.Random.NewID(), UserID: res.User.ID, Type: account.CredentialWebAuthn,
			CredentialID: in.Random.Bytes(16), PublicKey: []byte{0xa0}, Name: "Phone", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		u, err := in.DB.FindUser(ctx, res.User.ID)
		if err != nil {
			t.Fatal(err)
		}
		adds := map[string]bool{"passkey.Service.BeginRegistration": true, "passkey.Service.BeginUpgrade": true}
		for _, weak := range []account.Session{
			{AuthMethod: account.MethodPassword, AuthenticatedAt: now},
			{AuthMethod: account.MethodEmailLink, AuthenticatedAt: now},
			{AuthMethod: account.MethodRecoveryCode, AuthenticatedAt: now},
			{AuthMethod: account.MethodEmailCode, AuthenticatedAt: now.Add(-time.Hour), SteppedUpAt: now, SteppedUpMethod: account.MethodPassword},
		} {
			weak.ID, weak.UserID = res.Session.ID, u.ID
			sw := &account.SessionWithUser{User: *u, Session: weak}
			for name, call := range sensitive(ctx, in, c) {
				err := call(sw)
				if adds[name] {
					if account.IsCode(err, account.EReauthRequired) {
						t.Errorf("%s after a %s proof: %v, want it to pass the gate", name, weak.AuthMethod, err)
					}
					continue
				}
				if e, ok := err.(*account.Error); !ok || e.Code != account.EReauthRequired || e.Reason != "passkey" {
					t.Errorf("%s after a %s proof (step-up %q): %v, want reauth_required reason passkey", name, weak.AuthMethod, weak.SteppedUpMethod, err)
				}
			}
		}
		strong := &account.SessionWithUser{User: *u, Session: account.Session{ID: res.Session.ID, UserID: u.ID,
			AuthMethod: account.MethodPassword, AuthenticatedAt: now.Add(-time.Hour), SteppedUpAt: now, SteppedUpMethod: account.MethodPasskeyUsername}}
		for name, call := range sensitive(ctx, in, c) {
			if err := call(strong); account.IsCode(err, account.EReauthRequired) {
				t.Errorf("%s after a passkey step-up: %v", name, err)
			}
		}
	})
}

// TestEverySensitiveDomainMethodRefusesASessionOnProbation: a session
// that a passkey on probation proved — signed in or stepped up with it
// moments ago (docs/security.md, T29) — passes only the gates of adding a
// passkey; every other sensitive method refuses it with
// credential_on_probation and the end of the probation, before it writes
// anything; once the probation is over the same proof passes.
func TestEverySensitiveDomainMethodRefusesASessionOnProbation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		in := servertest.Start(t, database)
		ctx := context.Background()
		c := account.Client{IP: "192.0.2.46", UserAgent: "test"}
		res, err := in.Passwords.Signup(ctx, "probation@example.com", memberPassword, c)
		if err != nil {
			t.Fatal(err)
		}
		if err := in.DB.VerifyUserEmail(ctx, res.User.ID, in.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		now := in.Clock.Now()
		until := now.Add(in.Config.EmailSignin.Probation)
		owners := in.Random.NewID()
		if err := in.DB.CreateCredential(ctx, &account.Credential{ID: owners, UserID: res.User.ID, Type: account.CredentialWebAuthn,
			CredentialID: in.Random.Bytes(16), PublicKey: []byte{0xa0}, Name: "Owner's", CreatedAt: now.Add(-time.Hour), UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := in.DB.CreateCredential(ctx, &account.Credential{ID: in.Random.NewID(), UserID: res.User.ID, Type: account.CredentialWebAuthn,
			CredentialID: in.Random.Bytes(16), PublicKey: []byte{0xa0}, Name: "Thief's", CreatedAt: now, UpdatedAt: now,
			ProbationUntil: until, ProbationVia: account.MethodEmailLink}); err != nil {
			t.Fatal(err)
		}
		u, err := in.DB.FindUser(ctx, res.User.ID)
		if err != nil {
			t.Fatal(err)
		}
		events := func() int {
			t.Helper()
			evs, err := in.DB.FindEvents(ctx, store.EventFilter{UserID: u.ID})
			if err != nil {
				t.Fatal(err)
			}
			return len(evs)
		}
		adds := map[string]bool{"passkey.Service.BeginRegistration": true, "passkey.Service.BeginUpgrade": true}
		for _, sw := range []*account.SessionWithUser{
			{User: *u, SigninProbation: until, Session: account.Session{ID: res.Session.ID, UserID: u.ID,
				AuthMethod: account.MethodPasskeyModal, AuthenticatedAt: now}},
			{User: *u, StepUpProbation: until, Session: account.Session{ID: res.Session.ID, UserID: u.ID,
				AuthMethod: account.MethodEmailLink, AuthenticatedAt: now, SteppedUpAt: now, SteppedUpMethod: account.MethodPasskeyUsername}},
		} {
			calls := sensitive(ctx, in, c)
			// Delete learns its passkey before it refuses (it may remove
			// one on probation): it is asked for the owner's.
			calls["passkey.Service.Delete"] = func(sw *account.SessionWithUser) error { return in.Passkeys.Delete(ctx, sw, owners, c) }
			for name, call := range calls {
				before := events()
				err := call(sw)
				if adds[name] {
					if account.IsCode(err, account.ECredentialOnProbation) || account.IsCode(err, account.EReauthRequired) {
						t.Errorf("%s on probation: %v, want it to pass the gate", name, err)
					}
					continue
				}
				if e, ok := err.(*account.Error); !ok || e.Code != account.ECredentialOnProbation || !e.Until.Equal(until) {
					t.Errorf("%s on probation: %v, want credential_on_probation until %s", name, err, until)
				}
				if after := events(); after != before {
					t.Errorf("%s on probation wrote %d events", name, after-before)
				}
			}
		}
		in.Clock.Set(until)
		over := &account.SessionWithUser{User: *u, SigninProbation: until, Session: account.Session{ID: res.Session.ID, UserID: u.ID,
			AuthMethod: account.MethodPasskeyModal, AuthenticatedAt: until}}
		for name, call := range sensitive(ctx, in, c) {
			if err := call(over); account.IsCode(err, account.ECredentialOnProbation) || account.IsCode(err, account.EReauthRequired) {
				t.Errorf("%s after the probation: %v", name, err)
			}
		}
	})
}

// TestTheSensitiveListIsEveryMethodThatChecksFreshness: the list above is
// exactly the domain methods that call RequireFresh, read from the source:
// a new sensitive method cannot be left out of the test above.
func TestTheSensitiveListIsEveryMethodThatChecksFreshness(t *testing.T) {
	var got []string
	root := filepath.Join("..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Body == nil || !callsRequireFresh(fn.Body) {
				continue
			}
			got = append(got, f.Name.Name+"."+receiver(fn)+"."+fn.Name.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for name := range sensitive(context.Background(), nil, account.Client{}) {
		want = append(want, name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("methods calling RequireFresh: %q\nthe test's list: %q", got, want)
	}
}

// callsRequireFresh reports whether body calls a method named RequireFresh.
func callsRequireFresh(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "RequireFresh" {
				found = true
			}
		}
		return !found
	})
	return found
}

// receiver names fn's receiver type, without its star.
func receiver(fn *ast.FuncDecl) string {
	t := fn.Recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name
	}
	return "?"
}
