package importer

import (
	"fmt"
	"testing"
)

func TestClaimsRememberEveryKeyThroughGrowth(t *testing.T) {
	c := newClaims()
	const n = 300_000 // several doublings past the first table
	for i := range n {
		c.add(c.key(claimEmail, fmt.Appendf(nil, "m%d@example.com", i)))
	}
	for i := range n {
		if !c.has(c.key(claimEmail, fmt.Appendf(nil, "m%d@example.com", i))) {
			t.Fatalf("claim %d lost", i)
		}
		if c.has(c.key(claimExternalID, fmt.Appendf(nil, "m%d@example.com", i))) {
			t.Fatalf("claim %d found under another kind", i)
		}
	}
	if c.has(c.key(claimEmail, []byte("m300000@example.com"))) {
		t.Error("a value never claimed is found")
	}
	if c.n != n || len(c.slots) < n*4/3 {
		t.Errorf("%d claims in %d slots", c.n, len(c.slots))
	}
}

func TestTheWindowForgetsBatchesOnlyWhenNoWriterCanHoldThem(t *testing.T) {
	const writers = 2
	w := newWindow(writers)
	row := func(email string) *member {
		m := &member{}
		m.user.EmailKey = email
		return m
	}
	if err := w.claim(row("a@example.com")); err != nil {
		t.Fatal(err)
	}
	if err := w.claim(row("a@example.com")); err == nil || err.reason != ReasonDuplicateEmail {
		t.Fatalf("same batch: %v, want a duplicate", err)
	}
	// The batch of a@ and the writers' batches after it may all be
	// uncommitted: it is remembered through `writers` more batches.
	for i := range writers {
		w.endBatch()
		if err := w.claim(row(fmt.Sprintf("b%d@example.com", i))); err != nil {
			t.Fatal(err)
		}
		if err := w.claim(row("a@example.com")); err == nil {
			t.Fatalf("%d batches later a@ is forgotten", i+1)
		}
	}
	w.endBatch()
	if err := w.claim(row("a@example.com")); err != nil {
		t.Errorf("%d batches later a@ is still held in memory: %v", writers+1, err)
	}
}
