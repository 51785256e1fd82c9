package web_test

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/adminrole"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/testdb"
)

// grantAdmin gives the member at email the admin role, as `keyshift admin
// grant` does.
func grantAdmin(t *testing.T, s *liveSite, email string) {
	t.Helper()
	if _, err := adminrole.New(s.DB, s.Clock.Now).Grant(t.Context(), email, "test"); err != nil {
		t.Fatal(err)
	}
}

// stepUpWithPasskey confirms m's session with m's passkey (POST
// /api/reauth/begin|finish), as the step-up page's script does.
func stepUpWithPasskey(t *testing.T, m *passkeyMember) {
	t.Helper()
	cer := begin(t, m.c, "/api/reauth/begin", map[string]any{})
	r := m.c.JSON(http.MethodPost, "/api/reauth/finish", map[string]any{"flowId": cer.FlowID, "credential": m.key.assertionFor(cer).JSON()})
	wantStatus(t, r, http.StatusOK)
}

// TestTheDashboardOpensOnlyToAnAdminWithAPasskey: /admin and its CSV go
// to /signin without a session, are refused to members without the role
// (the same page for all), ask an admin whose session proved no passkey
// for one, and open after a passkey step-up, a passkey sign-in or for an
// admin bearer token with the metrics scope.
func TestTheDashboardOpensOnlyToAnAdminWithAPasskey(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		token := strings.Repeat("d", 40)
		s := startPasskeySite(t, database, func(c *config.Config) { c.AdminToken = token })
		ada := newPasskeyMember(t, s, "ada@example.com") // signed in by her sign-up, a password
		bob := newPasskeyMember(t, s, "bob@example.com")
		grantAdmin(t, s, "ada@example.com")

		for _, path := range []string{"/admin", "/admin/metrics.csv?range=7d"} {
			wantRedirect(t, s.client().Do(http.MethodGet, path, nil, nil), "/signin?return_to=%2Fadmin")
			refused := wantPage(t, bob.c.Do(http.MethodGet, path, nil, nil), http.StatusForbidden)
			if !strings.Contains(refused, "administrators") || strings.Contains(refused, "<svg") {
				t.Errorf("%s for a member without the role: %s", path, refused)
			}
			stepUp := wantPage(t, ada.c.Do(http.MethodGet, path, nil, nil), http.StatusForbidden)
			if !strings.Contains(stepUp, `id="admin-stepup-button"`) || strings.Contains(stepUp, "<svg") {
				t.Errorf("%s for an admin signed in with a password: %s", path, stepUp)
			}
		}
		// A passkey sign-in of a member without the role opens nothing.
		bob2 := s.client()
		wantStatus(t, bob.key.signin(bob2, map[string]any{}, "modal"), http.StatusOK)
		wantStatus(t, bob2.Do(http.MethodGet, "/admin", nil, nil), http.StatusForbidden)

		stepUpWithPasskey(t, ada)
		dash := wantPage(t, ada.c.Do(http.MethodGet, "/admin", nil, nil), http.StatusOK)
		for _, want := range []string{`<svg class="chart"`, `data-figure="accounts.total">2<`, `id="dash-recovery"`, `href="/admin/metrics.csv?"`} {
			if !strings.Contains(dash, want) {
				t.Errorf("the dashboard lacks %s", want)
			}
		}
		if strings.Contains(dash, " style=") || strings.Contains(dash, "<script>") {
			t.Errorf("the dashboard has an inline style or script, which the CSP refuses")
		}
		// A passkey sign-in opens it at once.
		fresh := s.client()
		wantStatus(t, ada.key.signin(fresh, map[string]any{}, "modal"), http.StatusOK)
		wantStatus(t, fresh.Do(http.MethodGet, "/admin?range=24h&cohort=ramp&tz=Europe/Paris", nil, nil), http.StatusOK)

		// The bearer token, for scripts.
		wantStatus(t, s.client().Do(http.MethodGet, "/admin/metrics.csv", nil, bearer(token)), http.StatusOK)
		r := s.client().Do(http.MethodGet, "/admin/metrics.csv", nil, bearer(strings.Repeat("x", 40)))
		wantStatus(t, r, http.StatusUnauthorized)
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Error("a refused bearer gets no WWW-Authenticate")
		}

		// The role without a passkey opens nothing, not even after a step-up
		// with the password.
		cy := newMemberWithoutPasskey(t, s, "cy@example.com")
		grantAdmin(t, s, "cy@example.com")
		r = cy.c.JSON(http.MethodPost, "/api/reauth/finish", map[string]any{"password": goodPassword})
		wantStatus(t, r, http.StatusOK)
		page := wantPage(t, cy.c.Do(http.MethodGet, "/admin", nil, nil), http.StatusForbidden)
		if !strings.Contains(page, "your account has none yet") || strings.Contains(page, `id="admin-stepup-button"`) || strings.Contains(page, "<svg") {
			t.Errorf("/admin for an admin without a passkey: %s", page)
		}

		// Revoked: refused at the next request.
		if _, err := adminrole.New(s.DB, s.Clock.Now).Revoke(t.Context(), "ada@example.com", "test"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, fresh.Do(http.MethodGet, "/admin", nil, nil), http.StatusForbidden)
	})
}

// TestTheDashboardRefusesBadParametersClearly: every bad parameter is a
// 400 page that names it, the form still there; never a 500.
func TestTheDashboardRefusesBadParametersClearly(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newPasskeyMember(t, s, "ada@example.com")
		grantAdmin(t, s, "ada@example.com")
		stepUpWithPasskey(t, ada)
		for query, words := range map[string]string{
			"range=1y":                                "range must be one of",
			"from=yesterday":                          "from must be a time",
			"from=2026-02-30":                         "not a date of the calendar",
			"from=2026-12-02&to=2026-12-01":           "from must be before to",
			"from=2025-01-01&to=2026-12-01":           "at most 400 days",
			"cohort=staff":                            "cohort must be one of",
			"tz=../../etc/passwd":                     "tz must be a time zone",
			"tz=Mars/Olympus":                         "tz must be a time zone",
			"range=7d&tz=" + strings.Repeat("A", 100): "tz must be a time zone",
		} {
			page := wantPage(t, ada.c.Do(http.MethodGet, "/admin?"+query, nil, nil), http.StatusBadRequest)
			if !strings.Contains(page, `id="dash-error"`) || !strings.Contains(page, words) || !strings.Contains(page, `id="dash-filters"`) {
				t.Errorf("%s: want the form and %q on the page", query, words)
			}
			csvPage := wantPage(t, ada.c.Do(http.MethodGet, "/admin/metrics.csv?"+query, nil, nil), http.StatusBadRequest)
			if !strings.Contains(csvPage, words) {
				t.Errorf("CSV %s: want %q", query, words)
			}
		}
		// Dates are whole days in the zone, the last one included.
		r := ada.c.Do(http.MethodGet, "/admin/metrics.csv?from=2026-11-01&to=2026-11-02&tz=Europe/Paris", nil, nil)
		wantStatus(t, r, http.StatusOK)
		if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="keyshift-signins-20261031T23Z-20261102T23Z.csv"` {
			t.Errorf("Content-Disposition %q", cd)
		}
		if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
		if err != nil || len(rows) != 1 || strings.Join(rows[0], ",") != "start,step,cohort,method,signins" {
			t.Errorf("an empty range's CSV: %q, %v; want the header alone", rows, err)
		}
	})
}
