package importer

import (
	"hash/maphash"
)

// A row whose email, external id, credential id or user handle repeats one
// of an earlier row of the file is refused as a duplicate. Two things find
// such rows:
//
//   - In a real run, the database. Every one of those keys is a unique key
//     of its table, so the second row cannot go in; the batch falls back to
//     its lookups (importRun.apply), which find the account the first row
//     made, and the account carries the run's id (users.import_id): the row
//     repeats an earlier line (repeats, in classify). Memory stays the same
//     whatever the file's size. Only the rows of the batches a writer may
//     still hold uncommitted are checked in memory (window): their keys are
//     not in the database yet, and on PostgreSQL a second insert of a key
//     another open transaction inserted would wait for it, and with batches
//     committing in file order the two could wait for each other.
//   - In a dry run, which writes nothing, claims: every key of the file, in
//     memory.
//
// Either way a row is checked in the same order (email, external id,
// credential ids, user handle), and the same reason and message answer it.

// seen is what the reader checks each valid row against.
type seen interface {
	// claim checks every key of m against the rows seen and, when none was
	// claimed, claims them all; otherwise it claims nothing and says why.
	claim(m *member) *rowError
	// endBatch says the rows claimed since the last call make a batch.
	endBatch()
	free()
}

// keySet holds keys made by claimer.key.
type keySet interface {
	has(k uint64) bool
	add(k uint64)
}

// claimer claims a row's keys in a keySet.
type claimer struct {
	seed maphash.Seed
	set  keySet
}

func (c *claimer) key(kind byte, v []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteByte(kind)
	h.Write(v)
	if k := h.Sum64(); k != 0 {
		return k
	}
	return 1
}

func (c *claimer) claim(m *member) *rowError {
	has := func(kind byte, v []byte) bool { return c.set.has(c.key(kind, v)) }
	if has(claimEmail, []byte(m.user.EmailKey)) {
		return refuse(ReasonDuplicateEmail, msgDuplicateEmail)
	}
	if m.user.ExternalID != "" && has(claimExternalID, []byte(m.user.ExternalID)) {
		return refuse(ReasonDuplicateExternalID, msgDuplicateExternalID)
	}
	for i, p := range m.passkeys {
		if has(claimCredential, p.CredentialID) {
			return refuse(ReasonDuplicatePasskey, msgDuplicatePasskey, i+1)
		}
	}
	if m.handleGiven && has(claimHandle, m.user.WebAuthnID) {
		return refuse(ReasonDuplicateUserHandle, msgDuplicateUserHandle)
	}
	c.set.add(c.key(claimEmail, []byte(m.user.EmailKey)))
	if m.user.ExternalID != "" {
		c.set.add(c.key(claimExternalID, []byte(m.user.ExternalID)))
	}
	for _, p := range m.passkeys {
		c.set.add(c.key(claimCredential, p.CredentialID))
	}
	if m.handleGiven {
		c.set.add(c.key(claimHandle, m.user.WebAuthnID))
	}
	return nil
}

// The messages of a duplicate, whichever way it was found.
const (
	msgDuplicateEmail      = "an earlier line of the file has this email"
	msgDuplicateExternalID = "an earlier line of the file has this external_id"
	msgDuplicatePasskey    = "passkey %d: an earlier line of the file has this credential_id"
	msgDuplicateUserHandle = "an earlier line of the file has passkeys with this user_handle"
)

// repeats reports whether m repeats a key of an earlier row of run that the
// database holds: mt found an account with the key, and run made it. The
// order is claim's.
func repeats(m *member, mt *Matches, run string) *rowError {
	mine := func(importID string) bool { return importID != "" && importID == run }
	if acc, ok := mt.ByEmailKey[m.user.EmailKey]; ok && mine(acc.ImportID) {
		return refuse(ReasonDuplicateEmail, msgDuplicateEmail)
	}
	if ext := m.user.ExternalID; ext != "" {
		if acc, ok := mt.ByExternalID[ext]; ok && mine(acc.ImportID) {
			return refuse(ReasonDuplicateExternalID, msgDuplicateExternalID)
		}
	}
	for i, p := range m.passkeys {
		if mine(mt.CredentialIDs[string(p.CredentialID)]) {
			return refuse(ReasonDuplicatePasskey, msgDuplicatePasskey, i+1)
		}
	}
	if m.handleGiven && mine(mt.UserHandles[string(m.user.WebAuthnID)]) {
		return refuse(ReasonDuplicateUserHandle, msgDuplicateUserHandle)
	}
	return nil
}

// Kinds of claim.
const (
	claimEmail byte = iota + 1
	claimExternalID
	claimCredential
	claimHandle
)

// window is a real run's seen: the keys of the batch being read and of the
// batches before it that writers may still hold uncommitted. With W writers
// a batch is handed out only once every batch W before it has committed
// (batches commit in file order, and a writer takes the next batch only
// after committing its last), so W batches back are enough; the keys of
// older batches are in the database. A batch of 10,000 rows is about
// 24,000 keys: a few MB in all.
type window struct {
	claimer
	sets []map[uint64]struct{} // sets[0] is the batch being read
}

func newWindow(writers int) *window {
	w := &window{sets: make([]map[uint64]struct{}, writers+1)}
	for i := range w.sets {
		w.sets[i] = map[uint64]struct{}{}
	}
	w.claimer = claimer{seed: maphash.MakeSeed(), set: w}
	return w
}

func (w *window) has(k uint64) bool {
	for _, s := range w.sets {
		if _, ok := s[k]; ok {
			return true
		}
	}
	return false
}

func (w *window) add(k uint64) { w.sets[0][k] = struct{}{} }

// endBatch forgets the oldest batch's keys and starts a new batch.
func (w *window) endBatch() {
	oldest := w.sets[len(w.sets)-1]
	clear(oldest)
	copy(w.sets[1:], w.sets[:len(w.sets)-1])
	w.sets[0] = oldest
}

func (w *window) free() { w.sets = nil }

// claims is a dry run's seen: every key of the file so far.
//
// Memory must stay small for millions of rows, so a claim is kept as a
// 64-bit hash of its kind and value in an open-addressing table of at most
// 3/4 load: 11 to 21 bytes a claim, 32 MB (48 MB while it doubles) for a
// million members with a passkey each (2.4 million claims), where a Go map
// of 16-byte keys took 140 MB. The table is mapped outside the Go heap
// (newSlots). Still, it grows with the file: ten million members are about
// 27 million claims, 768 MB while the table doubles — which is why a real
// run leaves the check to the database. Two values share a hash with
// probability n²/2⁶⁵ — for 2.4 million claims about 1 in 6 million runs —
// and the cost would be one valid row refused as a duplicate, in the reject
// file to import again; the window's hashes take the same chance.
type claims struct {
	claimer
	slots []uint64 // 0 is empty; a hash of 0 is stored as 1
	n     int
}

func newClaims() *claims {
	c := &claims{slots: newSlots(1 << 16)}
	c.claimer = claimer{seed: maphash.MakeSeed(), set: c}
	return c
}

func (c *claims) endBatch() {}

// free releases the table; the claims are not used after.
func (c *claims) free() {
	freeSlots(c.slots)
	c.slots = nil
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

func (c *claims) has(k uint64) bool {
	return c.slots[c.find(k)] == k
}

func (c *claims) add(k uint64) {
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
