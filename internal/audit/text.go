package audit

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyshift/keyshift/internal/readiness"
)

// WriteText writes the report for a person, as `keyshift audit` prints it.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "keyshift audit, %s: %d accounts\n\nRecovery channels\n", r.At.Format(time.RFC3339), r.Accounts)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  CHANNEL\tSTATE\tUSES 7D\tUSES 30D\tBY PASSKEY MEMBERS 7D")
	for _, c := range r.Channels {
		state := "off"
		switch {
		case !c.Offered:
			state = "not offered"
		case c.Enabled:
			state = "on"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\n", c.Name, state, c.Uses7, c.Uses30, c.ByPasskeyHolders7)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nWhat each channel bypasses, and how it is attacked once members have passkeys\n")
	for _, c := range r.Channels {
		fmt.Fprintf(w, "  %s: bypasses %s; %s\n", c.Name, c.Bypasses, c.Weakness)
	}
	fmt.Fprintf(w, "\nReadiness (if a member lost a device)\n")
	for _, class := range readiness.Classes {
		fmt.Fprintf(w, "  %-8s %d\n", class, r.Readiness[class])
	}
	if len(r.Passwords) > 0 {
		var formats []string
		for f, n := range r.Passwords {
			mark := ""
			if _, weak := r.Weak[f]; weak {
				mark = " (weak)"
			}
			formats = append(formats, fmt.Sprintf("%s: %d%s", f, n, mark))
		}
		slices.Sort(formats)
		fmt.Fprintf(w, "\nPassword hashes: %s\n", strings.Join(formats, ", "))
	}
	fmt.Fprintf(w, "\nFindings\n")
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, f := range r.Findings {
		fmt.Fprintf(w, "  %-6s %s: %s\n", strings.ToUpper(string(f.Severity)), f.Code, f.Message)
	}
}
