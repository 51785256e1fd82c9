package importer

import (
	"hash/maphash"
)

// claims remembers which emails, external ids, credential ids and user
// handles rows of the file have claimed, so a second row with one of them is
// refused as a duplicate, in a dry run as in a real one, and so that a
// resumed run knows the rows before its starting point (it reads them again).
//
// Memory stays bounded: each claim is 16 bytes of two independent 64-bit
// hashes (kind-tagged), not the value. A million members with a passkey each
// are about four million claims, some 100 MB at the map's load. Two
// different values collide with probability about n²/2¹²⁹: never, in
// practice.
type claims struct {
	a, b maphash.Seed
	set  map[[2]uint64]struct{}
}

// Kinds of claim.
const (
	claimEmail byte = iota + 1
	claimExternalID
	claimCredential
	claimHandle
)

func newClaims() *claims {
	return &claims{a: maphash.MakeSeed(), b: maphash.MakeSeed(), set: map[[2]uint64]struct{}{}}
}

func (c *claims) key(kind byte, v []byte) [2]uint64 {
	var h maphash.Hash
	h.SetSeed(c.a)
	h.WriteByte(kind)
	h.Write(v)
	x := h.Sum64()
	h.SetSeed(c.b)
	h.WriteByte(kind)
	h.Write(v)
	return [2]uint64{x, h.Sum64()}
}

func (c *claims) has(kind byte, v []byte) bool {
	_, ok := c.set[c.key(kind, v)]
	return ok
}

func (c *claims) add(kind byte, v []byte) { c.set[c.key(kind, v)] = struct{}{} }

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
