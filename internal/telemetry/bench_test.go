package telemetry_test

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/bench"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/telemetry"
	"github.com/keyshift/keyshift/internal/testdb"
)

// BenchmarkMetrics30Days measures what GET /api/admin/metrics does for its
// default range — the figures of the last 30 days and their JSON — over
// KEYSHIFT_BENCH_TELEMETRY_EVENTS events (default 100,000) seeded and
// folded first, on each backend. The bar is under 200 ms at
// 10,000,000 events (docs/benchmarks.md has the command and figures):
//
//	KEYSHIFT_BENCH_TELEMETRY_EVENTS=10000000 scripts/test -run '^$' -bench Metrics30Days -benchtime 20x -timeout 3h ./internal/telemetry/
func BenchmarkMetrics30Days(b *testing.B) {
	n := 100000
	if v := os.Getenv("KEYSHIFT_BENCH_TELEMETRY_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("KEYSHIFT_BENCH_TELEMETRY_EVENTS=%q: want a positive count", v)
		}
	}
	for _, be := range testdb.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			db, err := store.Open(b.Context(), be.Database(b))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			now := time.Now().UTC()
			s, err := bench.SeedTelemetry(b.Context(), db, n, 1, now)
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: %d events inserted in %v, folded in %v", be.Name, s.Events, s.Insert.Round(time.Millisecond), s.Fold.Round(time.Millisecond))
			b.ResetTimer()
			for b.Loop() {
				d, err := telemetry.Figures(b.Context(), db, telemetry.Query{}, telemetry.DefaultPolicy, now)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := json.Marshal(d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
