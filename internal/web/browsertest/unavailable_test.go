package browsertest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that notes how a test ended instead of ending.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Fatalf(format string, a ...any) { r.fatal = fmt.Sprintf(format, a...) }
func (r *recorder) Skipf(format string, a ...any)  { r.skip = fmt.Sprintf(format, a...) }

func TestAMissingBrowserFailsInCIAndSkipsElsewhere(t *testing.T) {
	cases := []struct {
		ci       string
		wantFail bool
	}{{"true", true}, {"1", true}, {"", false}, {"false", false}, {"0", false}}
	for _, tc := range cases {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recorder{TB: t}
			unavailable(r, errors.New("no such file"))
			if got := r.fatal != ""; got != tc.wantFail {
				t.Errorf("failed %v (%q), skipped %q; want failed %v", got, r.fatal, r.skip, tc.wantFail)
			}
			if msg := r.fatal + r.skip; !strings.Contains(msg, "no such file") || !strings.Contains(msg, "chromium") {
				t.Errorf("the message does not say what is missing and why: %q", msg)
			}
		})
	}
}

func TestStartReportsAMissingBrowser(t *testing.T) {
	t.Setenv(EnvChromium, "/nonexistent/chromium")
	if b, err := start(t.TempDir()); err == nil {
		b.close()
		t.Fatal("a browser started from a path that does not exist")
	}
}
