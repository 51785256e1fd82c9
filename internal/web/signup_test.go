package web_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/testdb"
)

func TestSignupFormShowsErrorsBesideTheirField(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, email, password string
		status                int
		field, words          string
	}{
		{"shows a short password beside the password", "new@example.com", "k3!x", 400, "password", "Use at least 8 characters"},
		{"shows a common password beside the password", "new@example.com", "iloveyou", 400, "password", "leaked in data breaches"},
		{"shows a malformed email beside the email", "not an address", goodPassword, 400, "email", "Enter your email address"},
		{"shows a taken email beside the email", "TAKEN@example.com", goodPassword, 409, "email", "already exists"},
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		s.member("taken@example.com")
		before := s.written()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := s.client().Form("/signup", formValues(tc.email, tc.password))
				page := wantPage(t, r, tc.status)
				if tag := inputTag(r.Body, tc.field); !strings.Contains(tag, `aria-invalid="true"`) {
					t.Errorf("the %s field is not marked invalid: %s", tc.field, tag)
				}
				errorText := regexp.MustCompile(`<p class="error" id="` + tc.field + `-error">([^<]*)</p>`).FindStringSubmatch(page)
				if errorText == nil || !strings.Contains(errorText[1], tc.words) {
					t.Errorf("no error %q beside the %s field:\n%s", tc.words, tc.field, page)
				}
				if tag := inputTag(r.Body, "email"); !strings.Contains(tag, `value="`+tc.email+`"`) {
					t.Errorf("the email typed is not kept: %s", tag)
				}
				if c := setCookie(t, r, sessionCookie); c != nil {
					t.Errorf("a refused sign-up set a session cookie")
				}
				s.unchangedSince(t, before)
			})
		}
	})
}
