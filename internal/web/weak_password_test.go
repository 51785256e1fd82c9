package web_test

// Weak passwords (docs/security.md, T11): sign-up and password change refuse
// passwords seen in breaches (the embedded list of 88,777), the same with a
// little around them or in leetspeak, and the site's own name, each with a
// reason and words that say why; no composition rules.

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/testdb"
)

func TestWeakPasswordsAreRefusedWithTheirReason(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database, func(c *config.Config) { c.RPName = "Acme Widgets" })
		tests := []struct{ password, reason, words string }{
			{"password1234", "common", "leaked in data breaches"},
			{"Password1234!", "common_variant", "digits, symbols or look-alike letters added"},
			{"qwerty2024", "common_variant", "digits, symbols or look-alike letters added"},
			{"P@55w0rd", "common_variant", "digits, symbols or look-alike letters added"},
			{"AcmeWidgets2024!", "contains_site_name", "this site’s name"},
			{"newbie.member2024", "contains_email", "email address"},
		}
		for _, tt := range tests {
			r := s.client().JSON(http.MethodPost, "/api/signup", map[string]string{"email": "newbie.member@example.com", "password": tt.password})
			e := wantAPIError(t, r, http.StatusBadRequest, "weak_password")
			if e.Error.Reason != tt.reason || e.Error.Field != "password" || !strings.Contains(e.Error.Message, tt.words) {
				t.Errorf("sign-up with %q: %+v, want reason %s saying %q", tt.password, e.Error, tt.reason, tt.words)
			}
		}
		// No composition rules: a passphrase of plain lower-case words will do.
		if r := s.client().JSON(http.MethodPost, "/api/signup", map[string]string{"email": "newbie.member@example.com", "password": "tangerine velvet harbour lamp"}); r.Status != http.StatusCreated {
			t.Errorf("a passphrase: %d %s", r.Status, r.Body)
		}

		// A password change applies the same rules.
		c := s.member("changer@example.com")
		r := c.JSON(http.MethodPost, "/api/account/password", map[string]string{"currentPassword": goodPassword, "newPassword": "Monkey2024!!"})
		if e := wantAPIError(t, r, http.StatusBadRequest, "weak_password"); e.Error.Reason != "common_variant" || e.Error.Field != "newPassword" {
			t.Errorf("password change to Monkey2024!!: %+v", e.Error)
		}
	})
}
