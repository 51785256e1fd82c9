package telemetry

import (
	"context"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/readiness"
	"github.com/keyshift/keyshift/internal/rollout"
)

// FigureStore reads the counters back.
type FigureStore interface {
	// TelemetrySums returns the counters of the hours in [from, to), of
	// kind and cohort ("" for every one), summed over the hours and phases
	// (Count.Hour and Phase are zero).
	TelemetrySums(ctx context.Context, from, to time.Time, kind, cohort string) ([]Count, error)
	// TelemetryCohorts returns successful sign-ins and passkeys added in
	// the hours in [from, to), by cohort (Count.Cohort and Kind).
	TelemetryCohorts(ctx context.Context, from, to time.Time) ([]Count, error)
	// TelemetrySeries returns successful sign-ins of the hours in [from,
	// to) by hour and method, of cohort ("" for every cohort).
	TelemetrySeries(ctx context.Context, from, to time.Time, cohort string) ([]Count, error)
	// TelemetryDurations returns the histograms of the hours in [from,
	// to), of cohort ("" for every cohort), summed over the hours.
	TelemetryDurations(ctx context.Context, from, to time.Time, cohort string) ([]Duration, error)
	// ActiveMembers counts the members active on the UTC days in [from,
	// to), each once, by the cohort of their last activity in those days
	// (only cohort's when it is not ""), and how many held a passkey then.
	ActiveMembers(ctx context.Context, from, to time.Time, cohort string) ([]ActiveCount, error)
	// ReadinessBuckets counts the accounts as they are now, by what they
	// hold (the store's query for `keyshift audit`).
	ReadinessBuckets(ctx context.Context) (map[readiness.Holdings]int, error)
	// RolloutChanges returns the latest limit changes of the rollout,
	// newest first.
	RolloutChanges(ctx context.Context, limit int) ([]rollout.Audit, error)
}

// ActiveCount is how many members were active, and how many of them held
// a passkey.
type ActiveCount struct {
	Cohort      string `json:"cohort,omitempty"`
	Members     int64  `json:"members"`
	WithPasskey int64  `json:"withPasskey"`
}

// Accounts are the accounts as they are now: all of them, those holding a
// passkey, those holding a passkey and no password, and how many are in
// each readiness class (package readiness: how an account fares when its
// member loses a device).
type Accounts struct {
	Total        int64            `json:"total"`
	WithPasskey  int64            `json:"withPasskey"`
	Passwordless int64            `json:"passwordless"`
	Readiness    map[string]int64 `json:"readiness"`
}

// AccountsOf sums the accounts' holdings into the figure.
func AccountsOf(buckets map[readiness.Holdings]int) Accounts {
	a := Accounts{Readiness: map[string]int64{}}
	for _, c := range readiness.Classes {
		a.Readiness[string(c)] = 0
	}
	for h, n := range buckets {
		a.Total += int64(n)
		if h.Passkeys > 0 {
			a.WithPasskey += int64(n)
			if !h.Password {
				a.Passwordless += int64(n)
			}
		}
		a.Readiness[string(readiness.Of(h))] += int64(n)
	}
	return a
}

// Query is what a metrics document covers.
type Query struct {
	// From and To bound the range; Range takes them to whole UTC hours.
	From, To time.Time
	// Cohort restricts every figure that has a cohort to it ("" for all).
	Cohort string
	// TZ places the series' days (nil: UTC). Counters are by UTC hour, so
	// in a zone whose offset is not whole hours a day starts at the hour
	// that holds local midnight.
	TZ *time.Location
}

// Policy holds what turns a count into a warning.
type Policy struct {
	// RiseRatio: a recovery channel is rising when its last seven days are
	// more than this much above the seven before (0.5: half as many again);
	// 0 never flags.
	RiseRatio float64
	// RiseMin: and when its last seven days count at least this many.
	RiseMin int64
}

// DefaultPolicy is the policy without configuration.
var DefaultPolicy = Policy{RiseRatio: 0.5, RiseMin: 10}

// Range returns q with From taken down and To taken up to whole UTC hours,
// To defaulting to the end of the hour under way and From to 30 days
// before To.
func (q Query) Range(now time.Time) Query {
	if q.To.IsZero() {
		q.To = now.UTC().Truncate(time.Hour).Add(time.Hour) // the hour under way is in
	}
	q.To = ceilHour(q.To)
	if q.From.IsZero() {
		q.From = q.To.Add(-30 * 24 * time.Hour)
	}
	q.From = q.From.UTC().Truncate(time.Hour)
	if q.TZ == nil {
		q.TZ = time.UTC
	}
	return q
}

