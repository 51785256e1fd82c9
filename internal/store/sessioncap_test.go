package store_test

import (
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/testdb"
)

func TestTrimRotateAndDeviceEpoch(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		ctx := t.Context()

		t.Run("trimming keeps the newest sessions", func(t *testing.T) {
			u, other := createUser(t, db), createUser(t, db)
			var ids []string
			for i := range 5 {
				s := newSession(u, t0.Add(time.Duration(i)*time.Minute))
				create(t, db, s)
				ids = append(ids, s.ID)
			}
			create(t, db, newSession(other, t0))
			if n, err := db.TrimSessions(ctx, u.ID, ids[4], 0); err != nil || n != 0 {
				t.Fatalf("TrimSessions of none = %d, %v", n, err)
			}
			n, err := db.TrimSessions(ctx, u.ID, ids[4], 2)
			if err != nil || n != 2 {
				t.Fatalf("TrimSessions = %d, %v; want 2", n, err)
			}
			left, err := db.ListSessions(ctx, u.ID)
			if err != nil || len(left) != 3 || left[0].ID != ids[4] || left[2].ID != ids[2] {
				t.Errorf("left %v (%v), want the three newest", left, err)
			}
			// The session to keep is never trimmed, even when it is the
			// oldest (a clock that stepped back).
			n, err = db.TrimSessions(ctx, u.ID, ids[2], 1)
			if err != nil || n != 1 {
				t.Fatalf("TrimSessions keeping the oldest = %d, %v; want 1", n, err)
			}
			if left, _ := db.ListSessions(ctx, u.ID); len(left) != 2 || left[0].ID != ids[4] || left[1].ID != ids[2] {
				t.Errorf("left %v, want the newest and the kept one", left)
			}
			if o, _ := db.ListSessions(ctx, other.ID); len(o) != 1 {
				t.Errorf("another member's sessions were trimmed: %d left", len(o))
			}
		})

		t.Run("a rotated session answers to its new token only", func(t *testing.T) {
			u := createUser(t, db)
			s := newSession(u, t0)
			create(t, db, s)
			fresh := randomBytes(32)
			if err := db.RotateSessionToken(ctx, s.ID, fresh); err != nil {
				t.Fatal(err)
			}
			if _, err := db.FindSessionByToken(ctx, s.TokenHash); !account.IsCode(err, account.ENotFound) {
				t.Errorf("the old token hash still finds the session: %v", err)
			}
			if got, err := db.FindSessionByToken(ctx, fresh); err != nil || got.Session.ID != s.ID {
				t.Errorf("the new token hash: %v", err)
			}
			if err := db.RotateSessionToken(ctx, "s-gone", randomBytes(32)); !account.IsCode(err, account.ENotFound) {
				t.Errorf("rotating a missing session: %v, want not_found", err)
			}
		})

		t.Run("the device epoch moves on and is read with the user", func(t *testing.T) {
			u := createUser(t, db)
			for want := 1; want <= 2; want++ {
				got, err := db.BumpDeviceEpoch(ctx, u.ID)
				if err != nil || got != want {
					t.Fatalf("BumpDeviceEpoch = %d, %v; want %d", got, err, want)
				}
			}
			if got, err := db.FindUser(ctx, u.ID); err != nil || got.DeviceEpoch != 2 {
				t.Errorf("FindUser: epoch %d, %v", got.DeviceEpoch, err)
			}
			if _, err := db.BumpDeviceEpoch(ctx, "u-gone"); !account.IsCode(err, account.ENotFound) {
				t.Errorf("a missing user: %v, want not_found", err)
			}
		})
	})
}
