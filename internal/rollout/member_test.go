package rollout_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

func member(t *testing.T, db *store.DB, email string, created time.Time) *account.User {
	t.Helper()
	u := &account.User{ID: "u-" + rand.Text(), Email: email, EmailKey: email, WebAuthnID: []byte(rand.Text()),
		CreatedAt: created, UpdatedAt: created, Origin: account.OriginSignup, HasPassword: true}
	if err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestTheNudgeFollowsThePhaseAndTheMembersAnswers walks one member through
// the phases and the nudge's answers with an injectable clock.
func TestTheNudgeFollowsThePhaseAndTheMembersAnswers(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := openDB(t, database)
		c := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
		svc := rollout.NewService(db, rollout.Config{Guardrails: rollout.DefaultGuardrails()}, c.now)
		ctx := context.Background()
		set := func(p rollout.Phase) {
			t.Helper()
			if _, err := svc.Change(ctx, rollout.Change{Phase: &p, Force: true}, "test"); err != nil {
				t.Fatal(err)
			}
		}
		nudged := func(u *account.User, m account.AuthMethod, signup bool) bool {
			t.Helper()
			ok, err := svc.NudgeAfter(ctx, u, m, signup)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		old := member(t, db, "old@example.com", c.now().Add(-time.Hour))
		set(rollout.Beta)
		if nudged(old, account.MethodPassword, false) {
			t.Error("beta nudges a member who did not opt in")
		}
		if err := svc.CanAddPasskey(ctx, old); !account.IsCode(err, account.ENotInRollout) {
			t.Errorf("beta lets a member outside it add a passkey: %v", err)
		}
		on := true
		if _, err := svc.SetPreferences(ctx, signedIn(old, c.now()), rollout.Preferences{PasskeyBeta: &on}, account.Client{}); err != nil {
			t.Fatal(err)
		}
		c.add(rollout.Fresh)
		if !nudged(old, account.MethodPassword, false) || svc.CanAddPasskey(ctx, old) != nil {
			t.Error("'Try passkeys' did not bring the member in")
		}
		if nudged(old, account.MethodPasskeyModal, false) {
			t.Error("nudged after a passkey sign-in")
		}

		set(rollout.NewUsers)
		c.add(time.Minute)
		fresh := member(t, db, "fresh@example.com", c.now())
		if !nudged(fresh, account.MethodSignup, true) {
			t.Error("new-users does not nudge right after sign-up")
		}
		if nudged(fresh, account.MethodPassword, false) {
			t.Error("new-users nudges a new member after a later sign-in")
		}
		set(rollout.ExistingUsers)
		other := member(t, db, "other@example.com", c.now().Add(-24*time.Hour))
		if !nudged(other, account.MethodEmailLink, false) {
			t.Error("existing-users does not nudge an older member after an email sign-in")
		}
		if err := svc.AnswerNudge(ctx, other, rollout.NudgeLater, account.Client{}); err != nil {
			t.Fatal(err)
		}
		if nudged(other, account.MethodPassword, false) {
			t.Error("nudged again right after 'Not now'")
		}
		c.add(rollout.FirstSnooze)
		if !nudged(other, account.MethodPassword, false) {
			t.Error("not nudged a week after 'Not now'")
		}
		if err := svc.AnswerNudge(ctx, other, rollout.NudgeNever, account.Client{}); err != nil {
			t.Fatal(err)
		}
		c.add(365 * 24 * time.Hour)
		if nudged(other, account.MethodPassword, false) {
			t.Error("nudged after 'Don't ask again'")
		}
		if err := svc.AnswerNudge(ctx, other, rollout.NudgeAskAgain, account.Client{}); err != nil || !nudged(other, account.MethodPassword, false) {
			t.Errorf("asking to be asked again: %v", err)
		}
		if err := svc.AnswerNudge(ctx, other, "sometime", account.Client{}); !account.IsCode(err, account.EInvalidRequest) {
			t.Errorf("an unknown answer: %v", err)
		}
		withKey := *other
		withKey.PasskeyCount = 1
		if nudged(&withKey, account.MethodPassword, false) {
			t.Error("nudged a member who has a passkey")
		}
	})
}

