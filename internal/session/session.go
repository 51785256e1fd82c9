// Package session starts, proves and ends members' signed-in sessions: a
// fresh 256-bit token at every sign-in (only its SHA-256 is stored), the
// idle and absolute ends, rotation when what a session proves changes, and
// at most MaxSessions per member. Every sign-in method — password, passkey,
// email, recovery code — ends in Start or StartFirst. It knows nothing of
// HTTP or SQL: storage comes in through Store.
package session

import (
	"context"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// Store is the storage sessions need. Every method joins the transaction
// that InTx put in ctx.
type Store interface {
	// InTx runs fn in one transaction; Store calls made with the ctx fn
	// receives are part of it. fn's error rolls everything back.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// CreateSession inserts s and says how many other sessions its user
	// has, in the same statement.
	CreateSession(ctx context.Context, s *account.Session) (others int, err error)
	// TrimSessions deletes the user's n oldest sessions other than keepID
	// and says how many.
	TrimSessions(ctx context.Context, userID, keepID string, n int) (int, error)
	// FindSessionByToken returns the session whose token hashes to tokenHash,
	// with its user; ENotFound otherwise.
	FindSessionByToken(ctx context.Context, tokenHash []byte) (*account.SessionWithUser, error)
	// TouchSession records activity on a session.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// FindSession returns the user's session id; ENotFound when the user
	// has none with that id.
	FindSession(ctx context.Context, userID, id string) (*account.Session, error)
	// ListSessions returns the user's sessions, newest first.
	ListSessions(ctx context.Context, userID string) ([]account.Session, error)
	// DeleteSession removes one of the user's sessions; ENotFound when the
	// user has no session with that id.
	DeleteSession(ctx context.Context, userID, id string) error
	// RotateSessionToken replaces the token hash of session id; ENotFound
	// when the session is gone.
	RotateSessionToken(ctx context.Context, id string, tokenHash []byte) error
	// StepUpSession replaces the token hash of session id and records a
	// step-up at at with proof m; ENotFound when the session is gone.
	// passkeyID names the passkey that made the proof ("" for another).
	StepUpSession(ctx context.Context, id string, tokenHash []byte, at time.Time, m account.AuthMethod, passkeyID string) error
	// DeleteExpiredSessions removes sessions past their absolute end or idle
	// since before idleBefore.
	DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int, error)
}

// Notifier tells members by mail about sign-ins they may not have made
// (package notice). It joins the transaction in ctx: the session and its
// notice commit together.
type Notifier interface {
	// NewDevice tells u that a browser with no device cookie of theirs
	// signed in with m.
	NewDevice(ctx context.Context, u *account.User, m account.AuthMethod, c account.Client) error
}

// MaxSessions is how many sessions one member may have at once; a new
// sign-in beyond it ends the oldest.
const MaxSessions = 50

// touchEvery is how stale LastSeenAt may get before a request writes it:
// validating a session stays a read on the hot path, and the idle timeout is
// enforced to within this much.
const touchEvery = time.Minute

// Config is the operator's policy.
type Config struct {
	// IdleTimeout ends a session this long after its last request.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after its sign-in.
	AbsoluteTimeout time.Duration
	// WeakerCap, when above zero, ends sooner the session that a weaker
	// channel (account.AuthMethod.IsWeaker: an email link or code, a
	// recovery code) opened for a member who holds a passkey
	// (email_signin.passkey_accounts restricted or require_passkey: 1h).
	WeakerCap time.Duration
}

// Deps are the parts a Service works with.
type Deps struct {
	Audit  account.Audit
	Random account.Random
	Now    func() time.Time
	// Notices tells members of sign-ins from new devices; nil sends none.
	Notices Notifier
}

// Service starts, proves and ends sessions.
type Service struct {
	store   Store
	cfg     Config
	audit   account.Audit
	random  account.Random
	now     func() time.Time
	notices Notifier
}

// New builds a Service; a nil d.Now is time.Now.
func New(cfg Config, store Store, d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{store: store, cfg: cfg, audit: d.Audit, random: d.Random, now: d.Now, notices: d.Notices}
}

