// Package telemetrysql is the SQL of rollout telemetry (telemetry.Store):
// the event log, the fold's lease and cursor, the hourly and daily
// counters, members' last activities, and pruning. store.DB embeds it.
package telemetrysql

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store/sqldb"
	"github.com/keyshift/keyshift/internal/telemetry"
)

// AppendTelemetry implements telemetry.Store. Like store.AppendEvent, it
// reads the ID back only when the event is written at once.
func (db *Telemetry) AppendTelemetry(ctx context.Context, e *telemetry.Event) error {
	const insert = `INSERT INTO telemetry_events (at, kind, method, outcome, code, phase, cohort, user_id, has_passkey,
			client_ms, server_ms, provider, synced, browser, os)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	args := []any{db.Time(e.At), e.Kind, e.Method, e.Outcome, e.Code, e.Phase, e.Cohort, sqldb.NullString(e.UserID), db.Bool(e.HasPasskey),
		e.ClientMs, e.ServerMs, e.Provider, db.Bool(e.Synced), e.Browser, e.OS}
	return db.Append(ctx, &e.ID, insert, args...)
}

// ClaimTelemetryFold implements telemetry.FoldStore: one conditional
// UPDATE, which also locks the row until the transaction ends, so a second
// folder waits and then finds the lease taken.
func (db *Telemetry) ClaimTelemetryFold(ctx context.Context, owner string, now, until time.Time) (telemetry.Cursor, bool, error) {
	var c telemetry.Cursor
	err := db.QueryRowW(ctx, `UPDATE telemetry_fold SET owner = ?, lease_until = ?
		WHERE id = 1 AND (owner = ? OR lease_until < ?) RETURNING cursor_txid, cursor_id`,
		owner, db.Time(until), owner, db.Time(now)).Scan(&c.TxID, &c.ID)
	if err := sqldb.ScanErr(err, "telemetry lease"); err != nil {
		if account.IsCode(err, account.ENotFound) {
			return c, false, nil
		}
		return c, false, err
	}
	return c, true, nil
}

// ReleaseTelemetryFold gives up owner's lease, so another node may fold at
// once (a node that stops).
func (db *Telemetry) ReleaseTelemetryFold(ctx context.Context, owner string) error {
	_, err := db.Exec(ctx, `UPDATE telemetry_fold SET owner = '', lease_until = ? WHERE id = 1 AND owner = ?`, db.Time(time.Unix(0, 0)), owner)
	return err
}

const telemetryColumns = `id, at, kind, method, outcome, code, phase, cohort, COALESCE(user_id, ''), has_passkey,
	client_ms, server_ms, provider, synced, browser, os, txid`

// TelemetryAfter implements telemetry.FoldStore. On SQLite writers take
// turns, so every event after the cursor's id is final. On PostgreSQL an id
// is handed out before its transaction commits, so an event of a lower id
// may still appear; only events of transactions older than every running
// one (pg_snapshot_xmin) are read, in (txid, id) order, and the cursor is
// that pair.
func (db *Telemetry) TelemetryAfter(ctx context.Context, c telemetry.Cursor, limit int) ([]telemetry.Event, telemetry.Cursor, error) {
	q := `SELECT ` + telemetryColumns + ` FROM telemetry_events WHERE id > ? ORDER BY id LIMIT ?`
	args := []any{c.ID, limit}
	if db.Dialect() == "postgres" {
		q = `SELECT ` + telemetryColumns + ` FROM telemetry_events
			WHERE (txid, id) > (?, ?) AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
			ORDER BY txid, id LIMIT ?`
		args = []any{c.TxID, c.ID, limit}
	}
	rows, err := db.QueryW(ctx, q, args...)
	if err != nil {
		return nil, c, fmt.Errorf("telemetry events: %w", err)
	}
	defer rows.Close()
	var out []telemetry.Event
	for rows.Next() {
		var e telemetry.Event
		if err := rows.Scan(&e.ID, sqldb.ScanTime(&e.At), &e.Kind, &e.Method, &e.Outcome, &e.Code, &e.Phase, &e.Cohort, &e.UserID,
			sqldb.ScanBool(&e.HasPasskey), &e.ClientMs, &e.ServerMs, &e.Provider, sqldb.ScanBool(&e.Synced), &e.Browser, &e.OS, &c.TxID); err != nil {
			return nil, c, err
		}
		c.ID = e.ID
		out = append(out, e)
	}
	return out, c, rows.Err()
}

// AddTelemetry implements telemetry.FoldStore: the batch's counters go
// to the hourly and the daily tables and the series — each under its cohort
// and under "*" — and its active days and members to theirs, a few
// multi-row upserts per table. Rows are summed per key first: one
// statement may not touch a row twice on PostgreSQL.
func (db *Telemetry) AddTelemetry(ctx context.Context, r telemetry.Rollup) error {
	tables := map[string]map[string]*countRow{}
	add := func(table string, n int64, key ...any) {
		if tables[table] == nil {
			tables[table] = map[string]*countRow{}
		}
		k := fmt.Sprint(key...)
		if tables[table][k] == nil {
			tables[table][k] = &countRow{key: key}
		}
		tables[table][k].n += n
	}
	for _, c := range r.Counts {
		for _, cohort := range []string{c.Cohort, telemetry.AllCohorts} {
			add("telemetry_counts", c.N, cohort, db.Time(c.Hour), c.Kind, c.Method, c.Outcome, c.Code, c.Phase)
			add("telemetry_counts_daily", c.N, cohort, db.Time(utcDay(c.Hour)), c.Kind, c.Method, c.Outcome, c.Code, c.Phase)
			if c.Kind == telemetry.KindSignin && c.Outcome == account.OutcomeSuccess {
				add("telemetry_series", c.N, cohort, db.Time(c.Hour), c.Method)
			}
		}
	}
	for _, d := range r.Durations {
		for _, cohort := range []string{d.Cohort, telemetry.AllCohorts} {
			add("telemetry_durations", d.N, cohort, db.Time(d.Hour), d.Method, d.Clock, d.Bucket)
			add("telemetry_durations_daily", d.N, cohort, db.Time(utcDay(d.Hour)), d.Method, d.Clock, d.Bucket)
		}
	}
	for _, t := range []struct{ table, key string }{
		{"telemetry_counts", "cohort, hour, kind, method, outcome, code, phase"},
		{"telemetry_counts_daily", "cohort, day, kind, method, outcome, code, phase"},
		{"telemetry_series", "cohort, hour, method"},
		{"telemetry_durations", "cohort, hour, method, clock, bucket"},
		{"telemetry_durations_daily", "cohort, day, method, clock, bucket"},
	} {
		// In the order of their keys: concurrent writers that lock the
		// same rows in different orders deadlock on PostgreSQL (map order
		// is random; two refused sign-ins at once both write the member's
		// cohort and '*').
		keys := slices.Sorted(maps.Keys(tables[t.table]))
		rows := make([][]any, 0, len(keys))
		for _, k := range keys {
			c := tables[t.table][k]
			rows = append(rows, append(c.key[:len(c.key):len(c.key)], c.n))
		}
		if err := db.upsert(ctx, t.table, t.key+", n", "ON CONFLICT ("+t.key+") DO UPDATE SET n = "+t.table+".n + excluded.n", rows); err != nil {
			return err
		}
	}
	return db.addActive(ctx, r.Active)
}

type countRow struct {
	key []any
	n   int64
}

// addActive upserts the active days, then moves the members' last
// activities and the count of last activities by day with them. The later
// activity wins a day's row (the SET expressions all read the row as it
// was); a member's row is read first, in the fold's transaction, so the
// day it leaves loses the member its new day gains.
func (db *Telemetry) addActive(ctx context.Context, active []telemetry.Active) error {
	if len(active) == 0 {
		return nil
	}
	days := make([][]any, 0, len(active))
	latest := map[string]telemetry.Active{}
	for _, a := range active {
		days = append(days, []any{db.Time(a.Day), a.UserID, db.Time(a.At), a.Cohort, db.Bool(a.HasPasskey)})
		if b, ok := latest[a.UserID]; !ok || !a.At.Before(b.At) {
			latest[a.UserID] = a
		}
	}
	later := func(table, col string) string {
		return col + " = CASE WHEN excluded.last_at >= " + table + ".last_at THEN excluded." + col + " ELSE " + table + "." + col + " END"
	}
	if err := db.upsert(ctx, "telemetry_active", "day, user_id, last_at, cohort, has_passkey", "ON CONFLICT (day, user_id) DO UPDATE SET "+
		later("telemetry_active", "cohort")+", "+later("telemetry_active", "has_passkey")+", "+later("telemetry_active", "last_at"), days); err != nil {
		return err
	}
	before, err := db.lastActivities(ctx, latest)
	if err != nil {
		return err
	}
	moves := map[string]*countRow{}
	move := func(a telemetry.Active, n int64) {
		key := []any{db.Time(utcDay(a.At)), a.Cohort, db.Bool(a.HasPasskey)}
		k := fmt.Sprint(utcDay(a.At).Unix(), a.Cohort, a.HasPasskey)
		if moves[k] == nil {
			moves[k] = &countRow{key: key}
		}
		moves[k].n += n
	}
	members := make([][]any, 0, len(latest))
	for id, a := range latest {
		if b, ok := before[id]; ok {
			if a.At.Before(b.At) {
				continue // an older activity folded late: the member's last stays
			}
			move(b, -1)
		}
		move(a, 1)
		members = append(members, []any{id, db.Time(a.At), a.Cohort, db.Bool(a.HasPasskey)})
	}
	if err := db.upsert(ctx, "telemetry_members", "user_id, last_at, cohort, has_passkey",
		"ON CONFLICT (user_id) DO UPDATE SET last_at = excluded.last_at, cohort = excluded.cohort, has_passkey = excluded.has_passkey", members); err != nil {
		return err
	}
	rows := make([][]any, 0, len(moves))
	var emptied [][]any
	for _, m := range moves {
		if m.n != 0 {
			rows = append(rows, append(m.key[:3:3], m.n))
		}
		if m.n < 0 {
			emptied = append(emptied, m.key[:3:3])
		}
	}
	if err := db.upsert(ctx, "telemetry_last_days", "day, cohort, has_passkey, n",
		"ON CONFLICT (day, cohort, has_passkey) DO UPDATE SET n = telemetry_last_days.n + excluded.n", rows); err != nil {
		return err
	}
	// A day every member has moved on from keeps no row: the table then
	// holds the same rows however the events were split between folds.
	for _, k := range emptied {
		if _, err := db.Exec(ctx, `DELETE FROM telemetry_last_days WHERE day = ? AND cohort = ? AND has_passkey = ? AND n = 0`, k...); err != nil {
			return fmt.Errorf("dropping an empty last day: %w", err)
		}
	}
	return nil
}

// lastActivities reads the members' rows of the users in latest.
func (db *Telemetry) lastActivities(ctx context.Context, latest map[string]telemetry.Active) (map[string]telemetry.Active, error) {
	ids := make([]any, 0, len(latest))
	for id := range latest {
		ids = append(ids, id)
	}
	out := map[string]telemetry.Active{}
	for len(ids) > 0 {
		n := 1
		for _, size := range []int{128, 32, 8, 2} {
			if len(ids) >= size {
				n = size
				break
			}
		}
		q := `SELECT user_id, last_at, cohort, has_passkey FROM telemetry_members WHERE user_id IN (` +
			strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + `)`
		rows, err := db.QueryW(ctx, q, ids[:n]...)
		if err != nil {
			return nil, fmt.Errorf("telemetry members: %w", err)
		}
		for rows.Next() {
			var a telemetry.Active
			if err := rows.Scan(&a.UserID, sqldb.ScanTime(&a.At), &a.Cohort, sqldb.ScanBool(&a.HasPasskey)); err != nil {
				rows.Close()
				return nil, err
			}
			out[a.UserID] = a
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		ids = ids[n:]
	}
	return out, nil
}

// upsert inserts rows into table's cols with the conflict clause, many rows
// a statement. Statements come in a few fixed sizes (128, 32, 8, 2, 1
// rows), so the prepared statements kept per text stay few.
func (db *Telemetry) upsert(ctx context.Context, table, cols, conflict string, rows [][]any) error {
	for len(rows) > 0 {
		n := 1
		for _, size := range []int{128, 32, 8, 2} {
			if len(rows) >= size {
				n = size
				break
			}
		}
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + cols + ") VALUES ")
		args := make([]any, 0, n*len(rows[0]))
		for i, row := range rows[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + strings.TrimSuffix(strings.Repeat("?, ", len(row)), ", ") + ")")
			args = append(args, row...)
		}
		b.WriteString(" " + conflict)
		if _, err := db.Exec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		rows = rows[n:]
	}
	return nil
}

// SetTelemetryCursor implements telemetry.FoldStore.
func (db *Telemetry) SetTelemetryCursor(ctx context.Context, c telemetry.Cursor, at time.Time) error {
	_, err := db.Exec(ctx, `UPDATE telemetry_fold SET cursor_txid = ?, cursor_id = ?, folded_at = ? WHERE id = 1`, c.TxID, c.ID, db.Time(at))
	return err
}

// TelemetryBacklog says how many events wait to be folded, and when the
// folder last folded (zero: never): for readiness of the figures and tests.
func (db *Telemetry) TelemetryBacklog(ctx context.Context) (int64, time.Time, error) {
	var n int64
	var at time.Time
	err := db.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM telemetry_events e, telemetry_fold f
			WHERE f.id = 1 AND (e.txid > f.cursor_txid OR (e.txid = f.cursor_txid AND e.id > f.cursor_id))),
		(SELECT folded_at FROM telemetry_fold WHERE id = 1)`).Scan(&n, sqldb.ScanTime(&at))
	return n, at, err
}

