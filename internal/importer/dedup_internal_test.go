package importer

import (
	"fmt"
	"testing"
)

func TestClaimsRememberEveryKeyThroughGrowth(t *testing.T) {
	c := newClaims()
	const n = 300_000 // several doublings past the first table
	for i := range n {
		c.add(claimEmail, fmt.Appendf(nil, "m%d@example.com", i))
	}
	for i := range n {
		if !c.has(claimEmail, fmt.Appendf(nil, "m%d@example.com", i)) {
			t.Fatalf("claim %d lost", i)
		}
		if c.has(claimExternalID, fmt.Appendf(nil, "m%d@example.com", i)) {
			t.Fatalf("claim %d found under another kind", i)
		}
	}
	if c.has(claimEmail, []byte("m300000@example.com")) {
		t.Error("a value never claimed is found")
	}
	if c.n != n || len(c.slots) < n*4/3 {
		t.Errorf("%d claims in %d slots", c.n, len(c.slots))
	}
}
