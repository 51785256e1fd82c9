package doctor

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes findings for a person, as `keyshift doctor` prints them.
func WriteText(w io.Writer, findings []Finding) {
	if len(findings) == 0 {
		fmt.Fprintln(w, "keyshift doctor: nothing found")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\n\t\tfix: %s\n", strings.ToUpper(string(f.Severity)), f.Check, f.Problem, f.Fix)
	}
	tw.Flush()
	high := 0
	for _, f := range findings {
		if f.Severity == High {
			high++
		}
	}
	fmt.Fprintf(w, "\n%d findings, %d high\n", len(findings), high)
}
