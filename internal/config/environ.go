package config

import (
	"fmt"
	"slices"
	"strings"
)

// toolVariables are KEYSHIFT_* variables read by keyshift's tests and tools,
// not by the server; they are not reported as unknown.
var toolVariables = []string{"KEYSHIFT_TEST_POSTGRES", "KEYSHIFT_TEST_BROWSER", "KEYSHIFT_CHROMIUM", "KEYSHIFT_SCREENSHOTS"}

// UnknownVariables returns a warning for every name in names (environment
// variable names, as in os.Environ) that starts with KEYSHIFT_ but is no
// setting, naming the closest setting when one is near: a misspelt
// KEYSHIFT_SMTP_ULR would otherwise be ignored without a word. Unknown keys
// in the file are errors; unknown variables are warnings, because the
// environment is shared with whatever else runs beside keyshift.
func UnknownVariables(names []string) []string {
	var out []string
	for _, n := range names {
		if !strings.HasPrefix(n, "KEYSHIFT_") || slices.Contains(toolVariables, n) || settingByEnv(n) != nil {
			continue
		}
		msg := fmt.Sprintf("environment variable %s is not a keyshift setting and is ignored", n)
		if near := closestVariable(n); near != "" {
			msg += "; did you mean " + near + "?"
		}
		out = append(out, msg)
	}
	slices.Sort(out)
	return out
}

func settingByEnv(name string) *setting {
	for i := range settings {
		if settings[i].env == name {
			return &settings[i]
		}
	}
	return nil
}

// closestVariable returns the setting variable nearest to name, when it is
// within a few edits of it.
func closestVariable(name string) string {
	best, bestD := "", 4
	for _, s := range settings {
		if d := editDistance(name, s.env); d < bestD {
			best, bestD = s.env, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each cost one, so
// SMTP_ULR is one edit from SMTP_URL.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
