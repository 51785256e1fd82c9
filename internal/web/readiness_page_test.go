package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/testdb"
)

// readinessOn returns the readiness class /account shows and the steps it
// proposes, in order.
func readinessOn(t *testing.T, page string) (class string, steps []string) {
	t.Helper()
	m := regexp.MustCompile(`<section id="readiness" data-class="([a-z_]+)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no readiness section on /account:\n%s", page)
	}
	for _, s := range regexp.MustCompile(`data-step="([a-z_]+)"`).FindAllStringSubmatch(page, -1) {
		steps = append(steps, s[1])
	}
	return m[1], steps
}

// TestTheAccountPageShowsReadinessAndTheNextStep: /account's checklist
// follows internal/readiness as the account's holdings change — a password
// only is weak; one device-bound passkey beside the password is ok; a second
// passkey makes it strong, and codes are what is left to do; two or fewer
// codes left ask for a new set.
func TestTheAccountPageShowsReadinessAndTheNextStep(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		c := s.member("ada@example.com")
		account := func() string { return wantPage(t, c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK) }
		for _, step := range []struct {
			name  string
			do    func()
			class string
			steps string
		}{
			{"a password only", func() {}, "weak", "add_passkey make_recovery_codes"},
			{"one device-bound passkey beside the password", func() { s.seedPasskey(c, "Laptop", false) }, "ok", "add_second_passkey make_recovery_codes"},
			{"a second passkey", func() { s.seedPasskey(c, "Phone", true) }, "strong", "make_recovery_codes"},
		} {
			step.do()
			page := account()
			class, steps := readinessOn(t, page)
			if class != step.class || strings.Join(steps, " ") != step.steps {
				t.Errorf("%s: class %s, steps %v; want %s, %s", step.name, class, steps, step.class, step.steps)
			}
		}
		page := account()
		if !strings.Contains(visibleText(page), "Recovery codes (0 left)") || !strings.Contains(page, `id="readiness-backup"`) {
			t.Errorf("the checklist:\n%s", visibleText(page))
		}
	})
}
