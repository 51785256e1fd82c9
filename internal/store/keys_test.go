package store_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

func TestServerKey(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		other := open(t, database) // a second node on the same database

		t.Run("the same name returns the same secret on every call and node", func(t *testing.T) {
			t.Parallel()
			name := "cookie:" + randomID()
			first, err := db.ServerKey(t.Context(), name, 32)
			if err != nil {
				t.Fatal(err)
			}
			if len(first) != 32 || bytes.Equal(first, make([]byte, 32)) {
				t.Fatalf("ServerKey = %x, want 32 random bytes", first)
			}
			for i, node := range []*store.DB{db, other, db} {
				got, err := node.ServerKey(t.Context(), name, 32)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, first) {
					t.Errorf("call %d returned %x, want %x", i+2, got, first)
				}
			}
		})

		t.Run("a later call asking another size still gets the stored secret", func(t *testing.T) {
			t.Parallel()
			name := "seal:" + randomID()
			first, err := db.ServerKey(t.Context(), name, 16)
			if err != nil {
				t.Fatal(err)
			}
			got, err := other.ServerKey(t.Context(), name, 64)
			if err != nil || !bytes.Equal(got, first) {
				t.Errorf("ServerKey = %x, %v; want %x", got, err, first)
			}
		})

		t.Run("different names get different secrets", func(t *testing.T) {
			t.Parallel()
			a, errA := db.ServerKey(t.Context(), "a:"+randomID(), 32)
			b, errB := db.ServerKey(t.Context(), "b:"+randomID(), 32)
			if errA != nil || errB != nil || bytes.Equal(a, b) {
				t.Errorf("ServerKey = %x, %v and %x, %v; want two different secrets", a, errA, b, errB)
			}
		})

		t.Run("concurrent first calls on two nodes agree", func(t *testing.T) {
			t.Parallel()
			const calls = 16
			name := "race:" + randomID()
			got := make([][]byte, calls)
			var wg sync.WaitGroup
			for i := range calls {
				node := []*store.DB{db, other}[i%2]
				wg.Go(func() {
					k, err := node.ServerKey(t.Context(), name, 32)
					if err != nil {
						t.Errorf("ServerKey: %v", err)
					}
					got[i] = k
				})
			}
			wg.Wait()
			for i, k := range got {
				if !bytes.Equal(k, got[0]) {
					t.Errorf("call %d returned %x, call 0 %x", i, k, got[0])
				}
			}
		})
	})
}
