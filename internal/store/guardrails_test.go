package store_test

import (
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestGuardrailFigures seeds events and counted failures and reads back
// what the guardrails judge.
func TestGuardrailFigures(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := t.Context()
		now := t0.Add(30 * 24 * time.Hour)
		if empty, err := db.GuardrailFigures(ctx, 200, now); err != nil || empty != (rollout.Figures{}) {
			t.Fatalf("before any event: %+v, %v", empty, err)
		}
		withPasskey, passwordOnly := createUser(t, db), createUser(t, db)
		if err := db.CreateCredential(ctx, newPasskey(withPasskey)); err != nil {
			t.Fatal(err)
		}
		ev := func(at time.Time, typ, user string, method account.AuthMethod, outcome string) {
			t.Helper()
			if err := db.AppendEvent(ctx, &account.Event{At: at, Type: typ, UserID: user, Method: string(method), Outcome: outcome}); err != nil {
				t.Fatal(err)
			}
		}
		// Passkey sign-ins: 6 long ago (outside 7 days), then 3 successes and
		// 2 failures in the window of 4, the oldest of which is a success.
		for i := range 6 {
			ev(now.Add(-10*24*time.Hour+time.Duration(i)*time.Minute), account.EventSignin, withPasskey.ID, account.MethodPasskeyModal, account.OutcomeFailure)
		}
		ev(now.Add(-50*time.Minute), account.EventSignin, withPasskey.ID, account.MethodPasskeyConditional, account.OutcomeSuccess)
		ev(now.Add(-40*time.Minute), account.EventSignin, withPasskey.ID, account.MethodPasskeyModal, account.OutcomeSuccess)
		ev(now.Add(-30*time.Minute), account.EventSignin, withPasskey.ID, "passkey", account.OutcomeFailure)
		ev(now.Add(-20*time.Minute), account.EventSignin, withPasskey.ID, account.MethodPasskeyUsername, account.OutcomeSuccess)
		ev(now.Add(-10*time.Minute), account.EventSignin, withPasskey.ID, "passkey", account.OutcomeFailure)
		// Refusals of unknown passkeys: two within the window's span, one before it.
		for _, at := range []time.Time{now.Add(-35 * time.Minute), now.Add(-5 * time.Minute), now.Add(-3 * time.Hour)} {
			if err := db.CountFailure(ctx, &account.Failure{At: at, Type: account.EventSignin, Method: "passkey", Outcome: account.OutcomeFailure, Reason: "unknown_credential", IP: "203.0.113.9"}); err != nil {
				t.Fatal(err)
			}
		}
		// Recovery: this week 2 (a recovery code, an email sign-in of a
		// passkey member), last week 1; an email sign-in of a member without
		// a passkey is no recovery.
		ev(now.Add(-24*time.Hour), account.EventSignin, passwordOnly.ID, account.MethodRecoveryCode, account.OutcomeSuccess)
		ev(now.Add(-2*24*time.Hour), account.EventSignin, withPasskey.ID, account.MethodEmailLink, account.OutcomeSuccess)
		ev(now.Add(-9*24*time.Hour), account.EventSignin, withPasskey.ID, account.MethodEmailCode, account.OutcomeSuccess)
		ev(now.Add(-time.Hour), account.EventSignin, passwordOnly.ID, account.MethodEmailLink, account.OutcomeSuccess)
		ev(now.Add(-20*24*time.Hour), account.EventSignin, withPasskey.ID, account.MethodRecoveryCode, account.OutcomeSuccess)
		// Duplicates: two browser reports (InvalidStateError) and two
		// server refusals (409 passkey_exists) in the last hour, one of
		// each before.
		for _, at := range []time.Time{now.Add(-59 * time.Minute), now.Add(-time.Minute), now.Add(-61 * time.Minute)} {
			ev(at, account.EventPasskeyRegisterError, withPasskey.ID, "", "passkey_on_device")
			ev(at.Add(-time.Second), account.EventPasskeyRegisterError, passwordOnly.ID, "", string(account.EPasskeyExists))
		}
		ev(now.Add(-time.Minute), account.EventPasskeyRegisterError, withPasskey.ID, "", "cancelled")

		f, err := db.GuardrailFigures(ctx, 4, now)
		if err != nil {
			t.Fatal(err)
		}
		want := rollout.Figures{PasskeyAttempts: 4 + 2, PasskeySuccesses: 2, RecoveryThisWeek: 2, RecoveryLastWeek: 1, DuplicatesLastHour: 4}
		if f != want {
			t.Fatalf("figures = %+v\nwant      %+v", f, want)
		}
	})
}
