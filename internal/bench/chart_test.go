package bench

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestChartDrawsEverySeriesAndPoint(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	ms := []Measurement{
		{Scenario: "passkey sign-in", Concurrency: 32, Rate: 613, ServerCPUMs: f(2.02)},
		{Scenario: "passkey sign-in", Concurrency: 1, Rate: 500, ServerCPUMs: f(1.88)},
		{Scenario: "session check", Concurrency: 1, Rate: 3419, ServerCPUMs: f(0.24)},
	}
	pg := []Measurement{{Scenario: "passkey sign-in", Concurrency: 8, Rate: 611, ServerCPUMs: f(1.03), PostgresCPUMs: f(1.45)}}
	sq := SeriesFrom("SQLite", "passkey sign-in", ms)
	if len(sq.Points) != 2 || sq.Points[0].Clients != 1 || sq.Points[1].CPUMs != 2.02 {
		t.Fatalf("SeriesFrom: %+v", sq)
	}
	ps := SeriesFrom("PostgreSQL", "passkey sign-in", pg)
	if got := ps.Points[0].CPUMs; got < 2.479 || got > 2.481 {
		t.Errorf("PostgreSQL CPU = %v, want keyshift's and PostgreSQL's together, 2.48", got)
	}
	svg := string(Chart("Passkey sign-in", "this machine", []ChartSeries{sq, ps}))
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Fatalf("not well-formed XML: %v", err)
	}
	// Each point twice (rate and CPU), with its value in its title.
	for _, want := range []string{"SQLite, 1 clients: 500", "SQLite, 32 clients: 2.02", "PostgreSQL, 8 clients: 2.48",
		"operations per second", "server CPU ms per operation", ">SQLite<", ">PostgreSQL<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	if n := strings.Count(svg, "<circle"); n != 2*3+2 {
		t.Errorf("%d circles, want 6 points and 2 legend marks", n)
	}
}

func TestNiceStep(t *testing.T) {
	for raw, want := range map[float64]float64{0.3: 0.5, 130: 200, 0.04: 0.05, 7: 10, 1000: 1000} {
		if got := niceStep(raw); got != want {
			t.Errorf("niceStep(%v) = %v, want %v", raw, got, want)
		}
	}
}
