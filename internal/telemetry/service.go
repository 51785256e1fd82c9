package telemetry

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/readiness"
	"github.com/keyshift/keyshift/internal/rollout"
)

// Service answers for the telemetry: the figures for the admin API, the
// report and the dashboard, and the notes the pages send.
type Service struct {
	store    *cachedAccounts
	recorder *Recorder
	policy   Policy
	now      func() time.Time
}

// NewService returns a Service reading figures from store under policy,
// recording through recorder.
func NewService(store FigureStore, recorder *Recorder, policy Policy, now func() time.Time) *Service {
	return &Service{store: &cachedAccounts{FigureStore: store, now: now}, recorder: recorder, policy: policy, now: now}
}

// AccountsFresh is how old the accounts figure of the admin API may be.
// Counting accounts reads every member, whatever the range; the rest of the
// document reads counters whose size does not grow with the members.
const AccountsFresh = time.Minute

// cachedAccounts keeps the accounts' holdings for AccountsFresh.
type cachedAccounts struct {
	FigureStore
	now    func() time.Time
	mu     sync.Mutex
	at     time.Time
	cached map[readiness.Holdings]int
}

// ReadinessBuckets implements FigureStore.
func (c *cachedAccounts) ReadinessBuckets(ctx context.Context) (map[readiness.Holdings]int, error) {
	now := c.now()
	c.mu.Lock()
	if !c.at.IsZero() && now.Sub(c.at) < AccountsFresh && !now.Before(c.at) {
		b := c.cached
		c.mu.Unlock()
		return b, nil
	}
	c.mu.Unlock()
	b, err := c.FigureStore.ReadinessBuckets(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.at, c.cached = now, b
	c.mu.Unlock()
	return b, nil
}

// Figures returns the metrics document of q.
func (s *Service) Figures(ctx context.Context, q Query) (Document, error) {
	return Figures(ctx, s.store, q, s.policy, s.now())
}

// ConditionalOffered records that a sign-in page started passkey autofill.
func (s *Service) ConditionalOffered(ctx context.Context, c account.Client) error {
	return s.recorder.ConditionalOffered(ctx, c)
}

// Cohorts are the cohorts a query may name.
var Cohorts = []string{rollout.CohortInternal, rollout.CohortBeta, rollout.CohortRamp, rollout.CohortRest, CohortUnknown}

// MaxRange is the longest range a query may cover: the default retention.
const MaxRange = 400 * 24 * time.Hour

// ParseQuery reads a query from its parameters as the admin API and the
// dashboard take them (get returns "" for one not given): from and to in
// RFC 3339, cohort one of Cohorts, tz an IANA zone name. Every problem is a
// coded invalid_request naming its parameter.
func ParseQuery(get func(string) string) (Query, error) {
	var q Query
	for _, p := range []struct {
		name string
		into *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		v := get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return q, badParam(p.name, "%s must be a time in RFC 3339, like 2026-12-01T00:00:00Z", p.name)
		}
		*p.into = t
	}
	if !q.From.IsZero() && !q.To.IsZero() {
		if !q.From.Before(q.To) {
			return q, badParam("from", "from must be before to")
		}
		if q.To.Sub(q.From) > MaxRange {
			return q, badParam("from", "a range covers at most 400 days")
		}
	}
	if c := get("cohort"); c != "" {
		if !slices.Contains(Cohorts, c) {
			return q, badParam("cohort", "cohort must be one of %v", Cohorts)
		}
		q.Cohort = c
	}
	if tz := get("tz"); tz != "" {
		loc, err := loadZone(tz)
		if err != nil {
			return q, badParam("tz", "tz must be a time zone name, like Europe/Paris")
		}
		q.TZ = loc
	}
	return q, nil
}

// loadZone loads an IANA zone by name, refusing names that are not one
// (a path, a long string) before the zone database is asked.
func loadZone(name string) (*time.Location, error) {
	if len(name) > 64 || name == "Local" {
		return nil, fmt.Errorf("not a zone name")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '/' || r == '_' || r == '-' || r == '+') {
			return nil, fmt.Errorf("not a zone name")
		}
	}
	return time.LoadLocation(name)
}

func badParam(name, format string, args ...any) error {
	return &account.Error{Code: account.EInvalidRequest, Field: name, Detail: fmt.Sprintf(format, args...)}
}