// Start creates a session with a fresh token. It must run inside the
// sign-in's transaction (so the session, its events and the credential's
// update commit together); a new token at every sign-in prevents fixation.
// A browser that carries no device cookie of u's is a new device: u is
// told by mail, in the same transaction.
func (s *Service) Start(ctx context.Context, u *account.User, m account.AuthMethod, c account.Client) (*account.SigninResult, error) {
	return s.StartPasskey(ctx, u, m, "", c)
}

// StartPasskey is Start for a passkey sign-in: the session records which
// passkey (passkeyID, its credential row) proved it, so that a passkey on
// probation keeps its session on probation too.
func (s *Service) StartPasskey(ctx context.Context, u *account.User, m account.AuthMethod, passkeyID string, c account.Client) (*account.SigninResult, error) {
	if s.notices != nil && !c.Device.Trusted(u) {
		if err := s.notices.NewDevice(ctx, u, m, c); err != nil {
			return nil, err
		}
	}
	return s.start(ctx, u, m, passkeyID, c)
}

// StartFirst is Start for the sign-in that created u, or the first after
// every browser of it was signed out: there is no other device to tell
// apart, so no notice is sent.
func (s *Service) StartFirst(ctx context.Context, u *account.User, m account.AuthMethod, c account.Client) (*account.SigninResult, error) {
	return s.start(ctx, u, m, "", c)
}

// Lifetime is how long a session that m opens for u lasts at most: the
// absolute timeout, or WeakerCap for a weaker sign-in of a member who
// holds a passkey (a thief with the mailbox gets an hour, not a month).
func (s *Service) Lifetime(u *account.User, m account.AuthMethod) time.Duration {
	if s.cfg.WeakerCap > 0 && u.PasskeyCount > 0 && m.IsWeaker() {
		return min(s.cfg.WeakerCap, s.cfg.AbsoluteTimeout)
	}
	return s.cfg.AbsoluteTimeout
}

func (s *Service) start(ctx context.Context, u *account.User, m account.AuthMethod, passkeyID string, c account.Client) (*account.SigninResult, error) {
	now := s.now()
	token := s.random.NewToken()
	sess := account.Session{
		ID: s.random.NewTimeID(now), TokenHash: account.HashToken(token), UserID: u.ID, AuthMethod: m,
		AuthenticatedAt: now, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.Lifetime(u, m)),
		UserAgent: c.KeptUserAgent(), IP: c.IP, SigninPasskey: passkeyID,
	}
	others, err := s.store.CreateSession(ctx, &sess)
	if err != nil {
		return nil, err
	}
	// A member has at most MaxSessions: the oldest go, so that sign-ins
	// in a loop cannot grow the table or the member's list without bound.
	// The count comes from the INSERT, so this costs nothing below the cap;
	// at it, the oldest go one by one (of two sign-ins racing on
	// PostgreSQL, both may pick one row: the member is one over until the
	// next sign-in, a bound, not a leak).
	if others >= MaxSessions {
		n, err := s.store.TrimSessions(ctx, u.ID, sess.ID, others+1-MaxSessions)
		if err != nil {
			return nil, err
		}
		if err := s.audit.Record(ctx, &account.Event{Type: account.EventSessionRevoked, UserID: u.ID, Data: map[string]any{"evicted": n}}, c); err != nil {
			return nil, err
		}
	}
	return &account.SigninResult{User: *u, Session: sess, Token: token}, nil
}

// Rotate gives the session a fresh token, in the transaction of ctx, and
// returns it; the old token stops working at once. A session rotates
// whenever what it proves about its browser changes — a password set,
// changed or removed, a passkey added, a step-up — so a token that leaked
// before is worth nothing after.
func (s *Service) Rotate(ctx context.Context, sessionID string) (string, error) {
	token := s.random.NewToken()
	if err := s.store.RotateSessionToken(ctx, sessionID, account.HashToken(token)); err != nil {
		return "", err
	}
	return token, nil
}

