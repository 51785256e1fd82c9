package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/testdb"
)

// TestRemovingThePasswordExplainsARefusal: /account says why "Remove your
// password" is not offered to a member without a passkey, and a form sent
// anyway — without a passkey, or from a session too old to confirm it —
// is refused on the account page with a sentence that says what to do,
// never a bare error; the password stays.
func TestRemovingThePasswordExplainsARefusal(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newMemberWithoutPasskey(t, s, "ada@example.com")
		page := wantPage(t, ada.c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		if strings.Contains(page, `id="password-remove-form"`) || !strings.Contains(html.UnescapeString(page), "To stop using a password, add a passkey first.") {
			t.Errorf("/account of a member without a passkey:\n%s", visibleText(page))
		}
		refused := func(what string, status int, words string) {
			t.Helper()
			page := wantPage(t, ada.c.Form("/account/password/remove", url.Values{}), status)
			if text := html.UnescapeString(page); !strings.Contains(text, `role="alert"`) || !strings.Contains(text, words) {
				t.Errorf("%s: the refusal does not say %q:\n%s", what, words, visibleText(page))
			}
			if u, err := s.DB.FindUser(t.Context(), ada.id); err != nil || !u.HasPassword {
				t.Errorf("%s: the password went: %+v, %v", what, u, err)
			}
		}
		refused("without a passkey", http.StatusConflict, "Add a passkey first: without a password or a passkey you could only sign in by email.")

		ada.key = newSoftKey(t, s)
		wantStatus(t, ada.key.register(ada.c), http.StatusCreated)
		s.Clock.Advance(time.Hour)
		refused("from a session an hour old", http.StatusForbidden, "For your security, confirm it’s you to do this.")
	})
}
