package rollout

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestOffers(t *testing.T) {
	pw := Member{HasPassword: true}
	with := func(m Member, f func(*Member)) Member { f(&m); return m }
	passkey := with(pw, func(m *Member) { m.HasPasskey = true })
	tests := []struct {
		name   string
		phase  Phase
		member Member
		want   Offer
	}{
		{"off offers nobody a new passkey, internal or not", Off, with(pw, func(m *Member) { m.Internal, m.InRamp = true, true }), Offer{}},
		{"off still lets a member with a passkey add another", Off, passkey, Offer{AddPasskey: true}},
		{"dogfood reaches the internal cohort and nudges it", Dogfood, with(pw, func(m *Member) { m.Internal = true }), Offer{AddPasskey: true, NudgeAfterSignin: true}},
		{"dogfood reaches nobody in the ramp", Dogfood, with(pw, func(m *Member) { m.InRamp = true }), Offer{}},
		{"dogfood leads an internal visitor's sign-up with a passkey", Dogfood, Member{Visitor: true, Internal: true}, Offer{PasskeySignup: true}},
		{"beta reaches members who opted in", Beta, with(pw, func(m *Member) { m.Beta = true }), Offer{AddPasskey: true, NudgeAfterSignin: true, BetaToggle: true}},
		{"beta shows everyone else the toggle and nothing more", Beta, with(pw, func(m *Member) { m.InRamp = true }), Offer{BetaToggle: true}},
		{"new-users leads a visitor in the ramp to a passkey sign-up", NewUsers, Member{Visitor: true, InRamp: true}, Offer{PasskeySignup: true}},
		{"new-users does not lead a visitor outside the ramp", NewUsers, Member{Visitor: true}, Offer{}},
		{"new-users nudges a new member after sign-up, not after sign-in", NewUsers, with(pw, func(m *Member) { m.InRamp, m.New = true, true }), Offer{AddPasskey: true, NudgeAfterSignup: true}},
		{"new-users leaves older members in the ramp to the toggle", NewUsers, with(pw, func(m *Member) { m.InRamp = true }), Offer{BetaToggle: true}},
		{"existing-users nudges a member in the ramp after sign-in", ExistingUsers, with(pw, func(m *Member) { m.InRamp = true }), Offer{AddPasskey: true, NudgeAfterSignin: true}},
		{"existing-users does not nudge a member who has a passkey", ExistingUsers, with(passkey, func(m *Member) { m.InRamp = true }), Offer{AddPasskey: true}},
		{"existing-users leaves a member outside the ramp the toggle", ExistingUsers, pw, Offer{BetaToggle: true}},
		{"an opted-in member outside the ramp may switch the toggle off", ExistingUsers, with(pw, func(m *Member) { m.Beta = true }), Offer{AddPasskey: true, NudgeAfterSignin: true, BetaToggle: true}},
		{"password-deprecation leads with the passkey for a passkey account", PasswordDeprecation, with(passkey, func(m *Member) { m.InRamp = true }), Offer{AddPasskey: true, PasskeyFirst: true}},
		{"password-deprecation does not hide the password of an account without a passkey", PasswordDeprecation, with(pw, func(m *Member) { m.InRamp = true }), Offer{AddPasskey: true, NudgeAfterSignin: true}},
		{"password-deprecation does not reach outside the ramp", PasswordDeprecation, passkey, Offer{AddPasskey: true, BetaToggle: true}},
		{"password-retirement offers to go passwordless with a passkey and a password", PasswordRetirement, with(passkey, func(m *Member) { m.InRamp = true }), Offer{AddPasskey: true, PasskeyFirst: true, Passwordless: true}},
		{"password-retirement offers nothing to retire without a password", PasswordRetirement, Member{InRamp: true, HasPasskey: true}, Offer{AddPasskey: true, PasskeyFirst: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Offers(tt.phase, tt.member); got != tt.want {
				t.Errorf("Offers(%v, %+v) =\n %+v\nwant\n %+v", tt.phase, tt.member, got, tt.want)
			}
		})
	}
}

// TestEachPhaseIncludesTheOnesBefore checks "each includes the behaviour of
// the earlier ones" over every member shape: whatever a phase offers, every
// later phase offers too — except the "Try passkeys" toggle, which goes
// away once a member is reached without it.
func TestEachPhaseIncludesTheOnesBefore(t *testing.T) {
	for bits := range 1 << 7 {
		m := Member{Visitor: bits&1 != 0, Internal: bits&2 != 0, Beta: bits&4 != 0, InRamp: bits&8 != 0,
			New: bits&16 != 0, HasPasskey: bits&32 != 0, HasPassword: bits&64 != 0}
		for p := Off; p < PasswordRetirement; p++ {
			a, b := Offers(p, m), Offers(p+1, m)
			a.BetaToggle, b.BetaToggle = false, false
			av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
			for i := range av.NumField() {
				if av.Field(i).Bool() && !bv.Field(i).Bool() {
					t.Errorf("%+v: %v offers %s but %v does not", m, p, av.Type().Field(i).Name, p+1)
				}
			}
		}
	}
}

func TestTheDocsShowTheTableTheCodeReads(t *testing.T) {
	doc, err := os.ReadFile("../../docs/rollout.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), Table()) {
		t.Errorf("docs/rollout.md does not hold the offer table; put this in it:\n\n%s", Table())
	}
}
