package passkey

import (
	"fmt"
	"slices"

	"github.com/keyshift/keyshift/internal/account"
)

// A site served on several origins (config origins: WebAuthn Level 3
// related origins, §5.11) accepts a passkey on each of them, and
// go-webauthn checks that clientDataJSON.origin is one of them (§7.1 step
// 9, §7.2 step 13). That alone would let a ceremony begun on one origin be
// finished by a page on another; so every ceremony carries the origin that
// began it — sealed into a sign-in's flowId, stored with a registration's
// or a step-up's flow — and its finish requires clientDataJSON.origin to
// be that one.

// A BeginOption adjusts a ceremony as it begins.
type BeginOption func(*beginOptions)

type beginOptions struct {
	origin string
}

// FromOrigin binds the ceremony to origin, the configured origin of the
// page that begins it (the request's Host names it). Without it a ceremony
// is bound to the primary origin.
func FromOrigin(origin string) BeginOption {
	return func(o *beginOptions) { o.origin = origin }
}

// origins returns every origin ceremonies are accepted from, the primary
// first.
func (c Config) origins() []string {
	return append([]string{c.Origin}, c.Origins...)
}

// beginOrigin returns the origin a ceremony begun with opts is bound to. An
// origin that is not configured is a caller's bug, not a visitor's input:
// package web passes only the origin of a Host its Host check admitted.
func (s *Service) beginOrigin(opts []BeginOption) (string, error) {
	o := beginOptions{origin: s.cfg.Origin}
	for _, opt := range opts {
		opt(&o)
	}
	if !slices.Contains(s.cfg.origins(), o.origin) {
		return "", fmt.Errorf("passkey: a ceremony begun on %q, which is not a configured origin", o.origin)
	}
	return o.origin, nil
}

// boundOrigin is the origin the ceremony fd was begun on: the primary for
// one stored before ceremonies carried their origin.
func (s *Service) boundOrigin(fd *flowData) string {
	if fd.Origin == "" {
		return s.cfg.Origin
	}
	return fd.Origin
}

// checkOrigin refuses, with code and reason wrong_origin, a response whose
// clientDataJSON names another origin than the one its ceremony began on.
func (s *Service) checkOrigin(fd *flowData, clientOrigin string, code account.Code) error {
	if clientOrigin == s.boundOrigin(fd) {
		return nil
	}
	return &account.Error{Code: code, Reason: "wrong_origin", Detail: "the ceremony was begun on another origin",
		Err: fmt.Errorf("begun on %s, answered for %q", s.boundOrigin(fd), clientOrigin)}
}
