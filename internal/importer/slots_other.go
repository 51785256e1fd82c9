//go:build !unix

package importer

// newSlots returns n zeroed claim slots (see slots_unix.go).
func newSlots(n int) []uint64 { return make([]uint64, n) }

func freeSlots([]uint64) {}
