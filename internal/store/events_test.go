package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

func TestAppendEvent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)

		t.Run("assigns increasing ids", func(t *testing.T) {
			var last int64
			for i := range 5 {
				e := &account.Event{At: t0, Type: "tick"}
				create(t, db, e)
				if e.ID <= last {
					t.Fatalf("event %d got id %d after %d", i, e.ID, last)
				}
				last = e.ID
			}
		})

		tests := []struct {
			name string
			edit func(e *account.Event)
		}{
			{"an event with every field round-trips", func(e *account.Event) {}},
			{"an event without data reads back with empty data", func(e *account.Event) { e.Data = nil }},
			{"an event without user or session round-trips", func(e *account.Event) { e.UserID, e.SessionID = "", "" }},
			{"nested data round-trips as JSON", func(e *account.Event) {
				e.Data = map[string]any{
					"string": `'; DROP TABLE events; -- "quoted" \ 🔑`,
					"number": 1.5,
					"int":    float64(1 << 40),
					"bool":   true,
					"null":   nil,
					"list":   []any{"a", 2.0, false},
					"map":    map[string]any{"deeper": map[string]any{"k": "v"}},
					"":       "empty key",
				}
			}},
		}
		for _, h := range hostile {
			tests = append(tests, struct {
				name string
				edit func(e *account.Event)
			}{"stores " + h.name + " verbatim in every text field", func(e *account.Event) {
				e.Type, e.UserID, e.SessionID, e.Method, e.Outcome, e.IP, e.UserAgent = h.text, h.text, h.text, h.text, h.text, h.text, h.text
				e.Data = map[string]any{h.text: h.text}
			}})
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := &account.Event{
					At: t0, Type: account.EventSignin, UserID: "u-" + t.Name(), SessionID: "s-1",
					Method: "password", Outcome: account.OutcomeSuccess, IP: "198.51.100.4", UserAgent: "curl/8",
					Data: map[string]any{"reason": "ok"},
				}
				tt.edit(e)
				e.UserID += "/" + randomID() // so the filter below finds this event only
				create(t, db, e)
				got, err := db.FindEvents(t.Context(), store.EventFilter{UserID: e.UserID})
				if err != nil {
					t.Fatal(err)
				}
				want := *e
				if want.Data == nil {
					want.Data = map[string]any{}
				}
				same(t, "FindEvents", got, []account.Event{want})
			})
		}
	})
}

func TestFindEvents(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database) // its own database: filters span every event
		// Six events, one a minute: ada and bob alternate, signin twice then
		// signout.
		var all []account.Event
		for i, ty := range []string{"signin", "signin", "signout", "signin", "signin", "signout"} {
			e := account.Event{At: t0.Add(time.Duration(i) * time.Minute), Type: ty, UserID: []string{"ada", "bob"}[i%2], Data: map[string]any{"i": float64(i)}}
			create(t, db, &e)
			all = append(all, e)
		}
		pick := func(is ...int) []account.Event {
			var out []account.Event
			for _, i := range is {
				out = append(out, all[i])
			}
			return out
		}
		tests := []struct {
			name   string
			filter store.EventFilter
			want   []account.Event
		}{
			{"no filter returns every event, oldest first", store.EventFilter{}, all},
			{"a user filter returns that user's events", store.EventFilter{UserID: "ada"}, pick(0, 2, 4)},
			{"a type filter returns events of that type", store.EventFilter{Type: "signout"}, pick(2, 5)},
			{"a since filter includes its own instant", store.EventFilter{Since: t0.Add(3 * time.Minute)}, pick(3, 4, 5)},
			{"a since filter between events starts at the next", store.EventFilter{Since: t0.Add(3*time.Minute + time.Millisecond)}, pick(4, 5)},
			{"filters combine", store.EventFilter{UserID: "bob", Type: "signin", Since: t0.Add(2 * time.Minute)}, pick(3)},
			{"a limit returns the oldest ones", store.EventFilter{Limit: 2}, pick(0, 1)},
			{"a limit applies after the filters", store.EventFilter{UserID: "bob", Limit: 2}, pick(1, 3)},
			{"a filter matching nothing returns nothing", store.EventFilter{UserID: "ada", Type: "nope"}, nil},
			{"a user filter with SQL in it matches nothing", store.EventFilter{UserID: `ada' OR '1'='1`}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				got, err := db.FindEvents(t.Context(), tt.filter)
				if err != nil {
					t.Fatal(err)
				}
				same(t, "FindEvents", got, tt.want)
			})
		}
	})
}

func TestFindEventsReturnsAtMostAHundredByDefault(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		err := db.InTx(t.Context(), func(ctx context.Context) error {
			for range 101 {
				if err := db.AppendEvent(ctx, &account.Event{At: t0, Type: "tick"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.FindEvents(t.Context(), store.EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 100 {
			t.Errorf("FindEvents returned %d events, want 100", len(got))
		}
	})
}

func TestEventsAreAppendOnly(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		tests := []struct {
			name string
			sql  string
			args bool // whether the statement takes the event's id
		}{
			{"refuses to update an event", "UPDATE events SET outcome = 'forged' WHERE id = ?", true},
			{"refuses to update every event", "UPDATE events SET type = 'forged'", false},
			{"refuses to delete an event", "DELETE FROM events WHERE id = ?", true},
			{"refuses to delete every event", "DELETE FROM events", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := &account.Event{At: t0, Type: account.EventSignin, UserID: randomID(), Outcome: account.OutcomeFailure}
				create(t, db, e)
				var args []any
				if tt.args {
					args = append(args, e.ID)
				}
				err := db.ExecForTest(t.Context(), tt.sql, args...)
				if err == nil || !strings.Contains(err.Error(), "append-only") {
					t.Errorf("%s: err = %v, want it refused as append-only", tt.sql, err)
				}
				got, err := db.FindEvents(t.Context(), store.EventFilter{UserID: e.UserID})
				if err != nil {
					t.Fatal(err)
				}
				e.Data = map[string]any{}
				same(t, "the event afterwards", got, []account.Event{*e})
			})
		}
	})
}