// StepUp records that the session's member just proved themselves again
// with m (a step-up: POST /api/reauth/finish) and rotates its token, in the
// transaction of ctx; it returns the new token and the step-up's time.
// Sensitive actions within the reauth window for which m counts pass from
// then on (account.SessionWithUser.RequireFresh). Every step-up, whatever
// its proof, rotates: a token copied before is worth nothing after.
// passkeyID is the passkey that made the proof ("" for another kind): a
// step-up by a passkey on probation leaves the session on probation.
func (s *Service) StepUp(ctx context.Context, sessionID string, m account.AuthMethod, passkeyID string) (string, time.Time, error) {
	token, now := s.random.NewToken(), s.now()
	if err := s.store.StepUpSession(ctx, sessionID, account.HashToken(token), now, m, passkeyID); err != nil {
		return "", time.Time{}, err
	}
	return token, now, nil
}

// Authenticate returns the live session a token proves, with its user.
// Expired sessions are deleted on sight.
func (s *Service) Authenticate(ctx context.Context, token string) (*account.SessionWithUser, error) {
	if token == "" || len(token) > 128 {
		return nil, unauthenticated()
	}
	sw, err := s.store.FindSessionByToken(ctx, account.HashToken(token))
	if account.IsCode(err, account.ENotFound) {
		return nil, unauthenticated()
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !s.live(sw.Session, now) {
		if err := s.store.DeleteSession(ctx, sw.Session.UserID, sw.Session.ID); err != nil && !account.IsCode(err, account.ENotFound) {
			return nil, err
		}
		return nil, unauthenticated()
	}
	if now.Sub(sw.Session.LastSeenAt) >= touchEvery {
		if err := s.store.TouchSession(ctx, sw.Session.ID, now); err != nil {
			return nil, err
		}
		sw.Session.LastSeenAt = now
	}
	return sw, nil
}

// live reports whether x has reached neither its absolute nor its idle end
// at now.
func (s *Service) live(x account.Session, now time.Time) bool {
	return now.Before(x.ExpiresAt) && now.Before(x.LastSeenAt.Add(s.cfg.IdleTimeout))
}

// unauthenticated is the answer for a session that is missing or over.
func unauthenticated() *account.Error {
	return &account.Error{Code: account.EUnauthenticated, Detail: "no valid session"}
}

// Signout ends the session a token proves.
func (s *Service) Signout(ctx context.Context, sess *account.Session, c account.Client) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.DeleteSession(ctx, sess.UserID, sess.ID); err != nil && !account.IsCode(err, account.ENotFound) {
			return err
		}
		return s.audit.Record(ctx, &account.Event{Type: account.EventSignout, UserID: sess.UserID, SessionID: sess.ID}, c)
	})
}

// List lists the member's live sessions.
func (s *Service) List(ctx context.Context, userID string) ([]account.Session, error) {
	all, err := s.store.ListSessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	live := all[:0]
	for _, x := range all {
		if s.live(x, now) {
			live = append(live, x)
		}
	}
	return live, nil
}

// Revoke ends one of the member's sessions; ENotFound when it is not
// theirs, so ids of other members' sessions reveal nothing.
func (s *Service) Revoke(ctx context.Context, userID, id string, c account.Client) error {
	if !account.PlausibleID(id) {
		// Not one of the ids NewID makes; PostgreSQL would refuse it as text.
		return &account.Error{Code: account.ENotFound, Detail: "no such session"}
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.DeleteSession(ctx, userID, id); err != nil {
			return err
		}
		return s.audit.Record(ctx, &account.Event{Type: account.EventSessionRevoked, UserID: userID, SessionID: id}, c)
	})
}

// Alive reports whether the member's session id exists and has reached
// neither its idle nor its absolute end.
func (s *Service) Alive(ctx context.Context, userID, sessionID string) (bool, error) {
	if !account.PlausibleID(sessionID) {
		return false, nil
	}
	sess, err := s.store.FindSession(ctx, userID, sessionID)
	if account.IsCode(err, account.ENotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.live(*sess, s.now()), nil
}

// PurgeExpired deletes sessions that can no longer be used.
func (s *Service) PurgeExpired(ctx context.Context) (int, error) {
	now := s.now()
	return s.store.DeleteExpiredSessions(ctx, now, now.Add(-s.cfg.IdleTimeout))
}