// ceilDay returns the first UTC midnight at or after t.
func ceilDay(t time.Time) time.Time {
	d := dayOf(t)
	if d.Before(t) {
		d = d.Add(24 * time.Hour)
	}
	return d
}

func ceilHour(t time.Time) time.Time {
	h := t.UTC().Truncate(time.Hour)
	if h.Before(t) {
		h = h.Add(time.Hour)
	}
	return h
}

// Document is the metrics document (API.md, "Metrics"; docs/telemetry.md
// says how each figure is made).
type Document struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	TZ     string    `json:"tz"`
	Cohort string    `json:"cohort,omitempty"`

	Signins         []SigninCount    `json:"signins"`
	SuccessRate     []MethodRate     `json:"successRate"`
	Signups         int64            `json:"signups"`
	SignupsByMethod map[string]int64 `json:"signupsByMethod"`

	PasskeysAdded    int64 `json:"passkeysAdded"`
	PasskeysRemoved  int64 `json:"passkeysRemoved"`
	PasskeysUpgraded int64 `json:"passkeysUpgraded"`

	EnrollmentRate      Enrollment     `json:"enrollmentRate"`
	Cohorts             []CohortFigure `json:"cohorts"`
	ConditionalFillRate float64        `json:"conditionalFillRate"`
	Conditional         Conditional    `json:"conditional"`
	Nudge               Nudge          `json:"nudge"`
	DuplicatePasskeys   Duplicates     `json:"duplicatePasskeys"`
	Recovery            []Recovery     `json:"recovery"`
	TimeToSigninMs      []Timing       `json:"timeToSigninMs"`
	Series              Series         `json:"series"`
	RolloutChanges      []PhaseChange  `json:"rolloutChanges"`
	Accounts            Accounts       `json:"accounts"`
}

// SigninCount is how many sign-ins by Method ended in Outcome.
type SigninCount struct {
	Method  string `json:"method"`
	Outcome string `json:"outcome"`
	Count   int64  `json:"count"`
}

// MethodRate is the share of a method's attempts that succeeded.
type MethodRate struct {
	Method   string  `json:"method"`
	Attempts int64   `json:"attempts"`
	Rate     float64 `json:"rate"`
}

// Enrollment is the enrollment rate: passkeys added per successful
// sign-in, and the share of active members who held a passkey.
type Enrollment struct {
	PerSignin         float64 `json:"perSignin"`
	PerActiveUser     float64 `json:"perActiveUser"`
	ActiveUsers       int64   `json:"activeUsers"`
	ActiveWithPasskey int64   `json:"activeWithPasskey"`
}

// CohortFigure is the enrollment of one cohort.
type CohortFigure struct {
	Cohort            string  `json:"cohort"`
	Signins           int64   `json:"signins"`
	PasskeysAdded     int64   `json:"passkeysAdded"`
	PerSignin         float64 `json:"perSignin"`
	ActiveUsers       int64   `json:"activeUsers"`
	ActiveWithPasskey int64   `json:"activeWithPasskey"`
	PerActiveUser     float64 `json:"perActiveUser"`
}

// Conditional is passkey autofill offered by the sign-in page and used.
type Conditional struct {
	Offered int64 `json:"offered"`
	Used    int64 `json:"used"`
}

// Nudge is the enrollment nudge's impressions and answers.
type Nudge struct {
	Shown    int64 `json:"shown"`
	Accepted int64 `json:"accepted"`
	Later    int64 `json:"later"`
	Never    int64 `json:"never"`
}

// Duplicates are attempts to register a passkey the member has already.
type Duplicates struct {
	Browser int64 `json:"browser"`
	Server  int64 `json:"server"`
}

// Recovery is one recovery channel's use in the range and its trend over
// the last two weeks of the range.
type Recovery struct {
	Channel      string  `json:"channel"`
	Count        int64   `json:"count"`
	LastWeek     int64   `json:"lastWeek"`
	PreviousWeek int64   `json:"previousWeek"`
	WeekOverWeek float64 `json:"weekOverWeek"`
	Rising       bool    `json:"rising"`
}

// Timing is the time to sign in of one method's successful sign-ins, by
// the page's clock and the server's; each percentile is the upper bound of
// the histogram bucket it falls in (Buckets).
type Timing struct {
	Method    string `json:"method"`
	Count     int64  `json:"count"`
	P50       int    `json:"p50"`
	P90       int    `json:"p90"`
	Server    int64  `json:"serverCount"`
	ServerP50 int    `json:"serverP50"`
	ServerP90 int    `json:"serverP90"`
}

