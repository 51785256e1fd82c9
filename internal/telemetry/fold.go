package telemetry

import (
	"context"
	"log/slog"
	"slices"
	"time"
)

// Count is one hourly counter: how many events of one kind, method,
// outcome, code, phase and cohort began in the UTC hour Hour.
type Count struct {
	Hour                                       time.Time
	Kind, Method, Outcome, Code, Phase, Cohort string
	N                                          int64
}

// Duration is one bucket of an hourly histogram of times to sign in:
// successful sign-ins by Method in Cohort whose time by Clock (ClockClient:
// the page's; ClockServer: the server's) was at most Bucket milliseconds
// and more than the bucket below.
type Duration struct {
	Hour                  time.Time
	Method, Cohort, Clock string
	Bucket                int
	N                     int64
}

// The clocks a sign-in is timed by.
const (
	ClockClient = "client"
	ClockServer = "server"
)

// Buckets are the histograms' upper bounds in milliseconds, roughly 1.25
// to 1.5 apart: a percentile is reported as the bound of its bucket, so it
// is at most one bucket above the true value (Figures), and a bucket more
// costs one row an hour only where sign-ins fall in it.
var Buckets = []int{
	25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 600, 750, 1000, 1250, 1500, 2000, 2500, 3000, 4000, 5000,
	6000, 7500, 10000, 12500, 15000, 20000, 25000, 30000, 40000, 50000, 60000, 90000, 120000, 180000, 300000, MaxClientMs,
}

// BucketOf returns the bound of the bucket ms falls in (ms > 0).
func BucketOf(ms int) int {
	i, _ := slices.BinarySearch(Buckets, ms)
	if i == len(Buckets) {
		return Buckets[len(Buckets)-1]
	}
	return Buckets[i]
}

// Active says a member was active (signed in, signed up or added a
// passkey) on the UTC day Day, last at At that day, in Cohort, holding a
// passkey or not then.
type Active struct {
	Day        time.Time
	UserID     string
	At         time.Time
	Cohort     string
	HasPasskey bool
}

// Rollup is what one batch of events adds to the counters.
type Rollup struct {
	Counts    []Count
	Durations []Duration
	Active    []Active
}

// Cursor is the place of the last event folded. On SQLite, where writers
// take turns, it is the event's id; on PostgreSQL the (transaction id, id)
// pair, since ids there are handed out before their transactions commit,
// in another order.
type Cursor struct {
	TxID, ID int64
}

// FoldStore is what the Folder needs of storage.
type FoldStore interface {
	// InTx runs fn in one transaction.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// ClaimTelemetryFold takes or renews the folder's lease for owner until
	// until, unless another owner holds it past now, and returns the
	// cursor; ok is false when another owner holds the lease. The lease
	// row stays locked to the transaction of ctx.
	ClaimTelemetryFold(ctx context.Context, owner string, now, until time.Time) (c Cursor, ok bool, err error)
	// TelemetryAfter returns up to limit events after c that no running
	// transaction can still add to or come before, in order, with the
	// cursor of the last one (c when none).
	TelemetryAfter(ctx context.Context, c Cursor, limit int) ([]Event, Cursor, error)
	// AddTelemetry adds r to the counters.
	AddTelemetry(ctx context.Context, r Rollup) error
	// SetTelemetryCursor moves the cursor to c, folded at at.
	SetTelemetryCursor(ctx context.Context, c Cursor, at time.Time) error
}

// Folder folds telemetry events into the hourly counters, in the
// background, one batch per transaction: the counters, the cursor and the
// lease move together, so a batch is counted once or not at all, whoever
// folds it. One Folder at a time folds (a lease in the database); the others
// wait to take over when the lease lapses.
type Folder struct {
	store FoldStore
	owner string
	now   func() time.Time
	log   *slog.Logger
	// Batch is how many events one transaction folds; Lease how long a
	// lease holds without renewal.
	Batch int
	Lease time.Duration
}

