package sqldb

import (
	"context"
	"time"
)

// ServerTime is the database server's clock, for `keyshift doctor`'s skew
// check: on PostgreSQL expiry times are compared with the nodes' clocks, so
// they must agree. SQLite runs in this process on this machine's clock, so
// ok is false there.
func (db *DB) ServerTime(ctx context.Context) (t time.Time, ok bool, err error) {
	if db.Dialect() != "postgres" {
		return time.Time{}, false, nil
	}
	err = db.r.QueryRowContext(ctx, "SELECT clock_timestamp()").Scan(&t)
	return t, err == nil, err
}
