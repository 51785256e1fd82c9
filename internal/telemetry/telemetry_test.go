package telemetry_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/telemetry"
	"github.com/keyshift/keyshift/internal/testdb"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func openDB(t *testing.T, database string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rig is one node: its store, an Audit that records telemetry, and a
// Folder.
type rig struct {
	db     *store.DB
	clock  *clock
	audit  account.Audit
	rec    *telemetry.Recorder
	folder *telemetry.Folder
}

func newRig(t *testing.T, database string, c *clock, name string) *rig {
	db := openDB(t, database)
	rec := telemetry.NewRecorder(db, rollout.NewService(db, rollout.Config{}, c.now), c.now, nil)
	return &rig{db: db, clock: c, rec: rec, audit: account.Audit{Store: db, Now: c.now, Observer: rec},
		folder: telemetry.NewFolder(db, name, c.now, nil)}
}

func (r *rig) member(t *testing.T, email string) *account.User {
	t.Helper()
	now := r.clock.now()
	u := &account.User{ID: account.Random{}.NewID(), Email: email, EmailKey: email, EmailVerified: true,
		Origin: account.OriginSignup, WebAuthnID: account.Random{}.Bytes(32), CreatedAt: now, UpdatedAt: now}
	if err := r.db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func (r *rig) record(t *testing.T, e *account.Event, c account.Client) {
	t.Helper()
	err := r.db.InTx(t.Context(), func(ctx context.Context) error {
		if e.Outcome == account.OutcomeFailure {
			return r.audit.RecordFailure(ctx, e, c)
		}
		return r.audit.Record(ctx, e, c)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// settle folds until no event waits. On PostgreSQL an event waits while
// any transaction older than its own runs anywhere in the cluster (other
// tests' too), so a single pass may fold nothing yet.
func (r *rig) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := r.folder.Drain(t.Context()); err != nil {
			t.Fatal(err)
		}
		left, _, err := r.db.TelemetryBacklog(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d telemetry events still unfolded", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stepUntil steps f until it folds want events or time runs out.
func stepUntil(t *testing.T, f *telemetry.Folder, want int) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := f.Step(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *rig) figures(t *testing.T, q telemetry.Query) telemetry.Document {
	t.Helper()
	r.settle(t)
	d, err := telemetry.Figures(t.Context(), r.db, q, telemetry.DefaultPolicy, r.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func signin(u *account.User, m account.AuthMethod, outcome string) *account.Event {
	id := ""
	if u != nil {
		id = u.ID
	}
	return &account.Event{Type: account.EventSignin, UserID: id, Method: string(m), Outcome: outcome}
}

func count(d telemetry.Document, method, outcome string) int64 {
	for _, s := range d.Signins {
		if s.Method == method && s.Outcome == outcome {
			return s.Count
		}
	}
	return 0
}

// TestEventsKeepNoAddressAndNoUserAgent: an event stores the phase, the
// cohort, the bounded times and a browser family — and neither the IP
// address nor the User-Agent, which the audit log keeps.
func TestEventsKeepNoAddressAndNoUserAgent(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		c := &clock{t: time.Date(2026, 12, 5, 10, 30, 0, 0, time.UTC)}
		r := newRig(t, database, c, "node-a")
		u := r.member(t, "ada@example.com")
		ua := "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
		client := account.Client{IP: "192.0.2.77", UserAgent: ua, SigninMs: 1800, Began: c.now().Add(-40 * time.Millisecond)}
		r.record(t, signin(u, account.MethodPassword, account.OutcomeSuccess), client)
		var leaked int
		cols := `COALESCE(phase, '') || COALESCE(cohort, '') || COALESCE(browser, '') || COALESCE(os, '') || COALESCE(method, '') || COALESCE(code, '')`
		if err := r.db.QueryRow(t.Context(), `SELECT COUNT(*) FROM telemetry_events WHERE `+cols+` LIKE ? OR `+cols+` LIKE ?`,
			"%192.0.2%", "%Mozilla%").Scan(&leaked); err != nil || leaked != 0 {
			t.Fatalf("%d telemetry rows hold the address or the User-Agent (%v)", leaked, err)
		}
		var phase, cohort, browser, os string
		var clientMs, serverMs int
		if err := r.db.QueryRow(t.Context(), `SELECT phase, cohort, browser, os, client_ms, server_ms FROM telemetry_events`).
			Scan(&phase, &cohort, &browser, &os, &clientMs, &serverMs); err != nil {
			t.Fatal(err)
		}
		if phase != "existing-users" || cohort != rollout.CohortRamp && cohort != rollout.CohortRest || browser != "Chrome" || os != "Android" ||
			clientMs != 1800 || serverMs != 40 {
			t.Errorf("stored phase %q cohort %q browser %q os %q client %d ms server %d ms", phase, cohort, browser, os, clientMs, serverMs)
		}
	})
}

// TestWhatEachAuditEventCounts: the figures a known mix of audit events
// makes, on both backends.
func TestWhatEachAuditEventCounts(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		c := &clock{t: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
		r := newRig(t, database, c, "node-a")
		ada, bob := r.member(t, "ada@example.com"), r.member(t, "bob@example.com")
		cl := account.Client{IP: "192.0.2.1"}
		// Bob signs up by email: a sign-up, not a sign-in.
		r.record(t, &account.Event{Type: account.EventSignup, UserID: bob.ID, Method: "email_code", Outcome: account.OutcomeSuccess}, cl)
		r.record(t, &account.Event{Type: account.EventSignin, UserID: bob.ID, Method: "email_code", Outcome: account.OutcomeSuccess,
			Data: map[string]any{"created": true}}, cl)
		r.record(t, &account.Event{Type: account.EventSignup, UserID: ada.ID, Method: "password", Outcome: account.OutcomeSuccess}, cl)
		r.record(t, signin(ada, account.MethodPassword, account.OutcomeSuccess), account.Client{SigninMs: 2100})
		r.record(t, signin(ada, account.MethodPassword, account.OutcomeFailure), cl)
		r.record(t, signin(nil, account.MethodPassword, account.OutcomeFailure), cl) // an unknown address: counted, not an event
		r.record(t, &account.Event{Type: rollout.EventNudgeShown, UserID: ada.ID, Outcome: account.OutcomeSuccess}, cl)
		r.record(t, &account.Event{Type: rollout.EventNudgeAnswered, UserID: ada.ID, Data: map[string]any{"action": "later"}}, cl)
		r.record(t, &account.Event{Type: rollout.EventNudgeAnswered, UserID: ada.ID, Data: map[string]any{"action": "ask_again"}}, cl)
		now := c.now()
		if err := r.db.CreateCredential(t.Context(), &account.Credential{ID: account.Random{}.NewID(), UserID: ada.ID,
			Type: account.CredentialWebAuthn, CredentialID: account.Random{}.Bytes(16), PublicKey: []byte{1},
			CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		r.record(t, &account.Event{Type: account.EventPasskeyAdded, UserID: ada.ID,
			Data: map[string]any{"provider": "iCloud Keychain", "synced": true, "upgrade": true}}, cl)
		r.record(t, &account.Event{Type: account.EventPasskeyRegisterError, UserID: ada.ID, Outcome: "passkey_on_device"}, cl)
		r.record(t, &account.Event{Type: account.EventPasskeyRegisterError, UserID: ada.ID, Outcome: "cancelled"}, cl)
		if err := r.audit.Telemetry(t.Context(), &account.Event{Type: account.EventPasskeyRegisterError, UserID: ada.ID,
			Outcome: "passkey_exists"}, cl); err != nil {
			t.Fatal(err)
		}
		// Email sign-in: a recovery only for an account that holds a
		// passkey (Bob holds none).
		r.record(t, signin(bob, account.MethodEmailLink, account.OutcomeSuccess), cl)
		r.record(t, signin(bob, account.MethodRecoveryCode, account.OutcomeSuccess), cl)
		r.record(t, signin(bob, account.MethodSupportRecovery, account.OutcomeSuccess), cl)
		for range 3 {
			if err := r.rec.ConditionalOffered(t.Context(), cl); err != nil {
				t.Fatal(err)
			}
		}
		r.record(t, signin(ada, account.MethodPasskeyConditional, account.OutcomeSuccess), account.Client{SigninMs: 900})
		r.record(t, signin(ada, account.MethodPasskeyModal, account.OutcomeFailure), cl)
		r.record(t, &account.Event{Type: account.EventPasskeyRemoved, UserID: ada.ID, Data: map[string]any{"provider": "iCloud Keychain"}}, cl)

		d := r.figures(t, telemetry.Query{})
		for _, w := range []struct {
			what      string
			got, want int64
		}{
			{"password successes", count(d, "password", "success"), 1},
			{"password failures (known and unknown account)", count(d, "password", "failure"), 2},
			{"email_code sign-ins (the sign-up's own is not one)", count(d, "email_code", "success"), 0},
			{"email_link sign-ins", count(d, "email_link", "success"), 1},
			{"conditional sign-ins", count(d, "passkey_conditional", "success"), 1},
			{"modal failures", count(d, "passkey_modal", "failure"), 1},
			{"sign-ups", d.Signups, 2},
			{"sign-ups by email code", d.SignupsByMethod["email_code"], 1},
			{"sign-ups by password", d.SignupsByMethod["password"], 1},
			{"passkeys added", d.PasskeysAdded, 1},
			{"passkeys upgraded", d.PasskeysUpgraded, 1},
			{"passkeys removed", d.PasskeysRemoved, 1},
			{"nudges shown", d.Nudge.Shown, 1},
			{"nudges snoozed", d.Nudge.Later, 1},
			{"nudges declined", d.Nudge.Never, 0},
			{"duplicates the browser refused", d.DuplicatePasskeys.Browser, 1},
			{"duplicates the server refused", d.DuplicatePasskeys.Server, 1},
			{"autofill offered", d.Conditional.Offered, 3},
			{"autofill used", d.Conditional.Used, 1},
			{"recovery by email (Bob holds no passkey)", d.Recovery[0].Count, 0},
			{"recovery by code", d.Recovery[1].Count, 1},
			{"recovery by support", d.Recovery[2].Count, 1},
			{"support recovery sign-ins", count(d, "support_recovery", "success"), 1},
			{"active members", d.EnrollmentRate.ActiveUsers, 2},
			{"active members with a passkey", d.EnrollmentRate.ActiveWithPasskey, 1},
			{"accounts", d.Accounts.Total, 2},
			{"accounts with a passkey", d.Accounts.WithPasskey, 1},
			{"passwordless accounts (Ada: a passkey, no password)", d.Accounts.Passwordless, 1},
			{"accounts at risk (Ada: one device-bound passkey alone)", d.Accounts.Readiness["at_risk"], 1},
			{"weak accounts (Bob: no passkey)", d.Accounts.Readiness["weak"], 1},
		} {
			if w.got != w.want {
				t.Errorf("%s: %d, want %d", w.what, w.got, w.want)
			}
		}
		// One passkey added over five successful sign-ins (password, email
		// link, recovery code, support recovery, conditional).
		if d.ConditionalFillRate != 0.3333 || d.EnrollmentRate.PerSignin != 0.2 || d.EnrollmentRate.PerActiveUser != 0.5 {
			t.Errorf("fill rate %v, enrollment per sign-in %v per active member %v; want 0.3333, 0.2, 0.5",
				d.ConditionalFillRate, d.EnrollmentRate.PerSignin, d.EnrollmentRate.PerActiveUser)
		}
		var pw *telemetry.Timing
		for i := range d.TimeToSigninMs {
			if d.TimeToSigninMs[i].Method == "password" {
				pw = &d.TimeToSigninMs[i]
			}
		}
		if pw == nil || pw.Count != 1 || pw.P50 != 2500 || pw.P90 != 2500 {
			t.Errorf("password time to sign in %+v, want one at the 2500 ms bucket", pw)
		}
	})
}

// TestFoldingIsExactUnderConcurrency: writers on two nodes record events
// while both nodes' folders fold at once; every event is counted exactly
// once, and one folder holds the lease at a time.
func TestFoldingIsExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		c := &clock{t: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
		nodes := []*rig{newRig(t, database, c, "node-a"), newRig(t, database, c, "node-b")}
		u := nodes[0].member(t, "ada@example.com")
		const writers, each = 4, 50
		var written atomic.Int64
		stop := make(chan struct{})
		var folders sync.WaitGroup
		for _, n := range nodes {
			n.folder.Batch = 7 // many small batches: many chances to interleave
			folders.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := n.folder.Step(context.Background()); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				n := nodes[w%2]
				for range each {
					err := n.db.InTx(context.Background(), func(ctx context.Context) error {
						return n.audit.Record(ctx, signin(u, account.MethodPassword, account.OutcomeSuccess), account.Client{})
					})
					if err != nil {
						t.Error(err)
						return
					}
					written.Add(1)
				}
			})
		}
		wg.Wait()
		close(stop)
		folders.Wait()
		// What is left goes to whichever node holds the lease.
		c.set(c.now().Add(time.Hour)) // node-a's lease, if it holds it, lapses
		d := nodes[1].figures(t, telemetry.Query{})
		if got := count(d, "password", "success"); got != written.Load() || got != writers*each {
			t.Fatalf("counted %d sign-ins, wrote %d", got, written.Load())
		}
	})
}

// TestTheLeaseKeepsOneFolder: while one node holds the lease, another folds
// nothing; when the lease lapses, the other takes over where it stopped.
func TestTheLeaseKeepsOneFolder(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		c := &clock{t: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
		a, b := newRig(t, database, c, "node-a"), newRig(t, database, c, "node-b")
		u := a.member(t, "ada@example.com")
		a.record(t, signin(u, account.MethodPassword, account.OutcomeSuccess), account.Client{})
		if n := stepUntil(t, a.folder, 1); n != 1 {
			t.Fatalf("a folded %d", n)
		}
		a.record(t, signin(u, account.MethodPassword, account.OutcomeSuccess), account.Client{})
		if n, err := b.folder.Step(t.Context()); n != 0 || err != nil {
			t.Fatalf("b folded %d while a held the lease (%v)", n, err)
		}
		c.set(c.now().Add(a.folder.Lease + time.Second))
		if n := stepUntil(t, b.folder, 1); n != 1 {
			t.Fatalf("b folded %d after the lease lapsed, want the 1 left", n)
		}
		if n, err := a.folder.Step(t.Context()); n != 0 || err != nil {
			t.Fatalf("a folded %d after b took the lease (%v)", n, err)
		}
		if err := b.db.ReleaseTelemetryFold(t.Context(), "node-b"); err != nil {
			t.Fatal(err)
		}
		a.record(t, signin(u, account.MethodPassword, account.OutcomeSuccess), account.Client{})
		if n := stepUntil(t, a.folder, 1); n != 1 {
			t.Fatalf("a folded %d once b released the lease", n)
		}
		if d := a.figures(t, telemetry.Query{}); count(d, "password", "success") != 3 {
			t.Fatalf("counted %d, want 3", count(d, "password", "success"))
		}
	})
}

// TestHoursAndDays: an event at the last millisecond of an hour and one at
// the first of the next land in their own hours; a range counts whole UTC
// hours; a day in another time zone starts at its own midnight.
func TestHoursAndDays(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		midnight := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
		c := &clock{t: midnight.Add(-time.Millisecond)}
		r := newRig(t, database, c, "node-a")
		u := r.member(t, "ada@example.com")
		r.record(t, signin(u, account.MethodPassword, account.OutcomeSuccess), account.Client{}) // 23:59:59.999 on the 4th
		c.set(midnight)
		r.record(t, signin(u, account.MethodEmailCode, account.OutcomeSuccess), account.Client{}) // 00:00 on the 5th
		c.set(midnight.Add(5 * time.Hour))
		r.record(t, signin(u, account.MethodEmailCode, account.OutcomeSuccess), account.Client{}) // 05:00 UTC

		hourly := r.figures(t, telemetry.Query{From: midnight.Add(-time.Hour), To: midnight.Add(time.Hour)})
		if hourly.Series.Step != "hour" || len(hourly.Series.Points) != 2 ||
			hourly.Series.Points[0].Signins["password"] != 1 || hourly.Series.Points[1].Signins["email_code"] != 1 {
			t.Fatalf("hourly series %+v", hourly.Series)
		}
		if n := count(r.figures(t, telemetry.Query{From: midnight, To: midnight.Add(time.Minute)}), "password", "success"); n != 0 {
			t.Errorf("a range from midnight counted %d sign-ins of the hour before", n)
		}
		// Whole UTC days come from the daily counters, the hours at the ends
		// from the hourly ones: every split counts each sign-in once.
		for _, tc := range []struct {
			from, to time.Time
			want     int64
		}{
			{midnight.Add(-25 * time.Hour), midnight.Add(25 * time.Hour), 3}, // two whole days and an hour at each end
			{midnight.Add(-24 * time.Hour), midnight.Add(5 * time.Hour), 2},  // a whole day, then five hours
			{midnight.Add(-time.Hour), midnight.Add(6 * time.Hour), 3},       // no whole day
			{midnight, midnight.Add(48 * time.Hour), 2},                      // whole days only
		} {
			d := r.figures(t, telemetry.Query{From: tc.from, To: tc.to})
			if got := count(d, "password", "success") + count(d, "email_code", "success"); got != tc.want {
				t.Errorf("%v to %v: %d sign-ins, want %d", tc.from, tc.to, got, tc.want)
			}
		}
		// New York is UTC-5: 23:59:59 UTC and 00:00 UTC on the 5th are the
		// evening of the 4th there; 05:00 UTC is midnight of the 5th.
		ny, err := time.LoadLocation("America/New_York")
		if err != nil {
			t.Skip("no time zone data:", err)
		}
		daily := r.figures(t, telemetry.Query{From: midnight.Add(-3 * 24 * time.Hour), To: midnight.Add(24 * time.Hour), TZ: ny})
		byDay := map[string]int64{}
		for _, p := range daily.Series.Points {
			for _, n := range p.Signins {
				byDay[p.Start.In(ny).Format("2006-01-02 15:04")] += n
			}
		}
		if byDay["2026-12-04 00:00"] != 2 || byDay["2026-12-05 00:00"] != 1 {
			t.Errorf("sign-ins by New York day: %v", byDay)
		}
	})
}

