package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

func TestFailureCounts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database) // its own database: the sums span every row
		ctx := t.Context()
		minute := t0.Truncate(time.Minute)
		add := func(at time.Time, method, outcome, reason, ip string, n int) {
			t.Helper()
			for range n {
				f := &account.Failure{At: at, Type: account.EventSignin, Method: method, Outcome: outcome, Reason: reason, IP: ip}
				if err := db.CountFailure(ctx, f); err != nil {
					t.Fatal(err)
				}
			}
		}
		add(minute, "email_link", "failure", "unknown_link", "192.0.2.1", 3)
		add(minute.Add(59*time.Second), "email_link", "failure", "unknown_link", "192.0.2.1", 1) // same minute, same row
		add(minute.Add(30*time.Second), "email_link", "failure", "unknown_link", "2001:db8::/64", 2)
		add(minute.Add(time.Minute), "email_code", "failure", "wrong_code", "192.0.2.1", 5)
		add(minute.Add(time.Minute), "email_code", "failure", "code_budget", "192.0.2.1", 1)
		add(minute.Add(2*time.Minute), "passkey", "failure", "unknown_credential", "192.0.2.2", 7)
		if err := db.CountFailure(ctx, &account.Failure{At: minute, Type: "other", Method: "email_link", Outcome: "failure", IP: "x"}); err != nil {
			t.Fatal(err)
		}

		if n := count(t, db, `SELECT COUNT(*) FROM failure_counts`); n != 6 {
			t.Errorf("%d rows, want 6: one per minute, type, method, outcome, reason and IP", n)
		}
		tests := []struct {
			name     string
			from, to time.Time
			want     []store.FailureCount
		}{
			{"sums every failure of the type in the range, by method and outcome", minute, minute.Add(time.Hour), []store.FailureCount{
				{Method: "email_code", Outcome: "failure", Count: 6},
				{Method: "email_link", Outcome: "failure", Count: 6},
				{Method: "passkey", Outcome: "failure", Count: 7},
			}},
			{"includes the minute the range starts in and not the one it ends at", minute.Add(time.Minute), minute.Add(2 * time.Minute), []store.FailureCount{
				{Method: "email_code", Outcome: "failure", Count: 6},
			}},
			{"returns nothing for a range without failures", minute.Add(-time.Hour), minute, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := db.FailureCounts(ctx, account.EventSignin, tt.from, tt.to)
				if err != nil {
					t.Fatal(err)
				}
				same(t, "FailureCounts", got, tt.want)
			})
		}

		t.Run("counts concurrent failures of one row exactly", func(t *testing.T) {
			at := minute.Add(10 * time.Minute)
			var wg sync.WaitGroup
			for range 40 {
				wg.Go(func() {
					if err := db.CountFailure(ctx, &account.Failure{At: at, Type: account.EventSignin, Method: "password", Outcome: "failure", IP: "192.0.2.3"}); err != nil {
						t.Errorf("CountFailure: %v", err)
					}
				})
			}
			wg.Wait()
			got, err := db.FailureCounts(ctx, account.EventSignin, at, at.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			same(t, "40 failures at once", got, []store.FailureCount{{Method: "password", Outcome: "failure", Count: 40}})
		})

		t.Run("deletes the minutes before a cutoff", func(t *testing.T) {
			n, err := db.DeleteOldFailureCounts(ctx, minute.Add(time.Minute))
			if err != nil || n != 3 {
				t.Fatalf("DeleteOldFailureCounts = %d, %v; want the first minute's 3 rows", n, err)
			}
			got, _ := db.FailureCounts(ctx, account.EventSignin, minute, minute.Add(time.Minute))
			if len(got) != 0 {
				t.Errorf("after the delete the first minute still has %v", got)
			}
			if got, _ := db.FailureCounts(ctx, account.EventSignin, minute.Add(time.Minute), minute.Add(2*time.Minute)); fmt.Sprint(got) == "[]" {
				t.Errorf("the delete took the next minute too")
			}
		})
	})
}
