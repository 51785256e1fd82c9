package telemetry

import (
	"testing"
	"time"
)

// TestRecoveryTrend: the last seven days against the seven before, flagged
// rising by the guardrail's rule.
func TestRecoveryTrend(t *testing.T) {
	to := time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
	q := Query{From: to.Add(-30 * 24 * time.Hour), To: to}.Range(to)
	p := Policy{RiseRatio: 0.5, RiseMin: 10}
	for _, tc := range []struct {
		name       string
		last, prev int64
		wow        float64
		rising     bool
	}{
		{"is quiet with nothing either week", 0, 0, 0, false},
		{"rises from nothing once there are enough", 10, 0, 0, true},
		{"does not rise from nothing below the minimum", 9, 0, 0, false},
		{"does not flag exactly the allowed rise", 15, 10, 0.5, false},
		{"flags more than the allowed rise", 16, 10, 0.6, true},
		{"falls", 5, 10, -0.5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			last := Count{Kind: KindRecovery, Method: ChannelRecoveryCode, N: tc.last}
			prev := Count{Kind: KindRecovery, Method: ChannelRecoveryCode, N: tc.prev}
			d := compute(q, p, inputs{counts: []Count{last, prev}, lastWeek: []Count{last}, prevWeek: []Count{prev}})
			r := d.Recovery[1]
			if r.Channel != ChannelRecoveryCode || r.LastWeek != tc.last || r.PreviousWeek != tc.prev || r.WeekOverWeek != tc.wow ||
				r.Rising != tc.rising || r.Count != tc.last+tc.prev {
				t.Errorf("%+v; want last %d previous %d week over week %v rising %v", r, tc.last, tc.prev, tc.wow, tc.rising)
			}
		})
	}
	if d := compute(q, Policy{}, inputs{lastWeek: []Count{{Kind: KindRecovery, Method: ChannelEmail, N: 1000}}}); d.Recovery[0].Rising {
		t.Error("a zero rise ratio (the guardrail turned off) still flagged a rise")
	}
}

// TestPercentiles: nearest rank over the buckets, reported as bucket bounds.
func TestPercentiles(t *testing.T) {
	for _, tc := range []struct {
		name     string
		times    []int
		n        int64
		p50, p90 int
	}{
		{"is zero with no sign-ins", nil, 0, 0, 0},
		{"puts one time in its bucket", []int{1234}, 1, 1250, 1250},
		{"takes the bucket's bound, not the time", []int{1001, 1002, 1003}, 3, 1250, 1250},
		{"ranks ten times", []int{100, 200, 300, 400, 500, 600, 700, 800, 900, 60000}, 10, 500, 1000},
		{"puts the longest allowed time in the last bucket", []int{MaxClientMs}, 1, MaxClientMs, MaxClientMs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[int]int64{}
			for _, ms := range tc.times {
				h[BucketOf(ms)]++
			}
			n, p50, p90 := Percentiles(h)
			if n != tc.n || p50 != tc.p50 || p90 != tc.p90 {
				t.Errorf("n %d p50 %d p90 %d; want %d, %d, %d", n, p50, p90, tc.n, tc.p50, tc.p90)
			}
		})
	}
}

// TestClientTimesAreBounded: what the page reports counts only within
// (0, ten minutes].
func TestClientTimesAreBounded(t *testing.T) {
	for in, want := range map[int]int{-5: 0, 0: 0, 1: 1, 4200: 4200, MaxClientMs: MaxClientMs, MaxClientMs + 1: 0, 1 << 40: 0} {
		if got := ClientMs(in); got != want {
			t.Errorf("ClientMs(%d) = %d, want %d", in, got, want)
		}
	}
}

// TestFoldSumsTheSameInAnyBatches: folding events one batch or one event
// at a time gives the same counters.
func TestFoldSumsTheSameInAnyBatches(t *testing.T) {
	base := time.Date(2026, 12, 5, 9, 59, 0, 0, time.UTC)
	var evs []Event
	for i := range 50 {
		evs = append(evs, Event{At: base.Add(time.Duration(i) * 7 * time.Second), Kind: KindSignin, Method: SigninMethods[i%len(SigninMethods)],
			Outcome: "success", Cohort: "ramp", UserID: "u", ClientMs: 100 * i, ServerMs: i % 3})
	}
	sum := func(r []Rollup) (map[string]int64, int) {
		out := map[string]int64{}
		days := map[string]bool{}
		for _, x := range r {
			for _, c := range x.Counts {
				out[c.Hour.String()+c.Method] += c.N
			}
			for _, d := range x.Durations {
				out[d.Hour.String()+d.Method+d.Clock+string(rune(d.Bucket))] += d.N
			}
			for _, a := range x.Active {
				days[a.Day.String()+a.UserID] = true
			}
		}
		return out, len(days)
	}
	whole, wholeDays := sum([]Rollup{Fold(evs)})
	var single []Rollup
	for _, e := range evs {
		single = append(single, Fold([]Event{e}))
	}
	parts, partDays := sum(single)
	if len(whole) != len(parts) || wholeDays != partDays || wholeDays != 1 {
		t.Fatalf("%d counters and %d active days in one batch, %d and %d one by one", len(whole), wholeDays, len(parts), partDays)
	}
	for k, n := range whole {
		if parts[k] != n {
			t.Errorf("%q: %d in one batch, %d one by one", k, n, parts[k])
		}
	}
}

// FuzzParseQuery: whatever the parameters, a query or a coded error, and a
// query's range is ordered and bounded.
func FuzzParseQuery(f *testing.F) {
	f.Add("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z", "ramp", "Europe/Paris")
	f.Add("", "", "", "")
	f.Add("yesterday", "", "staff", "../../etc/passwd")
	f.Fuzz(func(t *testing.T, from, to, cohort, tz string) {
		params := map[string]string{"from": from, "to": to, "cohort": cohort, "tz": tz}
		q, err := ParseQuery(func(k string) string { return params[k] })
		if err != nil {
			return
		}
		if !q.From.IsZero() && !q.To.IsZero() && (!q.From.Before(q.To) || q.To.Sub(q.From) > MaxRange) {
			t.Errorf("accepted the range %v to %v", q.From, q.To)
		}
	})
}