// signedIn is u's session signed in with a passkey at now, as
// SetPreferences reads it: going passwordless wants a passkey proof.
func signedIn(u *account.User, at time.Time) *account.SessionWithUser {
	return &account.SessionWithUser{User: *u, Session: account.Session{ID: "s-" + rand.Text(), UserID: u.ID,
		AuthMethod: account.MethodPasskeyModal, AuthenticatedAt: at, CreatedAt: at, LastSeenAt: at}}
}

// addPasskey stores a passkey of u, synced or not, as a registration would.
func addPasskey(t *testing.T, db *store.DB, u *account.User, synced bool, at time.Time) {
	t.Helper()
	if err := db.CreateCredential(t.Context(), &account.Credential{ID: "c-" + rand.Text(), UserID: u.ID, Type: account.CredentialWebAuthn,
		CredentialID: []byte(rand.Text()), PublicKey: []byte("key"), BackupEligible: synced, BackupState: synced,
		CreatedAt: at, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	u.PasskeyCount++
}

// TestGoingPasswordlessNeedsWhatRetirementRequires: "Go passwordless" is
// refused in order — a stale session, a phase before password-retirement,
// an account that lacks what retirement requires — and each refusal
// changes nothing; switching it off is always allowed.
func TestGoingPasswordlessNeedsWhatRetirementRequires(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := openDB(t, database)
		c := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
		svc := rollout.NewService(db, rollout.Config{Guardrails: rollout.DefaultGuardrails()}, c.now)
		ctx := t.Context()
		u := member(t, db, "ada@example.com", c.now())
		if err := db.CreateCredential(ctx, &account.Credential{ID: "pw-" + u.ID, UserID: u.ID, Type: account.CredentialPassword,
			PasswordHash: "$argon2id$v=19$m=8192,t=1,p=1$c2FsdA$aGFzaA", PasswordFormat: "argon2id", CreatedAt: c.now(), UpdatedAt: c.now()}); err != nil {
			t.Fatal(err)
		}
		addPasskey(t, db, u, false, c.now())
		on, off := true, false
		goPasswordless := func(sw *account.SessionWithUser) (rollout.Answers, error) {
			return svc.SetPreferences(ctx, sw, rollout.Preferences{Passwordless: &on}, account.Client{})
		}
		stale := signedIn(u, c.now().Add(-account.DefaultReauthWindow-time.Second))
		if _, err := goPasswordless(stale); !account.IsCode(err, account.EReauthRequired) {
			t.Fatalf("a stale session: %v, want reauth_required", err)
		}
		if _, err := goPasswordless(signedIn(u, c.now())); !account.IsCode(err, account.ENotInRollout) {
			t.Fatalf("in existing-users: %v, want not_in_rollout", err)
		}
		p := rollout.PasswordRetirement
		if _, err := svc.Change(ctx, rollout.Change{Phase: &p}, "test"); err != nil {
			t.Fatal(err)
		}
		_, err := goPasswordless(signedIn(u, c.now()))
		if e, ok := err.(*account.Error); !ok || e.Code != account.ENotReady || e.Reason != "single_device" {
			t.Fatalf("one device-bound passkey: %v", err)
		}
		if a, err := svc.Answers(ctx, u.ID); err != nil || a.Passwordless {
			t.Fatalf("a refusal recorded the opt-in: %+v, %v", a, err)
		}
		addPasskey(t, db, u, true, c.now())
		a, err := goPasswordless(signedIn(u, c.now()))
		if err != nil || !a.Passwordless {
			t.Fatalf("two passkeys: %+v, %v", a, err)
		}
		if a, err := svc.SetPreferences(ctx, stale, rollout.Preferences{Passwordless: &off}, account.Client{}); err != nil || a.Passwordless {
			t.Fatalf("opting out, even from a stale session: %+v, %v", a, err)
		}
		evs, err := db.FindEvents(ctx, store.EventFilter{UserID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		var changes int
		for _, e := range evs {
			if e.Type == rollout.EventPreferencesChanged {
				changes++
			}
		}
		if changes != 2 {
			t.Errorf("%d preference events, want 2 (on, off)", changes)
		}
	})
}

// TestASessionIsNudgedOnce: the nudge is recorded on the session and as an
// event; a second answer in the same session does not nudge again, a new
// session does. Outside the rollout the nudge cannot be answered.
func TestASessionIsNudgedOnce(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := openDB(t, database)
		c := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
		svc := rollout.NewService(db, rollout.Config{Guardrails: rollout.DefaultGuardrails()}, c.now)
		ctx := t.Context()
		u := member(t, db, "ada@example.com", c.now().Add(-time.Hour))
		start := func() *account.SigninResult {
			t.Helper()
			sess := account.Session{ID: "s-" + rand.Text(), TokenHash: []byte(rand.Text()), UserID: u.ID, AuthMethod: account.MethodPassword,
				AuthenticatedAt: c.now(), CreatedAt: c.now(), LastSeenAt: c.now(), ExpiresAt: c.now().Add(time.Hour)}
			if _, err := db.CreateSession(ctx, &sess); err != nil {
				t.Fatal(err)
			}
			return &account.SigninResult{User: *u, Session: sess}
		}
		nudge := func(res *account.SigninResult) bool {
			t.Helper()
			ok, err := svc.Nudge(ctx, res, false, account.Client{IP: "192.0.2.1"})
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		first := start()
		if !nudge(first) {
			t.Fatal("existing-users at 100 % does not nudge a member without a passkey")
		}
		if nudge(first) {
			t.Error("the same session was nudged twice")
		}
		if !nudge(start()) {
			t.Error("a new session of a member who did not answer was not nudged")
		}
		evs, err := db.FindEvents(ctx, store.EventFilter{UserID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		shown := 0
		for _, e := range evs {
			if e.Type == rollout.EventNudgeShown && e.Method == string(account.MethodPassword) && e.IP == "192.0.2.1" {
				shown++
			}
		}
		if shown != 2 {
			t.Errorf("%d nudge_shown events, want 2", shown)
		}

		zero := 0
		if _, err := svc.Change(ctx, rollout.Change{Percent: &zero, Force: true}, "test"); err != nil {
			t.Fatal(err)
		}
		if nudge(start()) {
			t.Error("nudged a member outside the ramp")
		}
		if err := svc.AnswerNudge(ctx, u, rollout.NudgeLater, account.Client{}); !account.IsCode(err, account.ENotInRollout) {
			t.Errorf("answering the nudge outside the rollout: %v, want not_in_rollout", err)
		}
	})
}

// TestCohortOf: internal first, then the ramp, then beta outside the ramp;
// only a member outside the list and the ramp needs their answers read.
func TestCohortOf(t *testing.T) {
	st := rollout.State{Salt: []byte("salt"), Percent: 0, Internal: rollout.Internal{Domains: []string{"staff.example"}}}
	staff := &account.User{ID: "u-staff", EmailKey: "ada@staff.example"}
	other := &account.User{ID: "u-other", EmailKey: "bob@example.com"}
	all := st
	all.Percent = 100
	for _, tc := range []struct {
		name        string
		st          rollout.State
		u           *account.User
		beta, needs bool
		want        string
	}{
		{"puts the dogfood list first", all, staff, true, false, rollout.CohortInternal},
		{"puts the ramp before beta", all, other, true, false, rollout.CohortRamp},
		{"puts an opted-in member outside the ramp in beta", st, other, true, true, rollout.CohortBeta},
		{"puts everyone else in the rest", st, other, false, true, rollout.CohortRest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rollout.CohortOf(tc.st, tc.u, rollout.Answers{Beta: tc.beta}); got != tc.want {
				t.Errorf("cohort %q, want %q", got, tc.want)
			}
			if got := rollout.NeedsAnswers(tc.st, tc.u); got != tc.needs {
				t.Errorf("needs answers %v, want %v", got, tc.needs)
			}
		})
	}
}
