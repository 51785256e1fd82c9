package rollout

import (
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

func ptr[T any](v T) *T { return &v }

func TestApply(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	now := t0.Add(time.Hour)
	beta := State{Phase: Beta, Percent: 40, Salt: []byte("s"), UpdatedAt: t0, UpdatedBy: "install"}
	tests := []struct {
		name     string
		cur      State
		change   Change
		tripped  []string
		wantCode account.Code
		wantWhy  string
		check    func(t *testing.T, s State, a Audit)
	}{
		{name: "advances a phase and says who and when", cur: beta, change: Change{Phase: ptr(Dogfood), Reason: "back to staff"},
			check: func(t *testing.T, s State, a Audit) {
				if s.Phase != Dogfood || s.UpdatedBy != "ops" || !s.UpdatedAt.Equal(now) || a.From.Phase != Beta || a.To.Phase != Dogfood || a.Reason != "back to staff" {
					t.Errorf("state %+v audit %+v", s, a)
				}
			}},
		{name: "raises the percentage without force", cur: beta, change: Change{Percent: ptr(60)},
			check: func(t *testing.T, s State, a Audit) {
				if s.Percent != 60 || s.Phase != Beta {
					t.Errorf("state %+v", s)
				}
			}},
		{name: "refuses to lower the percentage without force", cur: beta, change: Change{Percent: ptr(10)}, wantCode: account.EForceRequired, wantWhy: "percent_lowered"},
		{name: "lowers the percentage with force and records it", cur: beta, change: Change{Percent: ptr(10), Force: true},
			check: func(t *testing.T, s State, a Audit) {
				if s.Percent != 10 || !a.Forced {
					t.Errorf("state %+v audit %+v", s, a)
				}
			}},
		{name: "refuses to advance past a tripped guardrail", cur: beta, change: Change{Phase: ptr(NewUsers)}, tripped: []string{"recovery_rise"}, wantCode: account.EForceRequired, wantWhy: "guardrail_tripped"},
		{name: "advances past a tripped guardrail with force and names it", cur: beta, change: Change{Phase: ptr(NewUsers), Force: true}, tripped: []string{"recovery_rise"},
			check: func(t *testing.T, s State, a Audit) {
				if s.Phase != NewUsers || len(a.Tripped) != 1 || a.Tripped[0] != "recovery_rise" {
					t.Errorf("state %+v audit %+v", s, a)
				}
			}},
		{name: "moves back past a tripped guardrail without force", cur: beta, change: Change{Phase: ptr(Off)}, tripped: []string{"duplicate_passkeys"},
			check: func(t *testing.T, s State, a Audit) {
				if s.Phase != Off {
					t.Errorf("state %+v", s)
				}
			}},
		{name: "marks when new members begin", cur: beta, change: Change{Phase: ptr(ExistingUsers)},
			check: func(t *testing.T, s State, a Audit) {
				if !s.NewUsersSince.Equal(now) {
					t.Errorf("NewUsersSince = %v, want %v", s.NewUsersSince, now)
				}
			}},
		{name: "keeps when new members began while staying past new-users", cur: State{Phase: NewUsers, Percent: 100, NewUsersSince: t0}, change: Change{Phase: ptr(PasswordDeprecation)},
			check: func(t *testing.T, s State, a Audit) {
				if !s.NewUsersSince.Equal(t0) {
					t.Errorf("NewUsersSince = %v, want %v", s.NewUsersSince, t0)
				}
			}},
		{name: "forgets new members when moved below new-users", cur: State{Phase: NewUsers, Percent: 100, NewUsersSince: t0}, change: Change{Phase: ptr(Beta)},
			check: func(t *testing.T, s State, a Audit) {
				if !s.NewUsersSince.IsZero() {
					t.Errorf("NewUsersSince = %v, want zero", s.NewUsersSince)
				}
			}},
		{name: "sets the internal cohort normalised", cur: beta, change: Change{Internal: &Internal{Domains: []string{"@Example.com"}}},
			check: func(t *testing.T, s State, a Audit) {
				if len(s.Internal.Domains) != 1 || s.Internal.Domains[0] != "example.com" || s.Internal.Emails == nil {
					t.Errorf("internal = %+v", s.Internal)
				}
			}},
		{name: "a release clears a hold and keeps the phase", cur: Hold(beta, []string{"recovery_rise"}, t0), change: Change{Release: true},
			check: func(t *testing.T, s State, a Audit) {
				if s.Held || s.HeldReasons != nil || s.Phase != Beta {
					t.Errorf("state %+v", s)
				}
			}},
		{name: "a phase move clears a hold", cur: Hold(beta, []string{"recovery_rise"}, t0), change: Change{Phase: ptr(Dogfood)},
			check: func(t *testing.T, s State, a Audit) {
				if s.Held {
					t.Errorf("state %+v", s)
				}
			}},
		{name: "a percentage move keeps a hold", cur: Hold(beta, []string{"recovery_rise"}, t0), change: Change{Percent: ptr(50)},
			check: func(t *testing.T, s State, a Audit) {
				if !s.Held {
					t.Errorf("state %+v", s)
				}
			}},
		{name: "refuses a percentage above 100", cur: beta, change: Change{Percent: ptr(101)}, wantCode: account.EInvalidRequest},
		{name: "refuses a negative percentage", cur: beta, change: Change{Percent: ptr(-1)}, wantCode: account.EInvalidRequest},
		{name: "refuses an unknown phase", cur: beta, change: Change{Phase: ptr(Phase(9))}, wantCode: account.EInvalidRequest},
		{name: "refuses a change of nothing", cur: beta, change: Change{Reason: "just because"}, wantCode: account.EInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, a, err := Apply(tt.cur, tt.change, tt.tripped, "ops", now)
			if tt.wantCode != "" {
				e, ok := err.(*account.Error)
				if !ok || e.Code != tt.wantCode || (tt.wantWhy != "" && e.Reason != tt.wantWhy) {
					t.Fatalf("err = %v, want %s/%s", err, tt.wantCode, tt.wantWhy)
				}
				if s.Phase != tt.cur.Phase || s.Percent != tt.cur.Percent || !s.UpdatedAt.Equal(tt.cur.UpdatedAt) {
					t.Errorf("a refused change moved the state: %+v", s)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s, a)
		})
	}
}

func TestAFreshInstallBehavesAsBeforeTheRollout(t *testing.T) {
	s := Default([]byte("salt"), time.Now())
	if s.Phase != ExistingUsers || s.Percent != 100 {
		t.Fatalf("default = %v at %d %%", s.Phase, s.Percent)
	}
	m := Member{HasPassword: true, InRamp: InRamp(s.Salt, "anyone", s.Percent)}
	if o := Offers(s.Phase, m); !o.AddPasskey || !o.NudgeAfterSignin {
		t.Fatalf("a member of a fresh install is offered %+v", o)
	}
}

func TestHoldKeepsTheFirstReasons(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s := Hold(State{Phase: Beta}, []string{"a"}, t0)
	s = Hold(s, []string{"b"}, t0.Add(time.Hour))
	if !s.Held || len(s.HeldReasons) != 1 || s.HeldReasons[0] != "a" || s.UpdatedBy != "guardrails" || !s.UpdatedAt.Equal(t0) {
		t.Fatalf("state %+v", s)
	}
	if Hold(State{}, nil, t0).Held {
		t.Fatal("held for no reason")
	}
}
