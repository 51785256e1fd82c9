package sqldb_test

import (
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/store/sqldb"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestTheWALStaysBoundedUnderContinuousWrites: with a writer that never
// pauses and readers beside it, a PASSIVE checkpoint never finds every frame
// copied back at the moment the next write starts, so SQLite never restarts
// the WAL and it grows without end (a 10-million-event seed grew it past
// 33 GB). The checkpointer must bound it: past the bound it starts the WAL
// over (RESTART), briefly holding writers back, and once the writes stop it
// cuts the file (TRUNCATE). The test writes 120 times the bound, watches the
// file's high-water mark, and sees the file cut back once the writes stop
// (without the fix it keeps its full size for good).
func TestTheWALStaysBoundedUnderContinuousWrites(t *testing.T) {
	const bound = 1 << 20
	defer sqldb.SetWALBoundForTest(bound)()
	path := testdb.SQLitePath(t)
	db := open(t, "sqlite:"+path)
	ctx := t.Context()
	if _, err := db.Exec(ctx, `CREATE TABLE filler (id INTEGER PRIMARY KEY, body BLOB NOT NULL)`); err != nil {
		t.Fatal(err)
	}

	var stop atomic.Bool
	var high atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // watches the WAL's size
		defer wg.Done()
		for !stop.Load() {
			if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > high.Load() {
				high.Store(fi.Size())
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	for range 2 { // readers keep snapshots open all the time, as a server's do
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				// A server's reads are lookups by key, not scans: a scan of
				// the whole growing table outlasts the TRUNCATE's wait for
				// readers on a loaded machine (it failed one run in three).
				var n int
				if err := db.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM filler`).Scan(&n); err != nil && ctx.Err() == nil {
					t.Errorf("reader: %v", err)
					return
				}
			}
		}()
	}

	body := make([]byte, 16<<10)
	const total = 120 * bound
	for written := 0; written < total; written += len(body) {
		if _, err := db.Exec(ctx, `INSERT INTO filler (body) VALUES (?)`, body); err != nil {
			t.Fatalf("insert: %v", err)
		}
	}
	stop.Store(true)
	wg.Wait()

	// The bound plus what arrives while a round copies and waits its turn:
	// rounds run every 200 ms, a RESTART that readers kept from finishing
	// is tried again after a second, and this writer is far faster than a
	// server's (30–40 MiB a second here), so on a loaded machine the WAL
	// reaches tens of bounds. Without the restarts it ends past the
	// whole 120 MiB written; with it, well under half.
	if got := high.Load(); got > total/2 {
		t.Errorf("the WAL grew to %d bytes under continuous writes; want at most %d (bound %d)", got, total/2, bound)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() <= bound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("15 s after the writes stopped the WAL still holds %d bytes; want at most %d", fi.Size(), bound)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