// NewFolder returns a Folder for owner (a name unique to this process).
func NewFolder(store FoldStore, owner string, now func() time.Time, log *slog.Logger) *Folder {
	return &Folder{store: store, owner: owner, now: now, log: log, Batch: 5000, Lease: 30 * time.Second}
}

// Step folds one batch and returns how many events it folded; 0 when
// there was nothing to fold or another folder holds the lease.
func (f *Folder) Step(ctx context.Context) (int, error) {
	n := 0
	err := f.store.InTx(ctx, func(ctx context.Context) error {
		now := f.now()
		cur, ok, err := f.store.ClaimTelemetryFold(ctx, f.owner, now, now.Add(f.Lease))
		if err != nil || !ok {
			return err
		}
		evs, next, err := f.store.TelemetryAfter(ctx, cur, f.Batch)
		if err != nil || len(evs) == 0 {
			return err
		}
		if err := f.store.AddTelemetry(ctx, Fold(evs)); err != nil {
			return err
		}
		n = len(evs)
		return f.store.SetTelemetryCursor(ctx, next, now)
	})
	return n, err
}

// Drain folds until nothing is left to fold, and returns how many events
// it folded.
func (f *Folder) Drain(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := f.Step(ctx)
		total += n
		if err != nil || n < f.Batch {
			return total, err
		}
	}
}

// Run drains every interval until ctx ends.
func (f *Folder) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := f.Drain(ctx); err != nil && ctx.Err() == nil {
			f.log.Error("telemetry fold", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Fold counts evs: the pure part of folding, which any order of batches
// sums to the same counters.
func Fold(evs []Event) Rollup {
	type countKey struct {
		hour                                       int64
		kind, method, outcome, code, phase, cohort string
	}
	type durKey struct {
		hour                  int64
		method, cohort, clock string
		bucket                int
	}
	type activeKey struct {
		day  int64
		user string
	}
	counts := map[countKey]int64{}
	durs := map[durKey]int64{}
	active := map[activeKey]Active{}
	for _, e := range evs {
		h := e.At.UTC().Truncate(time.Hour).Unix()
		counts[countKey{h, e.Kind, e.Method, e.Outcome, e.Code, e.Phase, e.Cohort}]++
		if e.Kind == KindSignin && e.Outcome == "success" {
			if e.ClientMs > 0 {
				durs[durKey{h, e.Method, e.Cohort, ClockClient, BucketOf(e.ClientMs)}]++
			}
			if e.ServerMs > 0 {
				durs[durKey{h, e.Method, e.Cohort, ClockServer, BucketOf(e.ServerMs)}]++
			}
		}
		if e.UserID != "" && countsActive(e) {
			day := dayOf(e.At)
			k := activeKey{day.Unix(), e.UserID}
			if a, ok := active[k]; !ok || !e.At.Before(a.At) { // the day's last activity wins
				active[k] = Active{Day: day, UserID: e.UserID, At: e.At.UTC(), Cohort: e.Cohort, HasPasskey: e.HasPasskey}
			}
		}
	}
	var r Rollup
	for k, n := range counts {
		r.Counts = append(r.Counts, Count{time.Unix(k.hour, 0).UTC(), k.kind, k.method, k.outcome, k.code, k.phase, k.cohort, n})
	}
	for k, n := range durs {
		r.Durations = append(r.Durations, Duration{time.Unix(k.hour, 0).UTC(), k.method, k.cohort, k.clock, k.bucket, n})
	}
	for _, a := range active {
		r.Active = append(r.Active, a)
	}
	return r
}

// countsActive reports whether e shows its member active: a successful
// sign-in, a sign-up, a passkey added.
func countsActive(e Event) bool {
	switch e.Kind {
	case KindSignin:
		return e.Outcome == "success"
	case KindSignup, KindPasskeyAdded:
		return true
	}
	return false
}

// dayOf returns the UTC day t falls in.
func dayOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// Owner is the name this Folder holds the lease under.
func (f *Folder) Owner() string { return f.owner }
