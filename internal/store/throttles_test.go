package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/throttle"
)

// forget is how far back forgetBefore sits from now in these tests.
const forget = time.Hour

// count1 is a rule that always allows: it only counts, forgetting after
// forget (what FailThrottle did before attempts were reserved).
func count1(key string, now time.Time) throttle.Rule {
	return throttle.Rule{Key: key, Free: 1 << 30, ForgetBefore: now.Add(-forget), Rest: now}
}

// hit counts one attempt on key at now that no rule refuses, and returns
// the new count.
func hit(t *testing.T, db *store.DB, key string, now time.Time) int {
	t.Helper()
	counts, ok, err := db.ReserveThrottles(t.Context(), now, []throttle.Rule{count1(key, now)})
	if err != nil || !ok {
		t.Fatalf("ReserveThrottles(%s) = %v, %v, %v", key, counts, ok, err)
	}
	return counts[0]
}

func TestReserveThrottlesCounts(t *testing.T) {
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
			{"a first attempt counts one", []step{{0, 1}}},
			{"each attempt adds one", []step{{0, 1}, {time.Second, 2}, {2 * time.Second, 3}, {3 * time.Second, 4}}},
			{"an attempt after the forget window starts over at one", []step{{0, 1}, {time.Second, 2}, {forget + time.Second + time.Millisecond, 1}, {forget + 2*time.Second, 2}}},
			{"an attempt exactly at the end of the forget window starts over", []step{{0, 1}, {forget, 1}}},
			{"an attempt just inside the forget window counts on", []step{{0, 1}, {forget - time.Millisecond, 2}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				key := "pw-account:" + randomID()
				for i, s := range tt.steps {
					if got := hit(t, db, key, t0.Add(s.at)); got != s.want {
						t.Errorf("step %d: count %d, want %d", i+1, got, s.want)
					}
				}
				states, err := db.FindThrottles(t.Context(), []string{key})
				if err != nil {
					t.Fatal(err)
				}
				last := tt.steps[len(tt.steps)-1]
				same(t, "FindThrottles", states, []throttle.State{{Key: key, Failures: last.want, LastFailureAt: t0.Add(last.at)}})
			})
		}
	})
}

// TestReserveThrottlesDecidesAsTheRule checks the statement against
// throttle.Rule.Allows, its definition, for keys in many states: before and
// after the free attempts, at and around every step of the back-off, and
// around the forget window. A refusal must leave the key as it was.
func TestReserveThrottlesDecidesAsTheRule(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		p := throttle.Policy{Name: "x", Free: 3, Base: time.Second, Max: 10 * time.Second, Forget: time.Hour}
		var sinces []time.Duration
		for _, d := range []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, time.Hour} {
			sinces = append(sinces, d-time.Millisecond, d, d+time.Millisecond)
		}
		for f := 1; f <= p.Free+5; f++ {
			key := fmt.Sprintf("x:%s:%d", randomID(), f)
			for range f {
				hit(t, db, key, t0)
			}
			for _, since := range sinces {
				if since < 0 {
					continue
				}
				now := t0.Add(since)
				before := throttle.State{Key: key, Failures: f, LastFailureAt: t0}
				rule := p.Rule(key, now)
				want, forgotten := rule.Allows(before)
				// Decided inside a transaction that is rolled back, so every
				// case starts from the same state.
				err := db.InTx(t.Context(), func(ctx context.Context) error {
					counts, ok, err := db.ReserveThrottles(ctx, now, []throttle.Rule{rule})
					if err != nil {
						return err
					}
					if ok != want {
						t.Errorf("%d attempts, last %v ago: allowed %v, the rule says %v", f, since, ok, want)
					}
					wantCount := f + 1
					if forgotten {
						wantCount = 1
					}
					if ok && counts[0] != wantCount {
						t.Errorf("%d attempts, last %v ago: count %d, want %d", f, since, counts[0], wantCount)
					}
					states, err := db.FindThrottles(ctx, []string{key})
					if err != nil {
						return err
					}
					if !ok {
						same(t, fmt.Sprintf("%d attempts, last %v ago, after a refusal", f, since), states, []throttle.State{before})
					}
					return errRollback
				})
				if !errors.Is(err, errRollback) {
					t.Fatal(err)
				}
			}
		}
	})
}

var errRollback = errors.New("roll back")

