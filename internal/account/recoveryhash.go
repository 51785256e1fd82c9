package account

import (
	"crypto/hmac"
	"crypto/sha256"

	"github.com/keyshift/keyshift/internal/pepper"
)

// How recovery codes are stored (docs/security.md, T15). A code carries 50 bits: a
// plain SHA-256 of it, as keyshift stored before, falls to one pass over 2^50
// candidates for every member of a leaked database at once. Now a code is
// stored as HMAC-SHA256, under a key derived from the pepper (not in the
// database), of the member's id and the code: without the pepper the hashes
// are useless, and with it each member still costs a search of their own.
// The pepper's id is stored beside each hash, so after a rotation the codes
// made under a previous pepper can be counted until none is left.
//
// Codes stored as plain SHA-256 before this scheme (pepper id "") keep
// working until used or replaced: redemption looks up every form a code can
// be stored in, in one statement.

// RecoveryCodePurpose is the HKDF label of the recovery codes' key (see
// pepper.Key).
const RecoveryCodePurpose = "recovery-codes"

// RecoveryCodeHash is one stored recovery code: its hash and the id of the
// pepper it was made under.
type RecoveryCodeHash struct {
	Hash     []byte
	PepperID string
}

// recoveryCodeHash is HMAC-SHA256 of userID and the canonical code under key.
func recoveryCodeHash(key []byte, userID, code string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// hashRecoveryCodes hashes canonical codes of userID under the current
// pepper.
func (s *Service) hashRecoveryCodes(userID string, codes []string) ([]RecoveryCodeHash, error) {
	if len(s.RecoveryKeys) == 0 {
		return nil, &Error{Code: EInternal, Detail: "no recovery-code key: the server has no pepper"}
	}
	k := s.RecoveryKeys[0]
	out := make([]RecoveryCodeHash, len(codes))
	for i, c := range codes {
		out[i] = RecoveryCodeHash{Hash: recoveryCodeHash(k.Secret, userID, c), PepperID: k.ID}
	}
	return out, nil
}

// recoveryCodeCandidates returns every hash a stored copy of code can have:
// under the current and each previous pepper, and the plain SHA-256 of
// codes made before peppers. An unknown member (userID "") costs the same.
func (s *Service) recoveryCodeCandidates(userID, code string) [][]byte {
	out := make([][]byte, 0, len(s.RecoveryKeys)+1)
	for _, k := range s.RecoveryKeys {
		out = append(out, recoveryCodeHash(k.Secret, userID, code))
	}
	return append(out, HashToken(code))
}

// RecoveryKeysFrom returns the recovery codes' keys under every pepper of
// set, the current one first, for Service.RecoveryKeys.
func RecoveryKeysFrom(set pepper.Set) []pepper.Key { return set.Keys(RecoveryCodePurpose) }
