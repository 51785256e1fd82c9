package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/store/sqldb"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestTransactionsQueuedTogetherKeepTheirOwnOutcome: SQLite commits the
// write transactions that queue up behind one another in one COMMIT, each
// in a savepoint (groupcommit.go). Whatever the grouping, each InTx must
// behave as if it ran alone: its writes all kept when it returns nil,
// none kept when its fn fails, panics or hits a constraint, and the
// others' writes untouched by its failure. The same test runs on
// PostgreSQL, which does not group, as the reference.
func TestTransactionsQueuedTogetherKeepTheirOwnOutcome(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		db := open(t, database)
		ctx := t.Context()
		table := "group_commit"
		if _, err := db.Exec(ctx, `CREATE TABLE `+table+` (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Exec(context.Background(), `DROP TABLE `+table) })
		insert := func(ctx context.Context, id int) error {
			_, err := db.Exec(ctx, `INSERT INTO `+table+` (id, v) VALUES (?, ?)`, id, id)
			return err
		}
		errFail := errors.New("the member's request was refused")

		// The first transaction holds the writer until every other one
		// is queued behind it, so that they are taken in groups.
		const n = 64
		release := make(chan struct{})
		outcomes := make([]error, n)
		panics := make([]any, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { panics[i] = recover() }()
				outcomes[i] = db.InTx(ctx, func(ctx context.Context) error {
					if i == 0 {
						<-release
					}
					if err := insert(ctx, i); err != nil {
						return err
					}
					// A nested InTx joins this one.
					if err := db.InTx(ctx, func(ctx context.Context) error { return insert(ctx, 1000+i) }); err != nil {
						return err
					}
					switch i % 4 {
					case 1:
						return errFail
					case 2:
						panic(fmt.Sprintf("transaction %d panics", i))
					case 3:
						return insert(ctx, i) // the primary key refuses it
					}
					return nil
				})
			}()
		}
		time.Sleep(100 * time.Millisecond)
		close(release)
		wg.Wait()

		for i := range n {
			var rows int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM `+table+` WHERE id IN (?, ?)`, i, 1000+i).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			switch i % 4 {
			case 0:
				if outcomes[i] != nil || panics[i] != nil || rows != 2 {
					t.Errorf("transaction %d: err %v, panic %v, %d of 2 rows kept", i, outcomes[i], panics[i], rows)
				}
			case 1:
				if !errors.Is(outcomes[i], errFail) || rows != 0 {
					t.Errorf("failing transaction %d: err %v, %d rows kept; want its own error and none", i, outcomes[i], rows)
				}
			case 2:
				if panics[i] != fmt.Sprintf("transaction %d panics", i) || rows != 0 {
					t.Errorf("panicking transaction %d: panic %v, %d rows kept; want its panic in its caller and none", i, panics[i], rows)
				}
			case 3:
				if outcomes[i] == nil || rows != 0 {
					t.Errorf("refused transaction %d: err %v, %d rows kept", i, outcomes[i], rows)
				}
			}
		}
		if groups, grouped := sqldb.CommitGroupsForTest(db); db.Dialect() == "sqlite" && grouped <= groups {
			t.Errorf("%d commits held %d transactions: none was grouped, so the test showed nothing", groups, grouped)
		}
	})
}

// TestATransactionWhoseCallerLeftWhileQueuedDoesNotRun: a request that
// gives up while its transaction waits for SQLite's one writer gets its
// context's error, and nothing of it is written. (PostgreSQL runs the two
// side by side: nothing queues.)
func TestATransactionWhoseCallerLeftWhileQueuedDoesNotRun(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		if !strings.HasPrefix(database, "sqlite:") {
			t.Skip("only SQLite's writer queues transactions")
		}
		db := open(t, database)
		ctx := t.Context()
		table := "group_queue"
		if _, err := db.Exec(ctx, `CREATE TABLE `+table+` (id INTEGER PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Exec(context.Background(), `DROP TABLE `+table) })
		release, holding := make(chan struct{}), make(chan struct{})
		go db.InTx(ctx, func(ctx context.Context) error {
			close(holding)
			<-release
			_, err := db.Exec(ctx, `INSERT INTO `+table+` (id) VALUES (1)`)
			return err
		})
		<-holding
		gone, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		ran := false
		err := db.InTx(gone, func(ctx context.Context) error {
			ran = true
			_, err := db.Exec(ctx, `INSERT INTO `+table+` (id) VALUES (2)`)
			return err
		})
		close(release)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("InTx after its caller left: %v, want the deadline", err)
		}
		var rows int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM `+table+` WHERE id = 2`).Scan(&rows); err != nil || rows != 0 || ran {
			t.Errorf("the abandoned transaction ran (%v) or wrote %d rows (%v)", ran, rows, err)
		}
	})
}
