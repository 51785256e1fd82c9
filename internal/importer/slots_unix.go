//go:build unix

package importer

import (
	"syscall"
	"unsafe"
)

// newSlots returns n zeroed claim slots from an anonymous mapping, outside
// the Go heap. The garbage collector sizes the heap at twice what is live
// in it, and the claims — pointer-free, long-lived, 32 MB a million rows —
// were over half of what was: in the heap they cost the import twice their
// size in peak memory; mapped, once. Where the mapping fails the slots come
// from the heap.
func newSlots(n int) []uint64 {
	b, err := syscall.Mmap(-1, 0, n*8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return make([]uint64, n)
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), n)
}

// freeSlots returns slots from newSlots; those from the heap are left to the
// collector.
func freeSlots(s []uint64) {
	if len(s) == 0 {
		return
	}
	// Munmap refuses memory it did not map (EINVAL): heap slots are safe.
	syscall.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*8))
}
