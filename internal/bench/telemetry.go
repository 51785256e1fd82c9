package bench

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/keyshift/keyshift/internal/telemetry"
)

// TelemetryEvents makes n telemetry events spread over the 30 days before
// end, as a site in mid-rollout would record them — n/20 members in four
// cohorts, four in ten holding a passkey; sign-ins by every method, mostly
// successful; sign-ups, passkeys added and removed, nudges, autofill offers —
// and hands them to put in batches of batch. The same seed makes the same
// events.
func TelemetryEvents(n int, seed uint64, end time.Time, batch int, put func([]telemetry.Event) error) error {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	members := max(100, n/20)
	span := int64(30 * 24 * time.Hour)
	start := end.Add(-30 * 24 * time.Hour)
	methods := []struct {
		name   string
		weight int
	}{{"passkey_conditional", 25}, {"passkey_modal", 10}, {"passkey_username", 5}, {"password", 45}, {"email_link", 5}, {"email_code", 7}, {"recovery_code", 3}}
	pick := func() string {
		x := r.IntN(100)
		for _, m := range methods {
			if x < m.weight {
				return m.name
			}
			x -= m.weight
		}
		return "password"
	}
	cohortOf := func(m int) string {
		switch h := (m * 2654435761) % 100; {
		case h < 2:
			return "internal"
		case h < 10:
			return "beta"
		case h < 70:
			return "ramp"
		}
		return "rest"
	}
	buf := make([]telemetry.Event, 0, batch)
	for i := range n {
		m := r.IntN(members)
		// In time order, as a site records them: a batch folds a few
		// minutes' worth, as the servers' folder does.
		e := telemetry.Event{At: start.Add(time.Duration(span / int64(n) * int64(i))), Phase: "existing-users", Cohort: cohortOf(m),
			UserID: fmt.Sprintf("member-%08d", m), HasPasskey: m%10 < 4, Browser: "Chrome", OS: "Android"}
		switch x := r.IntN(1000); {
		case x < 800:
			e.Kind, e.Method, e.Outcome = telemetry.KindSignin, pick(), "success"
			if r.IntN(100) < 8 {
				e.Outcome, e.Code = "failure", "verification_failed"
			} else {
				e.ClientMs = int(math.Min(telemetry.MaxClientMs, 400*math.Exp(r.NormFloat64()*0.8+1)))
				e.ServerMs = 1 + r.IntN(150)
			}
		case x < 830:
			e.Kind, e.Method = telemetry.KindSignup, "password"
		case x < 860:
			e.Kind, e.Provider, e.Synced, e.HasPasskey = telemetry.KindPasskeyAdded, "Google Password Manager", true, true
		case x < 865:
			e.Kind = telemetry.KindPasskeyRemoved
		case x < 925:
			e.Kind = telemetry.KindNudge
			e.Method = []string{telemetry.NudgeShown, telemetry.NudgeShown, telemetry.NudgeAccepted, telemetry.NudgeLater, telemetry.NudgeNever}[r.IntN(5)]
		case x < 975:
			e.Kind, e.Method, e.UserID, e.Cohort = telemetry.KindConditional, telemetry.ConditionalOffered, "", telemetry.CohortUnknown
		default:
			e.Kind, e.Method = telemetry.KindRecovery, telemetry.ChannelRecoveryCode
		}
		buf = append(buf, e)
		if len(buf) == batch || i == n-1 {
			if err := put(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	return nil
}

// TelemetrySeeder is where SeedTelemetry writes: the store's bulk insert
// and the folder's storage.
type TelemetrySeeder interface {
	AppendTelemetryBatch(ctx context.Context, evs []telemetry.Event) error
	telemetry.FoldStore
}

// Seeded says what SeedTelemetry did and how long each half took.
type Seeded struct {
	Events       int
	Insert, Fold time.Duration
	FoldedEvents int
}

// SeedTelemetry writes n events (TelemetryEvents) ending at end into st and
// folds them into the counters as the servers would, in batches of 20,000.
func SeedTelemetry(ctx context.Context, st TelemetrySeeder, n int, seed uint64, end time.Time) (Seeded, error) {
	s := Seeded{Events: n}
	start := time.Now()
	if err := TelemetryEvents(n, seed, end, 5000, func(evs []telemetry.Event) error {
		return st.AppendTelemetryBatch(ctx, evs)
	}); err != nil {
		return s, err
	}
	s.Insert = time.Since(start)
	start = time.Now()
	f := telemetry.NewFolder(st, "bench-seed", time.Now, slog.New(slog.DiscardHandler))
	f.Batch = 20000
	for s.FoldedEvents < n {
		k, err := f.Drain(ctx)
		if err != nil {
			return s, err
		}
		s.FoldedEvents += k
		if k == 0 {
			time.Sleep(10 * time.Millisecond) // PostgreSQL: older transactions elsewhere still run
		}
	}
	s.Fold = time.Since(start)
	return s, nil
}