func TestReserveThrottlesUnderConcurrency(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		p := throttle.Policy{Name: "pw-account", Free: 5, Base: time.Hour, Max: time.Hour, Forget: 24 * time.Hour}
		limiter := &throttle.Limiter{Store: db, Now: func() time.Time { return t0 }}

		t.Run("fifty concurrent attempts on a key with five free let five through", func(t *testing.T) {
			t.Parallel()
			check := throttle.Check{Policy: p, Subject: randomID()}
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				allowed []int
			)
			for range 50 {
				wg.Go(func() {
					r, err := limiter.Reserve(t.Context(), check)
					if err != nil {
						t.Errorf("Reserve: %v", err)
						return
					}
					if r.Allowed {
						mu.Lock()
						allowed = append(allowed, r.Counts[0])
						mu.Unlock()
					} else if r.Wait != time.Hour {
						t.Errorf("a refusal waits %v, want the policy's hour", r.Wait)
					}
				})
			}
			wg.Wait()
			slices.Sort(allowed)
			if !slices.Equal(allowed, []int{1, 2, 3, 4, 5}) {
				t.Errorf("allowed attempts saw counts %v, want 1…5 once each", allowed)
			}
		})

		t.Run("attempts on two shared keys taken in opposite orders all finish", func(t *testing.T) {
			t.Parallel()
			a := throttle.Check{Policy: p, Subject: "a" + randomID()}
			b := throttle.Check{Policy: p, Subject: "b" + randomID()}
			var wg sync.WaitGroup
			var mu sync.Mutex
			n := 0
			for i := range 40 {
				checks := []throttle.Check{a, b}
				if i%2 == 1 {
					checks = []throttle.Check{b, a}
				}
				wg.Go(func() {
					r, err := limiter.Reserve(t.Context(), checks...)
					if err != nil {
						t.Errorf("Reserve: %v", err)
					}
					if r.Allowed {
						mu.Lock()
						n++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if n != p.Free {
				t.Errorf("%d attempts allowed, want %d", n, p.Free)
			}
		})
	})
}

func TestReserveThrottlesIsAllOrNone(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := t.Context()
		open1, shut := "open:"+randomID(), "shut:"+randomID()
		hit(t, db, shut, t0)
		refusing := throttle.Rule{Key: shut, Free: 1, ForgetBefore: t0.Add(-forget), Rest: t0.Add(-time.Minute)}
		now := t0.Add(time.Second)

		for _, inTx := range []bool{false, true} {
			name := map[bool]string{false: "on its own", true: "inside a transaction"}[inTx]
			t.Run("a refusing key writes nothing on the others, "+name, func(t *testing.T) {
				reserve := func(ctx context.Context) error {
					counts, ok, err := db.ReserveThrottles(ctx, now, []throttle.Rule{count1(open1, now), refusing})
					if err != nil || ok || counts != nil {
						t.Errorf("ReserveThrottles = %v, %v, %v; want refused", counts, ok, err)
					}
					return err
				}
				var err error
				if inTx {
					marker := createUser(t, db)
					err = db.InTx(ctx, func(ctx context.Context) error {
						if err := reserve(ctx); err != nil {
							return err
						}
						// The transaction goes on after the refusal and commits.
						return db.DeleteThrottle(ctx, shut+"-other:"+marker.ID)
					})
				} else {
					err = reserve(ctx)
				}
				if err != nil {
					t.Fatal(err)
				}
				states, err := db.FindThrottles(ctx, []string{open1, shut})
				if err != nil {
					t.Fatal(err)
				}
				same(t, "after the refusal", states, []throttle.State{{Key: shut, Failures: 1, LastFailureAt: t0}})
			})
		}

		t.Run("a reservation inside a transaction rolls back with it", func(t *testing.T) {
			key := "rb:" + randomID()
			err := db.InTx(ctx, func(ctx context.Context) error {
				if _, ok, err := db.ReserveThrottles(ctx, now, []throttle.Rule{count1(key, now), count1(key+"2", now)}); err != nil || !ok {
					t.Fatalf("ReserveThrottles: %v %v", ok, err)
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Fatal(err)
			}
			if states, _ := db.FindThrottles(ctx, []string{key, key + "2"}); len(states) != 0 {
				t.Errorf("rolled back, yet stored %+v", states)
			}
		})

		t.Run("counts come back in the order of the rules", func(t *testing.T) {
			z, a := "z:"+randomID(), "a:"+randomID()
			hit(t, db, z, t0)
			hit(t, db, z, t0)
			counts, ok, err := db.ReserveThrottles(ctx, now, []throttle.Rule{count1(z, now), count1(a, now)})
			if err != nil || !ok || !slices.Equal(counts, []int{3, 1}) {
				t.Errorf("ReserveThrottles = %v, %v, %v; want [3 1]", counts, ok, err)
			}
		})
	})
}

func TestRefundThrottle(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := t.Context()
		key := "pw-ip:" + randomID()
		hit(t, db, key, t0)
		hit(t, db, key, t0.Add(time.Second))
		if err := db.RefundThrottle(ctx, key); err != nil {
			t.Fatal(err)
		}
		states, _ := db.FindThrottles(ctx, []string{key})
		same(t, "after one refund", states, []throttle.State{{Key: key, Failures: 1, LastFailureAt: t0.Add(time.Second)}})
		for range 3 {
			if err := db.RefundThrottle(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		states, _ = db.FindThrottles(ctx, []string{key})
		same(t, "after more refunds than attempts", states, []throttle.State{{Key: key, Failures: 0, LastFailureAt: t0.Add(time.Second)}})
		if err := db.RefundThrottle(ctx, "missing:"+randomID()); err != nil {
			t.Errorf("refunding a key that does not exist: %v", err)
		}
	})
}

func TestFindThrottles(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		prefix := randomID()
		a, b, c := prefix+":a", prefix+":b'; DROP TABLE throttles; --", prefix+":c🔑"
		for i, k := range []string{a, b, b, c, c, c} {
			hit(t, db, k, t0.Add(time.Duration(i)*time.Second))
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
			hit(t, db, k, t0)
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
			if n := hit(t, db, gone, t0); n != 1 {
				t.Errorf("count %d; want 1", n)
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
			hit(t, db, tt.name, tt.last)
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
