package telemetry

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes the document for a person (`keyshift report`): the same
// figures as the JSON, in the same words as the dashboard.
func (d Document) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }
	cohort := d.Cohort
	if cohort == "" {
		cohort = "all cohorts"
	}
	p("from %s to %s (%s)\n\n", d.From.Format(time.RFC3339), d.To.Format(time.RFC3339), cohort)
	p("accounts\t%d\twith a passkey %d (%s)\tpasswordless %d\n", d.Accounts.Total, d.Accounts.WithPasskey,
		percent(ratio(d.Accounts.WithPasskey, d.Accounts.Total)), d.Accounts.Passwordless)
	p("readiness\tstrong %d\tok %d\tweak %d\tat risk %d\n", d.Accounts.Readiness["strong"], d.Accounts.Readiness["ok"],
		d.Accounts.Readiness["weak"], d.Accounts.Readiness["at_risk"])
	p("enrollment\tper sign-in %s\tper active member %s\t(%d of %d active members hold a passkey)\n",
		percent(d.EnrollmentRate.PerSignin), percent(d.EnrollmentRate.PerActiveUser),
		d.EnrollmentRate.ActiveWithPasskey, d.EnrollmentRate.ActiveUsers)
	p("passkeys\tadded %d\tremoved %d\tby automatic upgrade %d\n", d.PasskeysAdded, d.PasskeysRemoved, d.PasskeysUpgraded)
	p("autofill\tfill rate %s\toffered %d\tused %d\n", percent(d.ConditionalFillRate), d.Conditional.Offered, d.Conditional.Used)
	p("nudge\tshown %d\taccepted %d\tlater %d\tnever %d\n", d.Nudge.Shown, d.Nudge.Accepted, d.Nudge.Later, d.Nudge.Never)
	p("duplicates\trefused by the browser %d\tby the server %d\n", d.DuplicatePasskeys.Browser, d.DuplicatePasskeys.Server)
	p("sign-ups\t%d\t%s\n\n", d.Signups, byMethod(d.SignupsByMethod))

	p("SIGN-IN METHOD\tSUCCESS\tFAILURE\tSUCCESS RATE\tP50 MS\tP90 MS\n")
	times := map[string]Timing{}
	for _, t := range d.TimeToSigninMs {
		times[t.Method] = t
	}
	ok := map[string]int64{}
	failed := map[string]int64{}
	for _, s := range d.Signins {
		if s.Outcome == "success" {
			ok[s.Method] = s.Count
		} else {
			failed[s.Method] = s.Count
		}
	}
	for _, r := range d.SuccessRate {
		t := times[r.Method]
		p("%s\t%d\t%d\t%s\t%s\t%s\n", r.Method, ok[r.Method], failed[r.Method], percent(r.Rate), ms(t.P50), ms(t.P90))
	}
	p("\nRECOVERY CHANNEL\tIN RANGE\tLAST 7 DAYS\tTHE 7 BEFORE\tWEEK OVER WEEK\n")
	for _, r := range d.Recovery {
		flag := ""
		if r.Rising {
			flag = "\tRISING"
		}
		p("%s\t%d\t%d\t%d\t%+.0f %%%s\n", r.Channel, r.Count, r.LastWeek, r.PreviousWeek, 100*r.WeekOverWeek, flag)
	}
	if len(d.Cohorts) > 0 {
		p("\nCOHORT\tSIGN-INS\tPASSKEYS ADDED\tPER SIGN-IN\tACTIVE\tWITH PASSKEY\tPER ACTIVE MEMBER\n")
		for _, c := range d.Cohorts {
			p("%s\t%d\t%d\t%s\t%d\t%d\t%s\n", c.Cohort, c.Signins, c.PasskeysAdded, percent(c.PerSignin),
				c.ActiveUsers, c.ActiveWithPasskey, percent(c.PerActiveUser))
		}
	}
	if len(d.RolloutChanges) > 0 {
		p("\nROLLOUT CHANGED\tFROM\tTO\tBY\n")
		for _, c := range d.RolloutChanges {
			p("%s\t%s\t%s\t%s\n", c.At.Format(time.RFC3339), c.From, c.To, c.By)
		}
	}
	return tw.Flush()
}

func percent(r float64) string { return fmt.Sprintf("%.1f %%", 100*r) }

func ms(v int) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprint(v)
}

func byMethod(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