// Series is successful sign-ins by method over time: by hour for a range
// of two days or less, else by day in the document's time zone.
type Series struct {
	Step   string  `json:"step"`
	Points []Point `json:"points"`
}

// Point is one step of the series.
type Point struct {
	Start   time.Time        `json:"start"`
	Signins map[string]int64 `json:"signins"`
}

// PhaseChange is a change of the rollout within the range.
type PhaseChange struct {
	At   time.Time `json:"at"`
	From string    `json:"from"`
	To   string    `json:"to"`
	By   string    `json:"by"`
}

// Figures computes the metrics document of q (taken to whole hours with
// Range at now) from the counters in st.
func Figures(ctx context.Context, st FigureStore, q Query, p Policy, now time.Time) (Document, error) {
	q = q.Range(now)
	var in inputs
	var err error
	if in.counts, err = st.TelemetrySums(ctx, q.From, q.To, "", q.Cohort); err != nil {
		return Document{}, err
	}
	if q.Cohort == "" {
		if in.cohorts, err = st.TelemetryCohorts(ctx, q.From, q.To); err != nil {
			return Document{}, err
		}
	}
	// The recovery trend: the two weeks before To, whatever the range.
	week := 7 * 24 * time.Hour
	if in.lastWeek, err = st.TelemetrySums(ctx, q.To.Add(-week), q.To, KindRecovery, q.Cohort); err != nil {
		return Document{}, err
	}
	if in.prevWeek, err = st.TelemetrySums(ctx, q.To.Add(-2*week), q.To.Add(-week), KindRecovery, q.Cohort); err != nil {
		return Document{}, err
	}
	// Whole days of the time zone may start before From: the series reads
	// them whole.
	if in.series, err = st.TelemetrySeries(ctx, newSeries(q).from(), q.To, q.Cohort); err != nil {
		return Document{}, err
	}
	if in.durs, err = st.TelemetryDurations(ctx, q.From, q.To, q.Cohort); err != nil {
		return Document{}, err
	}
	if in.active, err = st.ActiveMembers(ctx, dayOf(q.From), ceilDay(q.To), q.Cohort); err != nil {
		return Document{}, err
	}
	buckets, err := st.ReadinessBuckets(ctx)
	if err != nil {
		return Document{}, err
	}
	changes, err := st.RolloutChanges(ctx, 1000)
	if err != nil {
		return Document{}, err
	}
	d := compute(q, p, in)
	d.Accounts = AccountsOf(buckets)
	d.RolloutChanges = phaseChanges(changes, q.From, q.To)
	return d, nil
}

// inputs are what Figures reads: the counters of the range, of the
// recovery's two weeks, the series' hours, the histograms, the active
// members by cohort.
type inputs struct {
	counts, cohorts, lastWeek, prevWeek, series []Count
	durs                                        []Duration
	active                                      []ActiveCount
}

