package sqldb

// SetWALBoundForTest lowers the WAL size past which the checkpointer
// starts it over, so a test can show the bound without writing 64 MiB.
func SetWALBoundForTest(bytes int64) (restore func()) {
	old := walBound.Load()
	walBound.Store(bytes)
	return func() { walBound.Store(old) }
}

// CommitGroupsForTest says how many group commits the SQLite writer made
// and how many transactions they held (0, 0 on PostgreSQL).
func CommitGroupsForTest(db *DB) (groups, grouped int64) {
	if db.commit == nil {
		return 0, 0
	}
	return db.commit.groups.Load(), db.commit.grouped.Load()
}
