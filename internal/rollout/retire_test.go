package rollout

import (
	"testing"
	"time"
)

func TestReadyToRetireAPassword(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	longAgo := now.Add(-91 * 24 * time.Hour)
	ready := Readiness{OptedIn: true, FirstPasskeySignin: longAgo, Passkeys: 2, HasPassword: true}
	with := func(f func(*Readiness)) Readiness { r := ready; f(&r); return r }
	tests := []struct {
		name string
		r    Readiness
		want string
	}{
		{"two passkeys after 91 days of use", ready, ""},
		{"one synced passkey and recovery codes", with(func(r *Readiness) { r.Passkeys, r.SyncedPasskeys, r.RecoveryCodes = 1, 1, 10 }), ""},
		{"nobody without opt-in, however ready", with(func(r *Readiness) { r.OptedIn = false; r.Passkeys = 5 }), "not_opted_in"},
		{"no password to retire", with(func(r *Readiness) { r.HasPassword = false }), "no_password"},
		{"never signed in with a passkey", with(func(r *Readiness) { r.FirstPasskeySignin = time.Time{} }), "no_passkey_signin"},
		{"passkey use too recent", with(func(r *Readiness) { r.FirstPasskeySignin = now.Add(-89 * 24 * time.Hour) }), "passkey_too_recent"},
		{"one device-bound passkey", with(func(r *Readiness) { r.Passkeys = 1 }), "single_device"},
		{"one synced passkey without recovery codes", with(func(r *Readiness) { r.Passkeys, r.SyncedPasskeys = 1, 1 }), "single_device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nr := tt.r.Ready(now, DefaultPasskeyDays)
			switch {
			case tt.want == "" && nr != nil:
				t.Fatalf("not ready: %v", nr)
			case tt.want != "" && (nr == nil || nr.Reason != tt.want):
				t.Fatalf("Ready = %v, want %s", nr, tt.want)
			case nr != nil && nr.Message == "":
				t.Fatalf("%s has no message", nr.Reason)
			}
		})
	}
}
