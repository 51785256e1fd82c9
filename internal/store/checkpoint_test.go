package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestSQLiteCheckpointsInTheBackground: the writer never checkpoints
// (wal_autocheckpoint is 0 on it), a goroutine does, and Close stops that
// goroutine before it returns.
func TestSQLiteCheckpointsInTheBackground(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+testdb.SQLitePath(t))
	if err != nil {
		t.Fatal(err)
	}
	var auto int
	if err := db.QueryRowForTest(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Errorf("writer's wal_autocheckpoint = %d, %v; want 0", auto, err)
	}
	for range 20 {
		if _, err := db.SpendCeremony(ctx, randomBytes(16), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	// The goroutine's first round comes within checkpointBusy; wait for it
	// with a deadline far above that, polling, rather than sleeping a guess.
	for deadline := time.Now().Add(20 * time.Second); ; {
		if n, _ := db.CheckpointRounds(); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no background checkpoint within 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, stopped := db.CheckpointRounds(); !stopped {
		t.Error("the checkpoint goroutine still runs after Close")
	}
}
