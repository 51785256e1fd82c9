// Package link is the one single-use hashed link that every mailed flow
// uses — email sign-in, the sign-up's confirmation, an email change's
// confirm and revert links. A link's token carries 256 random bits and
// travels once, in the mail; only its SHA-256 is stored, beside the flow's
// own data and an expiry. Redeeming it deletes the row and returns it in
// one statement (DELETE … RETURNING), so of any number of requests racing
// with one token, on any node, exactly one gets the row.
//
// The flows differ only in what they store with the link (Store's T) and
// in whose lock they take before the take (Take's lock): that is where
// each flow keeps its own rules.
package link

import (
	"context"
	"errors"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// Tokens makes the bearer secrets a link carries (account.NewToken's
// strength: every one-time token keyshift makes comes from one place).
type Tokens interface {
	NewToken() string
}

// New returns a fresh token, to put into the mail's URL, and the hash to
// store in its place.
func New(tokens Tokens) (token string, hash []byte) {
	token = tokens.NewToken()
	return token, account.HashToken(token)
}

// Hash is how a token from a request finds its stored link.
func Hash(token string) []byte { return account.HashToken(token) }

// Store finds and takes the links of one kind, each stored with its flow's
// data T. Both methods join the transaction in ctx.
type Store[T any] interface {
	// FindLink returns the link whose token hashes to hash and that expires
	// after now, leaving it in place; ENotFound when there is none.
	FindLink(ctx context.Context, hash []byte, now time.Time) (*T, error)
	// TakeLink deletes and returns the link whose token hashes to hash and
	// that expires after now, in one statement, so of concurrent takes
	// exactly one gets it; ENotFound when there is none.
	TakeLink(ctx context.Context, hash []byte, now time.Time) (*T, error)
}

// ErrUnknown is the answer for a token that names no live link: unknown,
// used (maybe a moment ago, by a racing request), expired, or no token at
// all. Callers turn it into their own EInvalidCode, which never says which.
var ErrUnknown = errors.New("unknown, used or expired link")

// Take uses token's link once, in the transaction in ctx: it reads the
// link, calls lock with it, then takes it. lock takes the lock of the
// account the link acts on (member.Service.Lock): every transaction
// that changes an account takes its lock before its rows, so two links of
// one account (a revert and a confirmation) act one after the other, never
// interleaved, and the one that waited finds its link gone if the other
// voided it. A token that is not one NewToken could have made costs no
// query. ErrUnknown when there is no such link, before or after the lock;
// lock's own errors pass unchanged.
func Take[T any](ctx context.Context, links Store[T], token string, now time.Time, lock func(context.Context, *T) error) (*T, error) {
	if !account.PlausibleToken(token) {
		return nil, ErrUnknown
	}
	hash := Hash(token)
	l, err := links.FindLink(ctx, hash, now)
	if err != nil {
		return nil, unknown(err)
	}
	if err := lock(ctx, l); err != nil {
		return nil, err
	}
	l, err = links.TakeLink(ctx, hash, now)
	if err != nil {
		return nil, unknown(err)
	}
	return l, nil
}

// unknown turns the store's ENotFound into ErrUnknown; other errors pass.
func unknown(err error) error {
	if account.IsCode(err, account.ENotFound) {
		return ErrUnknown
	}
	return err
}