// compute is Figures without the reads: every figure from the counters.
func compute(q Query, p Policy, in inputs) Document {
	d := Document{From: q.From, To: q.To, TZ: q.TZ.String(), Cohort: q.Cohort, SignupsByMethod: map[string]int64{}}
	signins := map[[2]string]int64{}
	byCohort := map[string]*CohortFigure{}
	cohort := func(c string) *CohortFigure {
		if byCohort[c] == nil {
			byCohort[c] = &CohortFigure{Cohort: c}
		}
		return byCohort[c]
	}
	recovery := map[string]*Recovery{}
	for _, ch := range Channels {
		recovery[ch] = &Recovery{Channel: ch}
	}
	for _, c := range in.lastWeek {
		if r := recovery[c.Method]; r != nil {
			r.LastWeek += c.N
		}
	}
	for _, c := range in.prevWeek {
		if r := recovery[c.Method]; r != nil {
			r.PreviousWeek += c.N
		}
	}
	series := newSeries(q)
	for _, c := range in.series {
		series.add(c.Hour, c.Method, c.N)
	}
	// By cohort: the one asked for, or each (TelemetryCohorts).
	byCohortCounts := in.cohorts
	if q.Cohort != "" {
		byCohortCounts = in.counts
	}
	for _, c := range byCohortCounts {
		switch {
		case c.Kind == KindSignin && c.Outcome == account.OutcomeSuccess:
			cohort(c.Cohort).Signins += c.N
		case c.Kind == KindPasskeyAdded:
			cohort(c.Cohort).PasskeysAdded += c.N
		}
	}
	signupPasskey := map[string]int64{}
	for _, c := range in.counts {
		switch c.Kind {
		case KindSignin:
			signins[[2]string{c.Method, c.Outcome}] += c.N
		case KindSignup:
			d.Signups += c.N
			d.SignupsByMethod[c.Method] += c.N
		case KindSignupPasskey:
			signupPasskey[c.Method] += c.N
		case KindPasskeyAdded:
			d.PasskeysAdded += c.N
			if c.Method == MethodUpgrade {
				d.PasskeysUpgraded += c.N
			}
		case KindPasskeyRemoved:
			d.PasskeysRemoved += c.N
		case KindConditional:
			switch c.Method {
			case ConditionalOffered:
				d.Conditional.Offered += c.N
			case ConditionalUsed:
				d.Conditional.Used += c.N
			}
		case KindNudge:
			switch c.Method {
			case NudgeShown:
				d.Nudge.Shown += c.N
			case NudgeAccepted:
				d.Nudge.Accepted += c.N
			case NudgeLater:
				d.Nudge.Later += c.N
			case NudgeNever:
				d.Nudge.Never += c.N
			}
		case KindDuplicate:
			switch c.Method {
			case DuplicateBrowser:
				d.DuplicatePasskeys.Browser += c.N
			case DuplicateServer:
				d.DuplicatePasskeys.Server += c.N
			}
		case KindRecovery:
			if r := recovery[c.Method]; r != nil {
				r.Count += c.N
			}
		}
	}
	// A passkey-first sign-up made its account by email, then the passkey:
	// it counts as "passkey", not as the email method.
	for m, n := range signupPasskey {
		n = min(n, d.SignupsByMethod[m])
		d.SignupsByMethod[m] -= n
		d.SignupsByMethod["passkey"] += n
	}
	d.Signins, d.SuccessRate = signinFigures(signins)
	var all ActiveCount
	for _, a := range in.active {
		all.Members, all.WithPasskey = all.Members+a.Members, all.WithPasskey+a.WithPasskey
	}
	d.EnrollmentRate = Enrollment{ActiveUsers: all.Members, ActiveWithPasskey: all.WithPasskey,
		PerActiveUser: ratio(all.WithPasskey, all.Members)}
	var success int64
	for _, c := range d.Signins {
		if c.Outcome == account.OutcomeSuccess {
			success += c.Count
		}
	}
	d.EnrollmentRate.PerSignin = ratio(d.PasskeysAdded, success)
	for _, a := range in.active {
		f := cohort(a.Cohort)
		f.ActiveUsers, f.ActiveWithPasskey = a.Members, a.WithPasskey
	}
	for _, f := range byCohort {
		f.PerSignin, f.PerActiveUser = ratio(f.PasskeysAdded, f.Signins), ratio(f.ActiveWithPasskey, f.ActiveUsers)
		d.Cohorts = append(d.Cohorts, *f)
	}
	sort.Slice(d.Cohorts, func(i, j int) bool { return d.Cohorts[i].Cohort < d.Cohorts[j].Cohort })
	// Autofill used without its page's beacon (a page that failed to send
	// it) must not make the rate look better than every offer taken.
	d.ConditionalFillRate = min(1, ratio(d.Conditional.Used, d.Conditional.Offered))
	for _, ch := range Channels {
		r := recovery[ch]
		if r.PreviousWeek > 0 {
			r.WeekOverWeek = round4(float64(r.LastWeek-r.PreviousWeek) / float64(r.PreviousWeek))
		}
		// The guardrail's rule (rollout.Guardrails), per channel.
		r.Rising = p.RiseRatio > 0 && r.LastWeek >= max(p.RiseMin, 1) &&
			(r.PreviousWeek == 0 || float64(r.LastWeek)/float64(r.PreviousWeek)-1 > p.RiseRatio)
		d.Recovery = append(d.Recovery, *r)
	}
	d.TimeToSigninMs = timings(in.durs)
	d.Series = series.Series
	return d
}

// signinFigures lists the sign-in counts (known methods first, in their
// order, then any other) and each method's success rate.
func signinFigures(signins map[[2]string]int64) ([]SigninCount, []MethodRate) {
	methods := slices.Clone(SigninMethods)
	for k := range signins {
		if !slices.Contains(methods, k[0]) {
			methods = append(methods, k[0])
		}
	}
	slices.Sort(methods[len(SigninMethods):])
	counts := []SigninCount{}
	rates := []MethodRate{}
	for _, m := range methods {
		ok, failed := signins[[2]string{m, account.OutcomeSuccess}], signins[[2]string{m, account.OutcomeFailure}]
		if ok+failed == 0 {
			continue
		}
		for _, o := range []string{account.OutcomeSuccess, account.OutcomeFailure} {
			if n := signins[[2]string{m, o}]; n > 0 {
				counts = append(counts, SigninCount{Method: m, Outcome: o, Count: n})
			}
		}
		rates = append(rates, MethodRate{Method: m, Attempts: ok + failed, Rate: ratio(ok, ok+failed)})
	}
	return counts, rates
}