// TestPruneDropsOldTelemetryOnly: pruning deletes telemetry older than the
// cut, and never an audit event.
func TestPruneDropsOldTelemetryOnly(t *testing.T) {
	t.Parallel()
	for _, fold := range []bool{false, true} {
		t.Run(fmt.Sprintf("fold_between_%v", fold), func(t *testing.T) {
			t.Parallel()
			prunes(t, fold)
		})
	}
}

func prunes(t *testing.T, fold bool) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		old := time.Date(2025, 10, 1, 12, 0, 0, 0, time.UTC)
		c := &clock{t: old}
		r := newRig(t, database, c, "node-a")
		u := r.member(t, "ada@example.com")
		r.record(t, signin(u, account.MethodPassword, account.OutcomeSuccess), account.Client{})
		if fold {
			r.settle(t) // the member's last day moves in a second fold: the old day's row must not stay behind
		}
		c.set(old.Add(500 * 24 * time.Hour))
		r.record(t, signin(u, account.MethodPassword, account.OutcomeSuccess), account.Client{})
		r.figures(t, telemetry.Query{})
		n, err := r.db.PruneTelemetry(t.Context(), c.now().Add(-400*24*time.Hour))
		if err != nil || n != 8 { // the old event; its hour, day and series counters, each under its cohort and "*"; its active day
			t.Errorf("pruned %d rows (%v), want 8", n, err)
		}
		var events, audit int
		r.db.QueryRow(t.Context(), `SELECT COUNT(*) FROM telemetry_events`).Scan(&events)
		r.db.QueryRow(t.Context(), `SELECT COUNT(*) FROM events WHERE type = 'signin'`).Scan(&audit)
		if events != 1 || audit != 2 {
			t.Errorf("after pruning: %d telemetry events (want 1), %d audit events (want 2)", events, audit)
		}
		d, err := telemetry.Figures(t.Context(), r.db, telemetry.Query{From: old.Add(-time.Hour), To: old.Add(time.Hour)}, telemetry.DefaultPolicy, c.now())
		if err != nil || count(d, "password", "success") != 0 || d.EnrollmentRate.ActiveUsers != 0 {
			t.Errorf("pruned counters still count: %+v (%v)", d.Signins, err)
		}
	})
}

