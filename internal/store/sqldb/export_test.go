package sqldb

// SetWALBoundForTest lowers the WAL size past which the checkpointer
// truncates, so a test can show the bound without writing 64 MiB.
func SetWALBoundForTest(bytes int64) (restore func()) {
	old := walBound.Load()
	walBound.Store(bytes)
	return func() { walBound.Store(old) }
}