// timings turns the histograms into percentiles by method.
func timings(durs []Duration) []Timing {
	type hist = map[int]int64
	by := map[string]map[string]hist{}
	for _, d := range durs {
		if by[d.Method] == nil {
			by[d.Method] = map[string]hist{}
		}
		if by[d.Method][d.Clock] == nil {
			by[d.Method][d.Clock] = hist{}
		}
		by[d.Method][d.Clock][d.Bucket] += d.N
	}
	out := []Timing{}
	methods := make([]string, 0, len(by))
	for m := range by {
		methods = append(methods, m)
	}
	slices.SortFunc(methods, func(a, b string) int { return methodOrder(a) - methodOrder(b) })
	for _, m := range methods {
		t := Timing{Method: m}
		t.Count, t.P50, t.P90 = Percentiles(by[m][ClockClient])
		t.Server, t.ServerP50, t.ServerP90 = Percentiles(by[m][ClockServer])
		out = append(out, t)
	}
	return out
}

func methodOrder(m string) int {
	if i := slices.Index(SigninMethods, m); i >= 0 {
		return i
	}
	return len(SigninMethods)
}

// Percentiles returns the count of a histogram (bucket bound → count) and
// its 50th and 90th percentiles by nearest rank: the bound of the bucket
// that holds the ⌈q·n⌉-th smallest time.
func Percentiles(h map[int]int64) (n int64, p50, p90 int) {
	for _, c := range h {
		n += c
	}
	if n == 0 {
		return 0, 0, 0
	}
	rank := func(q float64) int {
		want := int64(math.Ceil(q * float64(n)))
		var seen int64
		for _, b := range Buckets {
			seen += h[b]
			if seen >= want {
				return b
			}
		}
		return Buckets[len(Buckets)-1]
	}
	return n, rank(0.5), rank(0.9)
}

type seriesBuilder struct {
	Series
	tz    *time.Location
	index map[int64]int
}

func newSeries(q Query) *seriesBuilder {
	s := &seriesBuilder{tz: q.TZ, index: map[int64]int{}}
	s.Step = "day"
	if q.To.Sub(q.From) <= 48*time.Hour {
		s.Step = "hour"
	}
	for t := s.start(q.From); t.Before(q.To); t = s.next(t) {
		s.index[t.Unix()] = len(s.Points)
		s.Points = append(s.Points, Point{Start: t, Signins: map[string]int64{}})
	}
	return s
}

// start returns the start of the step that holds t.
func (s *seriesBuilder) start(t time.Time) time.Time {
	if s.Step == "hour" {
		return t.UTC().Truncate(time.Hour)
	}
	l := t.In(s.tz)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, s.tz).Truncate(time.Hour)
}

func (s *seriesBuilder) next(t time.Time) time.Time {
	if s.Step == "hour" {
		return t.Add(time.Hour)
	}
	l := t.In(s.tz)
	return s.start(time.Date(l.Year(), l.Month(), l.Day()+1, 12, 0, 0, 0, s.tz))
}

// from is the start of the series' first step.
func (s *seriesBuilder) from() time.Time {
	if len(s.Points) == 0 {
		return time.Time{}
	}
	return s.Points[0].Start
}

func (s *seriesBuilder) add(hour time.Time, method string, n int64) {
	if i, ok := s.index[s.start(hour).Unix()]; ok {
		s.Points[i].Signins[method] += n
	}
}

// phaseChanges lists the rollout's changes in [from, to), oldest first.
func phaseChanges(changes []rollout.Audit, from, to time.Time) []PhaseChange {
	out := []PhaseChange{}
	for i := len(changes) - 1; i >= 0; i-- {
		c := changes[i]
		if c.At.Before(from) || !c.At.Before(to) {
			continue
		}
		out = append(out, PhaseChange{At: c.At.UTC(), From: c.From.Phase.String(), To: c.To.Phase.String(), By: c.By})
	}
	return out
}

// ratio is a/b to four places, 0 when b is 0.
func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return round4(float64(a) / float64(b))
}

func round4(x float64) float64 { return math.Round(x*10000) / 10000 }