// TestActiveMembersPastAndPresent: a member counts once, in the cohort and
// with the passkey of their last activity in the range — read from the
// members' last activities for a range that reaches now, from the days for
// a range in the past; both ways agree.
func TestActiveMembersPastAndPresent(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		day1 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		c := &clock{t: day1}
		r := newRig(t, database, c, "node-a")
		ada, bob := r.member(t, "ada@example.com"), r.member(t, "bob@example.com")
		r.record(t, signin(ada, account.MethodPassword, account.OutcomeSuccess), account.Client{})
		r.record(t, signin(ada, account.MethodPassword, account.OutcomeSuccess), account.Client{})
		c.set(day1.Add(2 * 24 * time.Hour))
		r.record(t, signin(bob, account.MethodPassword, account.OutcomeSuccess), account.Client{})
		r.record(t, &account.Event{Type: account.EventPasskeyAdded, UserID: ada.ID}, account.Client{})
		c.set(day1.Add(3 * 24 * time.Hour))

		for _, tc := range []struct {
			name            string
			q               telemetry.Query
			active, withKey int64
		}{
			{"now: both, Ada with her passkey", telemetry.Query{}, 2, 1},
			{"the first day: Ada, without one yet", telemetry.Query{From: day1, To: day1.Add(time.Hour)}, 1, 0},
			{"the first two days, in the past: Ada, without one", telemetry.Query{From: day1, To: day1.Add(25 * time.Hour)}, 1, 0},
			{"the third day alone: both", telemetry.Query{From: day1.Add(48 * time.Hour), To: day1.Add(49 * time.Hour)}, 2, 1},
			{"the first three days, in the past: both", telemetry.Query{From: day1, To: day1.Add(50 * time.Hour)}, 2, 1},
			{"a cohort nobody is in", telemetry.Query{Cohort: "internal"}, 0, 0},
		} {
			d := r.figures(t, tc.q)
			if e := d.EnrollmentRate; e.ActiveUsers != tc.active || e.ActiveWithPasskey != tc.withKey {
				t.Errorf("%s: %d active, %d with a passkey; want %d, %d", tc.name, e.ActiveUsers, e.ActiveWithPasskey, tc.active, tc.withKey)
			}
		}
	})
}