// utcDay is the UTC midnight at or before t.
func utcDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// span splits [from, to) (whole hours) into the whole UTC days inside it,
// read from a daily table, and the hours at its two ends, read from the
// hourly one: the conditions on each, and their arguments.
func (db *Telemetry) span(from, to time.Time) (days string, dargs []any, hours string, hargs []any) {
	d0 := utcDay(from)
	if d0.Before(from) {
		d0 = d0.Add(24 * time.Hour)
	}
	d1 := utcDay(to)
	if !d0.Before(d1) { // no whole day inside: every hour from the hourly table
		return `1 = 0`, nil, `hour >= ? AND hour < ?`, []any{db.Time(from), db.Time(to)}
	}
	return `day >= ? AND day < ?`, []any{db.Time(d0), db.Time(d1)},
		`(hour >= ? AND hour < ? OR hour >= ? AND hour < ?)`, []any{db.Time(from), db.Time(d0), db.Time(d1), db.Time(to)}
}

// cohortKey is the rows' cohort for a query's: "*" for every cohort.
func cohortKey(cohort string) string {
	if cohort == "" {
		return telemetry.AllCohorts
	}
	return cohort
}

// TelemetrySums implements telemetry.FigureStore.
func (db *Telemetry) TelemetrySums(ctx context.Context, from, to time.Time, kind, cohort string) ([]telemetry.Count, error) {
	days, dargs, hours, hargs := db.span(from, to)
	filter := ""
	if kind != "" {
		filter = ` AND kind = ?`
	}
	part := func(table, cond string, args []any) (string, []any) {
		a := append([]any{cohortKey(cohort)}, args...)
		if kind != "" {
			a = append(a, kind)
		}
		return `SELECT kind, method, outcome, code, n FROM ` + table + ` WHERE cohort = ? AND ` + cond + filter, a
	}
	dq, da := part("telemetry_counts_daily", days, dargs)
	hq, ha := part("telemetry_counts", hours, hargs)
	rows, err := db.Query(ctx, `SELECT kind, method, outcome, code, SUM(n) FROM (`+dq+` UNION ALL `+hq+`) c
		GROUP BY kind, method, outcome, code`, append(da, ha...)...)
	if err != nil {
		return nil, fmt.Errorf("telemetry counts: %w", err)
	}
	defer rows.Close()
	var out []telemetry.Count
	for rows.Next() {
		c := telemetry.Count{Cohort: cohort}
		if err := rows.Scan(&c.Kind, &c.Method, &c.Outcome, &c.Code, &c.N); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// TelemetryCohorts implements telemetry.FigureStore: successful sign-ins
// and passkeys added in [from, to) by cohort.
func (db *Telemetry) TelemetryCohorts(ctx context.Context, from, to time.Time) ([]telemetry.Count, error) {
	days, dargs, hours, hargs := db.span(from, to)
	which := ` AND cohort <> '*' AND (kind = 'signin' AND outcome = 'success' OR kind = 'passkey_added')`
	rows, err := db.Query(ctx, `SELECT cohort, kind, SUM(n) FROM (
			SELECT cohort, kind, n FROM telemetry_counts_daily WHERE `+days+which+`
			UNION ALL
			SELECT cohort, kind, n FROM telemetry_counts WHERE `+hours+which+`
		) c GROUP BY cohort, kind`, append(dargs, hargs...)...)
	if err != nil {
		return nil, fmt.Errorf("telemetry cohorts: %w", err)
	}
	defer rows.Close()
	var out []telemetry.Count
	for rows.Next() {
		var c telemetry.Count
		if err := rows.Scan(&c.Cohort, &c.Kind, &c.N); err != nil {
			return nil, err
		}
		if c.Kind == telemetry.KindSignin {
			c.Outcome = account.OutcomeSuccess
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// TelemetrySeries implements telemetry.FigureStore.
func (db *Telemetry) TelemetrySeries(ctx context.Context, from, to time.Time, cohort string) ([]telemetry.Count, error) {
	rows, err := db.Query(ctx, `SELECT hour, method, n FROM telemetry_series WHERE cohort = ? AND hour >= ? AND hour < ?`,
		cohortKey(cohort), db.Time(from), db.Time(to))
	if err != nil {
		return nil, fmt.Errorf("telemetry series: %w", err)
	}
	defer rows.Close()
	var out []telemetry.Count
	for rows.Next() {
		c := telemetry.Count{Kind: telemetry.KindSignin, Outcome: account.OutcomeSuccess}
		if err := rows.Scan(sqldb.ScanTime(&c.Hour), &c.Method, &c.N); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// TelemetryDurations implements telemetry.FigureStore.
func (db *Telemetry) TelemetryDurations(ctx context.Context, from, to time.Time, cohort string) ([]telemetry.Duration, error) {
	days, dargs, hours, hargs := db.span(from, to)
	k := cohortKey(cohort)
	rows, err := db.Query(ctx, `SELECT method, clock, bucket, SUM(n) FROM (
			SELECT method, clock, bucket, n FROM telemetry_durations_daily WHERE cohort = ? AND `+days+`
			UNION ALL
			SELECT method, clock, bucket, n FROM telemetry_durations WHERE cohort = ? AND `+hours+`
		) d GROUP BY method, clock, bucket`, append(append(append([]any{k}, dargs...), k), hargs...)...)
	if err != nil {
		return nil, fmt.Errorf("telemetry durations: %w", err)
	}
	defer rows.Close()
	var out []telemetry.Duration
	for rows.Next() {
		d := telemetry.Duration{Cohort: cohort}
		if err := rows.Scan(&d.Method, &d.Clock, &d.Bucket, &d.N); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ActiveMembers implements telemetry.FigureStore. When no member was
// active on or after to, a member active in the days is one whose last
// activity is in them: a sum over the count of last activities by day.
// Otherwise (a range in the past) the day rows are read, each member's
// last one in the range deciding their cohort and passkey.
func (db *Telemetry) ActiveMembers(ctx context.Context, from, to time.Time, cohort string) ([]telemetry.ActiveCount, error) {
	var latest time.Time
	if err := db.QueryRow(ctx, `SELECT MAX(day) FROM telemetry_last_days WHERE n > 0`).Scan(sqldb.ScanTime(&latest)); err != nil {
		return nil, fmt.Errorf("telemetry members: %w", err)
	}
	q := `SELECT cohort, SUM(n), SUM(CASE WHEN has_passkey THEN n ELSE 0 END) FROM telemetry_last_days WHERE day >= ?`
	args := []any{db.Time(from)}
	if !latest.Before(to) {
		q = `SELECT cohort, COUNT(*), SUM(CASE WHEN has_passkey THEN 1 ELSE 0 END) FROM telemetry_active a
			WHERE day >= ? AND day < ? AND day = (SELECT MAX(day) FROM telemetry_active b WHERE b.user_id = a.user_id AND b.day >= ? AND b.day < ?)`
		args = []any{db.Time(from), db.Time(to), db.Time(from), db.Time(to)}
	}
	if cohort != "" {
		q += ` AND cohort = ?`
		args = append(args, cohort)
	}
	rows, err := db.Query(ctx, q+` GROUP BY cohort`, args...)
	if err != nil {
		return nil, fmt.Errorf("telemetry active members: %w", err)
	}
	defer rows.Close()
	var out []telemetry.ActiveCount
	for rows.Next() {
		var a telemetry.ActiveCount
		if err := rows.Scan(&a.Cohort, &a.Members, &a.WithPasskey); err != nil {
			return nil, err
		}
		if a.Members > 0 {
			out = append(out, a)
		}
	}
	return out, rows.Err()
}

// PruneTelemetry deletes telemetry events, counters, active days and
// members' last activities from before the UTC day of before (retention
// is kept to the day, so a day's counters never lose part of it), and
// returns how many rows went. Events go in batches of 10,000, so neither
// database holds a long transaction over the large table; the rest in one
// transaction, so members and the count of their last days agree.
func (db *Telemetry) PruneTelemetry(ctx context.Context, before time.Time) (int64, error) {
	cut := db.Time(utcDay(before))
	var total int64
	for {
		res, err := db.Exec(ctx, `DELETE FROM telemetry_events WHERE id IN (SELECT id FROM telemetry_events WHERE at < ? LIMIT 10000)`, cut)
		if err != nil {
			return total, fmt.Errorf("pruning telemetry events: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < 10000 {
			break
		}
	}
	err := db.InTx(ctx, func(ctx context.Context) error {
		for _, q := range []string{
			`DELETE FROM telemetry_durations WHERE hour < ?`,
			`DELETE FROM telemetry_counts WHERE hour < ?`,
			`DELETE FROM telemetry_durations_daily WHERE day < ?`,
			`DELETE FROM telemetry_counts_daily WHERE day < ?`,
			`DELETE FROM telemetry_series WHERE hour < ?`,
			`DELETE FROM telemetry_active WHERE day < ?`,
			`DELETE FROM telemetry_members WHERE last_at < ?`,
			`DELETE FROM telemetry_last_days WHERE day < ?`,
		} {
			res, err := db.Exec(ctx, q, cut)
			if err != nil {
				return fmt.Errorf("pruning telemetry: %w", err)
			}
			n, _ := res.RowsAffected()
			total += n
		}
		return nil
	})
	return total, err
}

// AppendTelemetryBatch adds events in multi-row INSERTs (benchmarks seed
// millions with it); ids are not set.
func (db *Telemetry) AppendTelemetryBatch(ctx context.Context, evs []telemetry.Event) error {
	const perInsert = 500 // 15 values each: within both databases' parameter limits
	for len(evs) > 0 {
		n := min(len(evs), perInsert)
		var b strings.Builder
		b.WriteString(`INSERT INTO telemetry_events (at, kind, method, outcome, code, phase, cohort, user_id, has_passkey,
			client_ms, server_ms, provider, synced, browser, os) VALUES `)
		args := make([]any, 0, n*15)
		for i, e := range evs[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, db.Time(e.At), e.Kind, e.Method, e.Outcome, e.Code, e.Phase, e.Cohort, sqldb.NullString(e.UserID),
				db.Bool(e.HasPasskey), e.ClientMs, e.ServerMs, e.Provider, db.Bool(e.Synced), e.Browser, e.OS)
		}
		if _, err := db.Exec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("seeding telemetry: %w", err)
		}
		evs = evs[n:]
	}
	return nil
}

// Telemetry serves telemetry.Store over the shared connections.
type Telemetry struct {
	*sqldb.DB
}
