package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/telemetry"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/web/visitor"
)

// waitFolded waits until the server's folder has counted every telemetry
// event (on PostgreSQL an event waits for older transactions anywhere in
// the cluster to end).
func waitFolded(t *testing.T, in *servertest.Instance) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		left, _, err := in.DB.TelemetryBacklog(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d telemetry events still unfolded", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTheMetricsAPICountsWhatHappened: sign-ups, sign-ins with the page's
// time, a failure and an autofill offer, over real HTTP, come back in GET
// /api/admin/metrics for an admin bearer only; bad parameters are 400s that
// name the parameter; Prometheus has the new series.
func TestTheMetricsAPICountsWhatHappened(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		token := strings.Repeat("m", 40)
		s := startSite(t, database, func(c *config.Config) { c.AdminToken = token })
		ada := s.member("ada@example.com") // a password sign-up
		ada.Do(http.MethodDelete, "/api/session", nil, nil)
		timed := http.Header{"Content-Type": {"application/json"}, visitor.SigninMsHeader: {"1234"}}
		r := ada.Do(http.MethodPost, "/api/signin/password", []byte(`{"email":"ada@example.com","password":"`+goodPassword+`"}`), timed)
		if r.Status != http.StatusOK {
			t.Fatalf("sign-in: %d %s", r.Status, r.Body)
		}
		stranger := s.client()
		stranger.Signin("nobody@example.com", goodPassword) // no such account: a failure all the same
		if r := stranger.JSON(http.MethodPost, "/api/passkeys/login/begin", map[string]any{"mediation": "conditional"}); r.Status != http.StatusOK {
			t.Fatalf("conditional begin: %d %s", r.Status, r.Body)
		}
		waitFolded(t, s.Instance)

		if r := stranger.Do(http.MethodGet, "/api/admin/metrics", nil, nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("without a bearer: %d", r.Status)
		}
		r = stranger.Do(http.MethodGet, "/api/admin/metrics", nil, bearer(token))
		if r.Status != http.StatusOK {
			t.Fatalf("metrics: %d %s", r.Status, r.Body)
		}
		var d telemetry.Document
		if err := json.Unmarshal(r.Body, &d); err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"password/success": 1, "password/failure": 1}
		for _, c := range d.Signins {
			if want[c.Method+"/"+c.Outcome] != c.Count {
				t.Errorf("%s %s: %d, want %d", c.Method, c.Outcome, c.Count, want[c.Method+"/"+c.Outcome])
			}
			delete(want, c.Method+"/"+c.Outcome)
		}
		if len(want) > 0 || d.Signups != 1 || d.SignupsByMethod["password"] != 1 || d.Conditional.Offered != 1 || d.Accounts.Total != 1 {
			t.Errorf("missing %v; sign-ups %d %v; autofill offered %d; accounts %d", want, d.Signups, d.SignupsByMethod,
				d.Conditional.Offered, d.Accounts.Total)
		}
		if len(d.TimeToSigninMs) != 1 || d.TimeToSigninMs[0].P50 != 1250 || d.TimeToSigninMs[0].Server != 1 {
			t.Errorf("time to sign in %+v, want the password's 1234 ms in the 1250 ms bucket and one server time", d.TimeToSigninMs)
		}
		var raw map[string]any
		json.Unmarshal(r.Body, &raw)
		for _, k := range []string{"from", "to", "signins", "passkeysAdded", "passkeysRemoved", "enrollmentRate", "conditionalFillRate",
			"recovery", "timeToSigninMs", "accounts", "signups"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("the document lacks API.md's %q", k)
			}
		}

		for query, field := range map[string]string{
			"from=yesterday": "from",
			"from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z": "from",
			"cohort=staff":        "cohort",
			"tz=../../etc/passwd": "tz",
			"tz=Mars/Olympus":     "tz",
		} {
			r := stranger.Do(http.MethodGet, "/api/admin/metrics?"+query, nil, bearer(token))
			if e := wantAPIError(t, r, http.StatusBadRequest, "invalid_request"); e.Error.Field != field {
				t.Errorf("%s: field %q, want %q", query, e.Error.Field, field)
			}
		}

		prom := stranger.Do(http.MethodGet, "/metrics", nil, bearer(token))
		for _, series := range []string{`keyshift_signups_total{method="password"} 1`, `keyshift_signin_duration_seconds_count{clock="client",method="password"} 1`,
			`keyshift_conditional_ui_total{event="offered"} 1`, `keyshift_signin_attempts_total`} {
			if !strings.Contains(string(prom.Body), series) {
				t.Errorf("/metrics lacks %s", series)
			}
		}
	})
}
