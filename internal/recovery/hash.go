package recovery

import (
	"crypto/hmac"
	"crypto/sha256"

	"github.com/keyshift/keyshift/internal/account"
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

// CodePurpose is the HKDF label of the recovery codes' key (see
// pepper.Key).
const CodePurpose = "recovery-codes"

// recoveryCodeHash is HMAC-SHA256 of userID and the canonical code under key.
func recoveryCodeHash(key []byte, userID, code string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// hashCodes hashes canonical codes of userID under the current
// pepper.
func (s *Service) hashCodes(userID string, codes []string) ([]account.RecoveryCodeHash, error) {
	if len(s.cfg.Keys) == 0 {
		return nil, &account.Error{Code: account.EInternal, Detail: "no recovery-code key: the server has no pepper"}
	}
	k := s.cfg.Keys[0]
	out := make([]account.RecoveryCodeHash, len(codes))
	for i, c := range codes {
		out[i] = account.RecoveryCodeHash{Hash: recoveryCodeHash(k.Secret, userID, c), PepperID: k.ID}
	}
	return out, nil
}

// candidates returns every hash a stored copy of code can have:
// under the current and each previous pepper, and the plain SHA-256 of
// codes made before peppers. An unknown member (userID "") costs the same.
func (s *Service) candidates(userID, code string) [][]byte {
	out := make([][]byte, 0, len(s.cfg.Keys)+1)
	for _, k := range s.cfg.Keys {
		out = append(out, recoveryCodeHash(k.Secret, userID, code))
	}
	return append(out, account.HashToken(code))
}

// KeysFrom returns the recovery codes' keys under every pepper of set, the
// current one first, for New.
func KeysFrom(set pepper.Set) []pepper.Key { return set.Keys(CodePurpose) }
