package rollout

import (
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes the document for a person (`keyshift rollout status`).
func (d Document) WriteText(w io.Writer) {
	fmt.Fprintf(w, "phase:     %s\n", d.Phase)
	fmt.Fprintf(w, "ramp:      %d %%\n", d.Percent)
	fmt.Fprintf(w, "internal:  domains %s; addresses %s\n", listOrNone(d.Internal.Domains), listOrNone(d.Internal.Emails))
	if d.Guardrails.Tripped {
		fmt.Fprintf(w, "guardrails: TRIPPED — %s\n", strings.Join(d.Guardrails.Reasons, "; "))
	} else {
		fmt.Fprintln(w, "guardrails: ok")
	}
	if d.Held {
		fmt.Fprintf(w, "held:      yes (%s) — `keyshift rollout release` lifts it\n", strings.Join(d.HeldReasons, ", "))
	}
	fmt.Fprintf(w, "updated:   %s by %s\n", d.UpdatedAt.Format(time.RFC3339), d.UpdatedBy)
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

// Without returns the cohort less the given domains and addresses, compared
// as the cohort stores them (lower case, a domain without "@").
func (in Internal) Without(domains, emails []string) Internal {
	drop := Internal{Domains: domains, Emails: emails}.normalized()
	keep := func(xs, gone []string) []string {
		var out []string
		for _, x := range xs {
			if !contains(gone, x) {
				out = append(out, x)
			}
		}
		return out
	}
	return Internal{Domains: keep(in.Domains, drop.Domains), Emails: keep(in.Emails, drop.Emails)}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// NotReadyCounts counts the opted-in members who keep their password, by
// reason.
func (rep RetireReport) NotReadyCounts() map[string]int {
	reasons := map[string]int{}
	for _, r := range rep.NotReady {
		reasons[r.Why.Reason]++
	}
	return reasons
}

// WriteSummary says for a person what retire did or, when dryRun, would do:
// counts, and the reasons opted-in members keep their password.
func (rep RetireReport) WriteSummary(w io.Writer, dryRun bool) {
	reasons := rep.NotReadyCounts()
	verb := "retired"
	if dryRun {
		verb = "would retire"
	}
	fmt.Fprintf(w, "%s %d password(s)\n", verb, len(rep.Retired))
	fmt.Fprintf(w, "opted in but not ready: %d\n", len(rep.NotReady))
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-20s %d\n", k, reasons[k])
	}
	fmt.Fprintf(w, "keep their password (never opted in): %d\n", rep.NotOptedIn)
}

// WriteCSV writes one line per opted-in member: id, address, what happened
// (retired, would_retire, or the reason not), and what readiness was
// judged on.
func (rep RetireReport) WriteCSV(out io.Writer, dryRun bool) error {
	w := csv.NewWriter(out)
	w.Write([]string{"user_id", "email", "outcome", "passkeys", "synced_passkeys", "recovery_codes", "first_passkey_signin"})
	line := func(c Candidate, outcome string) {
		first := ""
		if !c.FirstPasskeySignin.IsZero() {
			first = c.FirstPasskeySignin.UTC().Format(time.RFC3339)
		}
		w.Write([]string{c.UserID, c.Email, outcome, strconv.Itoa(c.Passkeys), strconv.Itoa(c.SyncedPasskeys), strconv.Itoa(c.RecoveryCodes), first})
	}
	done := "retired"
	if dryRun {
		done = "would_retire"
	}
	for _, c := range rep.Retired {
		line(c, done)
	}
	for _, r := range rep.NotReady {
		line(r.Candidate, r.Why.Reason)
	}
	w.Flush()
	return w.Error()
}

// HistoryRow is one change of the rollout as `keyshift rollout history
// --json` prints it.
type HistoryRow struct {
	At      time.Time `json:"at"`
	By      string    `json:"by"`
	From    Document  `json:"from"`
	To      Document  `json:"to"`
	Reason  string    `json:"reason"`
	Forced  bool      `json:"forced"`
	Tripped []string  `json:"tripped"`
}

// HistoryJSON is changes as rows for JSON (never null).
func HistoryJSON(changes []Audit) []HistoryRow {
	rows := []HistoryRow{}
	for _, c := range changes {
		rows = append(rows, HistoryRow{c.At.UTC(), c.By, NewDocument(c.From, nil), NewDocument(c.To, nil), c.Reason, c.Forced, c.Tripped})
	}
	return rows
}

// WriteHistory writes changes as a table for a person.
func WriteHistory(w io.Writer, changes []Audit) error {
	if len(changes) == 0 {
		_, err := fmt.Fprintln(w, "no changes yet")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tBY\tFROM\tTO\tFORCED\tREASON")
	for _, c := range changes {
		fmt.Fprintf(tw, "%s\t%s\t%s %d%%\t%s %d%%\t%v\t%s\n", c.At.UTC().Format(time.RFC3339), c.By,
			c.From.Phase, c.From.Percent, c.To.Phase, c.To.Percent, c.Forced, oneLine(c.Reason))
	}
	return tw.Flush()
}

// oneLine folds a reason onto one line of at most 200 bytes for the table.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
