package importer

import (
	"hash/maphash"
)

// claims remembers which emails, external ids, credential ids and user
// handles rows of the file have claimed, so a second row with one of them is
// refused as a duplicate, in a dry run as in a real one, and so that a
// resumed run knows the rows before its starting point (it reads them again).
//
// Memory must stay small for millions of rows, so a claim is kept as a
// 64-bit hash of its kind and value in an open-addressing table of at most
// 3/4 load: 11 to 21 bytes a claim, 32 MB (48 MB while it doubles) for a
// million members with a passkey each (2.4 million claims), where a Go map
// of 16-byte keys took 140 MB. The table is mapped outside the Go heap
// (newSlots). Two values share a hash with probability
// n²/2⁶⁵ — for 2.4 million claims about 1 in 6 million runs — and the cost
// would be one valid row refused as a duplicate, in the reject file to
// import again.
type claims struct {
	seed  maphash.Seed
	slots []uint64 // 0 is empty; a hash of 0 is stored as 1
	n     int
}

// Kinds of claim.
const (
	claimEmail byte = iota + 1
	claimExternalID
	claimCredential
	claimHandle
)

func newClaims() *claims {
	return &claims{seed: maphash.MakeSeed(), slots: newSlots(1 << 16)}
}

// free releases the table; the claims are not used after.
func (c *claims) free() {
	freeSlots(c.slots)
	c.slots = nil
}

func (c *claims) key(kind byte, v []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteByte(kind)
	h.Write(v)
	if k := h.Sum64(); k != 0 {
		return k
	}
	return 1
}

// find returns k's slot, or the empty slot where it would go.
func (c *claims) find(k uint64) int {
	mask := uint64(len(c.slots) - 1)
	for i := k & mask; ; i = (i + 1) & mask {
		if c.slots[i] == k || c.slots[i] == 0 {
			return int(i)
		}
	}
}

func (c *claims) has(kind byte, v []byte) bool {
	k := c.key(kind, v)
	return c.slots[c.find(k)] == k
}

func (c *claims) add(kind byte, v []byte) {
	k := c.key(kind, v)
	i := c.find(k)
	if c.slots[i] == k {
		return
	}
	c.slots[i] = k
	if c.n++; c.n*4 > len(c.slots)*3 {
		old := c.slots
		c.slots = newSlots(2 * len(old))
		for _, k := range old {
			if k != 0 {
				c.slots[c.find(k)] = k
			}
		}
		freeSlots(old)
	}
}

// claim checks every key of m against earlier rows and, when none was
// claimed, claims them all; otherwise it claims nothing and says why.
func (c *claims) claim(m *member) *rowError {
	if c.has(claimEmail, []byte(m.user.EmailKey)) {
		return refuse(ReasonDuplicateEmail, "an earlier line of the file has this email")
	}
	if m.user.ExternalID != "" && c.has(claimExternalID, []byte(m.user.ExternalID)) {
		return refuse(ReasonDuplicateExternalID, "an earlier line of the file has this external_id")
	}
	for i, p := range m.passkeys {
		if c.has(claimCredential, p.CredentialID) {
			return refuse(ReasonDuplicatePasskey, "passkey %d: an earlier line of the file has this credential_id", i+1)
		}
	}
	if m.handleGiven && c.has(claimHandle, m.user.WebAuthnID) {
		return refuse(ReasonDuplicateUserHandle, "an earlier line of the file has passkeys with this user_handle")
	}
	c.add(claimEmail, []byte(m.user.EmailKey))
	if m.user.ExternalID != "" {
		c.add(claimExternalID, []byte(m.user.ExternalID))
	}
	for _, p := range m.passkeys {
		c.add(claimCredential, p.CredentialID)
	}
	if m.handleGiven {
		c.add(claimHandle, m.user.WebAuthnID)
	}
	return nil
}
