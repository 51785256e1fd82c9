package rollout

import (
	"fmt"
	"strings"
)

// A row of the offer table as docs/rollout.md shows it: a cohort and an
// account state, with the member that stands for them.
type tableRow struct {
	cohort, state string
	member        Member
}

func tableRows() []tableRow {
	pw := func(m Member) Member { m.HasPassword = true; return m }
	pk := func(m Member) Member { m.HasPassword, m.HasPasskey = true, true; return m }
	return []tableRow{
		{"internal", "visitor (sign-up)", Member{Visitor: true, Internal: true}},
		{"in the ramp", "visitor (sign-up)", Member{Visitor: true, InRamp: true}},
		{"outside", "visitor (sign-up)", Member{Visitor: true}},
		{"internal", "password, no passkey", pw(Member{Internal: true})},
		{"internal", "passkey", pk(Member{Internal: true})},
		{"beta (opted in)", "password, no passkey", pw(Member{Beta: true})},
		{"beta (opted in)", "passkey", pk(Member{Beta: true})},
		{"in the ramp, account older than new-users", "password, no passkey", pw(Member{InRamp: true})},
		{"in the ramp, account older than new-users", "passkey", pk(Member{InRamp: true})},
		{"in the ramp, account made since new-users", "password, no passkey", pw(Member{InRamp: true, New: true})},
		{"in the ramp, account made since new-users", "passkey", pk(Member{InRamp: true, New: true})},
		{"outside (not opted in, not in the ramp)", "password, no passkey", pw(Member{})},
		{"outside (not opted in, not in the ramp)", "passkey", pk(Member{})},
	}
}

// The letters the table writes for each offer.
var offerLetters = []struct {
	letter string
	on     func(Offer) bool
}{
	{"S", func(o Offer) bool { return o.PasskeySignup }},
	{"A", func(o Offer) bool { return o.AddPasskey }},
	{"U", func(o Offer) bool { return o.NudgeAfterSignup }},
	{"N", func(o Offer) bool { return o.NudgeAfterSignin }},
	{"B", func(o Offer) bool { return o.BetaToggle }},
	{"F", func(o Offer) bool { return o.PasskeyFirst }},
	{"P", func(o Offer) bool { return o.Passwordless }},
}

// Table renders Offers as the Markdown table in docs/rollout.md: one row
// per cohort and account state, one column per phase, the letters of what
// is offered in each cell.
func Table() string {
	var b strings.Builder
	b.WriteString("| cohort | account |")
	for _, p := range Phases() {
		fmt.Fprintf(&b, " %s |", p)
	}
	b.WriteString("\n|---|---|")
	b.WriteString(strings.Repeat("---|", len(Phases())))
	b.WriteString("\n")
	for _, r := range tableRows() {
		fmt.Fprintf(&b, "| %s | %s |", r.cohort, r.state)
		for _, p := range Phases() {
			fmt.Fprintf(&b, " %s |", cell(Offers(p, r.member)))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func cell(o Offer) string {
	var s []string
	for _, l := range offerLetters {
		if l.on(o) {
			s = append(s, l.letter)
		}
	}
	if len(s) == 0 {
		return "—"
	}
	return strings.Join(s, " ")
}
