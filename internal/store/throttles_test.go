package store_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/throttle"
)

// forget is how far back forgetBefore sits from now in these tests.
const forget = time.Hour

func TestFailThrottle(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)

		type step struct {
			at   time.Duration // after t0
			want int
		}
		tests := []struct {
			name  string
			steps []step
		}{
			{"a first failure counts one", []step{{0, 1}}},
			{"each failure adds one", []step{{0, 1}, {time.Second, 2}, {2 * time.Second, 3}, {3 * time.Second, 4}}},
			{"a failure after the forget window starts over at one", []step{{0, 1}, {time.Second, 2}, {forget + time.Second + time.Millisecond, 1}, {forget + 2*time.Second, 2}}},
			{"a failure exactly at the end of the forget window still counts on", []step{{0, 1}, {forget, 2}}},
			{"a failure just inside the forget window counts on", []step{{0, 1}, {forget - time.Millisecond, 2}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				key := "pw-account:" + randomID()
				for i, s := range tt.steps {
					now := t0.Add(s.at)
					got, err := db.FailThrottle(t.Context(), key, now, now.Add(-forget))
					if err != nil {
						t.Fatal(err)
					}
					want := throttle.State{Key: key, Failures: s.want, LastFailureAt: now}
					same(t, fmt.Sprintf("FailThrottle, step %d", i+1), got, want)
				}
				states, err := db.FindThrottles(t.Context(), []string{key})
				if err != nil {
					t.Fatal(err)
				}
				last := tt.steps[len(tt.steps)-1]
				same(t, "FindThrottles", states, []throttle.State{{Key: key, Failures: last.want, LastFailureAt: t0.Add(last.at)}})
			})
		}

		t.Run("fifty concurrent failures on one key count fifty", func(t *testing.T) {
			t.Parallel()
			const n = 50
			key := "pw-ip:" + randomID()
			counts := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					s, err := db.FailThrottle(t.Context(), key, t0, t0.Add(-forget))
					if err != nil {
						t.Errorf("FailThrottle: %v", err)
					}
					counts[i] = s.Failures
				})
			}
			wg.Wait()
			states, err := db.FindThrottles(t.Context(), []string{key})
			if err != nil {
				t.Fatal(err)
			}
			if len(states) != 1 || states[0].Failures != n {
				t.Errorf("FindThrottles = %+v, want %d failures", states, n)
			}
			// Each upsert saw its own count: 1…50, each once.
			slices.Sort(counts)
			for i, c := range counts {
				if c != i+1 {
					t.Errorf("the failures returned, sorted, are %v; want 1…%d", counts, n)
					break
				}
			}
		})
	})
}

func TestFindThrottles(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		prefix := randomID()
		a, b, c := prefix+":a", prefix+":b'; DROP TABLE throttles; --", prefix+":c🔑"
		for i, k := range []string{a, b, b, c, c, c} {
			if _, err := db.FailThrottle(t.Context(), k, t0.Add(time.Duration(i)*time.Second), t0.Add(-forget)); err != nil {
				t.Fatal(err)
			}
		}
		sa := throttle.State{Key: a, Failures: 1, LastFailureAt: t0}
		sb := throttle.State{Key: b, Failures: 2, LastFailureAt: t0.Add(2 * time.Second)}
		sc := throttle.State{Key: c, Failures: 3, LastFailureAt: t0.Add(5 * time.Second)}
		tests := []struct {
			name string
			keys []string
			want []throttle.State
		}{
			{"returns the one key asked for", []string{b}, []throttle.State{sb}},
			{"returns several keys", []string{a, b, c}, []throttle.State{sa, sb, sc}},
			{"returns only the keys that exist", []string{prefix + ":missing", c, prefix + ":other"}, []throttle.State{sc}},
			{"returns nothing when no key exists", []string{prefix + ":missing"}, nil},
			{"returns nothing for no keys", nil, nil},
			{"returns a key asked for twice once", []string{a, a}, []throttle.State{sa}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				got, err := db.FindThrottles(t.Context(), tt.keys)
				if err != nil {
					t.Fatal(err)
				}
				slices.SortFunc(got, func(x, y throttle.State) int { return x.Failures - y.Failures })
				same(t, "FindThrottles", got, tt.want)
			})
		}
	})
}

func TestDeleteThrottle(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		gone, kept := "pw-account:"+randomID(), "pw-account:"+randomID()
		for _, k := range []string{gone, gone, kept} {
			if _, err := db.FailThrottle(t.Context(), k, t0, t0.Add(-forget)); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.DeleteThrottle(t.Context(), gone); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindThrottles(t.Context(), []string{gone, kept})
		if err != nil {
			t.Fatal(err)
		}
		same(t, "after DeleteThrottle", got, []throttle.State{{Key: kept, Failures: 1, LastFailureAt: t0}})

		t.Run("deleting a key that does not exist is fine", func(t *testing.T) {
			if err := db.DeleteThrottle(t.Context(), gone); err != nil {
				t.Errorf("DeleteThrottle: %v", err)
			}
		})
		t.Run("a deleted key starts over at one", func(t *testing.T) {
			s, err := db.FailThrottle(t.Context(), gone, t0, t0.Add(-forget))
			if err != nil || s.Failures != 1 {
				t.Errorf("FailThrottle = %+v, %v; want 1 failure", s, err)
			}
		})
	})
}

func TestDeleteStaleThrottles(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database) // its own database: the delete spans every key
		cutoff := t0
		tests := []struct {
			name     string
			last     time.Time
			wantGone bool
		}{
			{"deletes a key last failed long before the cutoff", cutoff.Add(-24 * time.Hour), true},
			{"deletes a key last failed a millisecond before the cutoff", cutoff.Add(-time.Millisecond), true},
			{"keeps a key last failed exactly at the cutoff", cutoff, false},
			{"keeps a key last failed after the cutoff", cutoff.Add(time.Minute), false},
		}
		wantN := 0
		for _, tt := range tests {
			if _, err := db.FailThrottle(t.Context(), tt.name, tt.last, tt.last.Add(-forget)); err != nil {
				t.Fatal(err)
			}
			if tt.wantGone {
				wantN++
			}
		}
		n, err := db.DeleteStaleThrottles(t.Context(), cutoff)
		if err != nil || n != wantN {
			t.Fatalf("DeleteStaleThrottles = %d, %v; want %d", n, err, wantN)
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := db.FindThrottles(t.Context(), []string{tt.name})
				if err != nil {
					t.Fatal(err)
				}
				if gone := len(got) == 0; gone != tt.wantGone {
					t.Errorf("gone = %v, want %v", gone, tt.wantGone)
				}
			})
		}
	})
}
