package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/admintoken"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/testdb"
)

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}
}

func readDocument(t *testing.T, body []byte) rollout.Document {
	t.Helper()
	var d rollout.Document
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("not a rollout document: %v\n%s", err, body)
	}
	return d
}

// TestTheAdminAPIWantsABearerTokenNeverASession: the rollout's admin API
// answers only a live admin token that may use the rollout; a member's
// session — any member's — is no admin credential.
func TestTheAdminAPIWantsABearerTokenNeverASession(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		configured := strings.Repeat("c", 40)
		s := startSite(t, database, func(c *config.Config) { c.AdminToken = configured })
		tokens := admintoken.New(s.DB, "", time.Now)
		metricsOnly, _, err := tokens.Create(context.Background(), "grafana", []admintoken.Scope{admintoken.ScopeMetrics}, "test")
		if err != nil {
			t.Fatal(err)
		}
		revoked, _, _ := tokens.Create(context.Background(), "old", nil, "test")
		if err := tokens.Revoke(context.Background(), "old"); err != nil {
			t.Fatal(err)
		}
		member := s.member("ada@example.com")
		for name, h := range map[string]http.Header{
			"no credential":        nil,
			"a wrong token":        bearer("ks_admin_" + strings.Repeat("A", 43)),
			"a revoked token":      bearer(revoked),
			"the token not bearer": {"Authorization": {configured}},
		} {
			r := member.Do(http.MethodGet, "/api/admin/rollout", nil, h)
			wantAPIError(t, r, http.StatusUnauthorized, "unauthenticated")
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: no WWW-Authenticate", name)
			}
		}
		wantAPIError(t, member.Do(http.MethodGet, "/api/admin/rollout", nil, bearer(metricsOnly)), http.StatusForbidden, "insufficient_scope")
		r := s.client().Do(http.MethodGet, "/api/admin/rollout", nil, bearer(configured))
		wantStatus(t, r, http.StatusOK)
		if d := readDocument(t, r.Body); d.Phase != rollout.ExistingUsers || d.Percent != 100 {
			t.Fatalf("a fresh install's rollout: %+v", d)
		}
		// The metrics-only token reads /metrics from afar; a rollout token does not.
		rolloutOnly, _, _ := tokens.Create(context.Background(), "deploy", []admintoken.Scope{admintoken.ScopeRollout}, "test")
		far := http.Header{"X-Forwarded-For": {"203.0.113.9"}}
		for tok, want := range map[string]int{metricsOnly: http.StatusOK, rolloutOnly: http.StatusUnauthorized} {
			h := bearer(tok)
			h["X-Forwarded-For"] = far["X-Forwarded-For"]
			wantStatus(t, s.client().Do(http.MethodGet, "/metrics", nil, h), want)
		}
	})
}

func TestChangingTheRolloutThroughTheAdminAPI(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		tok, _, err := admintoken.New(s.DB, "", time.Now).Create(context.Background(), "ops", []admintoken.Scope{admintoken.ScopeRollout}, "test")
		if err != nil {
			t.Fatal(err)
		}
		c := s.client()
		r := c.Do(http.MethodPut, "/api/admin/rollout", []byte(`{"phase":"beta","percent":100,"internal":{"domains":["Example.com"]},"reason":"staff and volunteers"}`), bearer(tok))
		wantStatus(t, r, http.StatusOK)
		d := readDocument(t, r.Body)
		if d.Phase != rollout.Beta || d.UpdatedBy != "token:ops" || len(d.Internal.Domains) != 1 || d.Internal.Domains[0] != "example.com" {
			t.Fatalf("after the PUT: %+v", d)
		}
		wantAPIError(t, c.Do(http.MethodPut, "/api/admin/rollout", []byte(`{"percent":20}`), bearer(tok)), http.StatusConflict, "force_required")
		r = c.Do(http.MethodPut, "/api/admin/rollout", []byte(`{"percent":20,"force":true,"reason":"too fast"}`), bearer(tok))
		wantStatus(t, r, http.StatusOK)
		// A client may send back what it read: the read-only fields are ignored.
		read := c.Do(http.MethodGet, "/api/admin/rollout", nil, bearer(tok))
		var echoed map[string]any
		json.Unmarshal(read.Body, &echoed)
		echoed["phase"] = "new-users"
		b, _ := json.Marshal(echoed)
		r = c.Do(http.MethodPut, "/api/admin/rollout", b, bearer(tok))
		wantStatus(t, r, http.StatusOK)
		if d := readDocument(t, r.Body); d.Phase != rollout.NewUsers || d.Percent != 20 || d.NewUsersSince == nil {
			t.Fatalf("after sending the document back: %+v", d)
		}
		for body, field := range map[string]string{
			`{"phaze":"beta"}`:       "phaze",
			`{"phase":"sideways"}`:   "phase",
			`{"percent":"ten"}`:      "percent",
			`{"percent":101}`:        "percent",
			`{}`:                     "",
			`{"reason":"no change"}`: "",
		} {
			e := wantAPIError(t, c.Do(http.MethodPut, "/api/admin/rollout", []byte(body), bearer(tok)), http.StatusBadRequest, "invalid_request")
			if field != "" && e.Error.Field != field {
				t.Errorf("%s: field %q, want %q", body, e.Error.Field, field)
			}
		}
		changes, err := s.DB.RolloutChanges(context.Background(), 10)
		if err != nil || len(changes) != 3 || changes[1].Reason != "too fast" || !changes[1].Forced || changes[2].By != "token:ops" {
			t.Fatalf("audit: %+v, %v", changes, err)
		}
	})
}
