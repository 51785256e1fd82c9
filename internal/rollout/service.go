package rollout

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// Store keeps the rollout, its audit and members' answers, and reads the
// figures the guardrails judge.
type Store interface {
	Rollout(ctx context.Context) (State, int64, error)
	ChangeRollout(ctx context.Context, change func(cur State) (State, Audit, error)) (State, error)
	HoldRollout(ctx context.Context, reasons []string, at time.Time) (bool, error)
	RolloutChanges(ctx context.Context, limit int) ([]Audit, error)
	GuardrailFigures(ctx context.Context, window int, now time.Time) (Figures, error)
	RolloutAnswers(ctx context.Context, userID string) (Answers, error)
	SetRolloutAnswers(ctx context.Context, userID string, a Answers, at time.Time) error
	// RolloutReadiness returns what retiring userID's password depends on
	// now (OptedIn as stored).
	RolloutReadiness(ctx context.Context, userID string) (Readiness, error)
	// MarkSessionNudged records that session id was nudged at at, unless
	// it was nudged before, and reports whether this call did: the one
	// place that keeps the nudge to once a session.
	MarkSessionNudged(ctx context.Context, sessionID string, at time.Time) (bool, error)
	// InTx runs fn in one transaction: Store calls made with the ctx fn
	// receives, and the events, are part of it.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// The member's impressions and answers are events.
	account.AuditStore
}

// Fresh is how long a node keeps the rollout it read before reading it
// again: a change made on any node, or by the CLI, reaches every node within
// it.
const Fresh = time.Second

// Config is the rollout's policy.
type Config struct {
	Guardrails Guardrails
	// ReauthWindow is how recent a session's sign-in must be for the
	// member to consent to retiring their password (RequireFresh); zero is
	// account.DefaultReauthWindow.
	ReauthWindow time.Duration
	// Observer sees the nudge's events and the opt-ins as they are written
	// (account.Audit.Observer: telemetry); nil for none.
	Observer account.Observer
}

// Service reads and changes the rollout for the pages, the API and the CLI.
type Service struct {
	store      Store
	guardrails Guardrails
	window     time.Duration
	audit      account.Audit
	now        func() time.Time

	mu     sync.Mutex
	cached State
	readAt time.Time
}

// NewService returns a Service over store with the policy cfg.
func NewService(store Store, cfg Config, now func() time.Time) *Service {
	if cfg.ReauthWindow == 0 {
		cfg.ReauthWindow = account.DefaultReauthWindow
	}
	return &Service{store: store, guardrails: cfg.Guardrails, window: cfg.ReauthWindow,
		audit: account.Audit{Store: store, Now: now, Observer: cfg.Observer}, now: now}
}

// Current returns the rollout, at most Fresh old.
func (s *Service) Current(ctx context.Context) (State, error) {
	now := s.now()
	s.mu.Lock()
	if !s.readAt.IsZero() && now.Sub(s.readAt) < Fresh && !now.Before(s.readAt) {
		st := s.cached
		s.mu.Unlock()
		return st, nil
	}
	s.mu.Unlock()
	st, _, err := s.store.Rollout(ctx)
	if err != nil {
		return State{}, err
	}
	s.mu.Lock()
	s.cached, s.readAt = st, now
	s.mu.Unlock()
	return st, nil
}

// forget drops the cached rollout after a change made through this node.
func (s *Service) forget() {
	s.mu.Lock()
	s.readAt = time.Time{}
	s.mu.Unlock()
}

// Trips returns the guardrails tripped now.
func (s *Service) Trips(ctx context.Context) ([]Trip, error) {
	f, err := s.store.GuardrailFigures(ctx, s.guardrails.PasskeyWindow, s.now())
	if err != nil {
		return nil, err
	}
	return s.guardrails.Check(f), nil
}

// Document returns the rollout as the admin API and `keyshift rollout
// status` show it — this node's copy, at most Fresh old, which is what it
// acts on — with the guardrails as they stand now.
func (s *Service) Document(ctx context.Context) (Document, error) {
	st, err := s.Current(ctx)
	if err != nil {
		return Document{}, err
	}
	trips, err := s.Trips(ctx)
	if err != nil {
		return Document{}, err
	}
	return NewDocument(st, trips), nil
}

// Change applies ch, made by who, judged by the guardrails as they stand,
// and returns the new document. Refusals are coded errors (Apply).
func (s *Service) Change(ctx context.Context, ch Change, who string) (Document, error) {
	trips, err := s.Trips(ctx)
	if err != nil {
		return Document{}, err
	}
	now := s.now()
	st, err := s.store.ChangeRollout(ctx, func(cur State) (State, Audit, error) {
		return Apply(cur, ch, Names(trips), who, now)
	})
	if err != nil {
		return Document{}, err
	}
	s.forget()
	return NewDocument(st, trips), nil
}

// History returns the latest limit changes, newest first.
func (s *Service) History(ctx context.Context, limit int) ([]Audit, error) {
	return s.store.RolloutChanges(ctx, limit)
}

// Watch checks the guardrails once, as the janitor does every few minutes:
// when one trips and the guardrails hold, the rollout holds itself. It
// returns what tripped and whether this call made the hold.
func (s *Service) Watch(ctx context.Context) ([]Trip, bool, error) {
	trips, err := s.Trips(ctx)
	if err != nil || len(trips) == 0 || !s.guardrails.Hold {
		return trips, false, err
	}
	made, err := s.store.HoldRollout(ctx, Names(trips), s.now())
	if made {
		s.forget()
	}
	return trips, made, err
}

// Retirer deletes one member's password for the rollout, in a transaction
// that first re-reads the member's readiness and gives it to check (the
// member may have removed a passkey since the list was read); notify runs in
// the same transaction, so the member's notice is queued with the deletion
// or not at all. It reports whether the password went.
type Retirer interface {
	RetirementCandidates(ctx context.Context) ([]Candidate, int, error)
	RetirePassword(ctx context.Context, userID string, at time.Time, check func(Readiness) error, notify func(ctx context.Context) error) (bool, error)
	// RecordRolloutAction audits a run in the rollout's history.
	RecordRolloutAction(ctx context.Context, a Audit) error
}

// Retire retires the passwords of every member who opted in and is ready
// after days of passkey use — nobody else's — or with dryRun only reports
// whom it would retire. notify tells one member, in the deletion's
// transaction. The rollout must be in password-retirement. A real run is
// audited in the rollout's history as who's, with its counts — also when
// an error stops it part way, with what it did until then.
func (s *Service) Retire(ctx context.Context, r Retirer, days int, dryRun bool, who string, notify func(ctx context.Context, c Candidate) error) (rep RetireReport, err error) {
	st, err := s.Current(ctx)
	if err != nil {
		return rep, err
	}
	if st.Phase < PasswordRetirement && !dryRun {
		return rep, &account.Error{Code: account.EInvalidRequest, Reason: "phase",
			Detail: "passwords are retired only in the password-retirement phase; the rollout is in " + st.Phase.String()}
	}
	cands, others, err := r.RetirementCandidates(ctx)
	if err != nil {
		return rep, err
	}
	rep.NotOptedIn = others
	now := s.now()
	if !dryRun {
		defer func() {
			reason := rep.AuditReason()
			if err != nil {
				reason += "; stopped by an error: " + err.Error()
			}
			if aerr := r.RecordRolloutAction(ctx, Audit{By: who, At: now, From: st, To: st, Reason: reason}); aerr != nil && err == nil {
				err = fmt.Errorf("auditing the retirement run: %w", aerr)
			}
		}()
	}
	for _, c := range cands {
		if why := c.Ready(now, days); why != nil {
			rep.NotReady = append(rep.NotReady, Refused{c, why})
			continue
		}
		if dryRun {
			rep.Retired = append(rep.Retired, c)
			continue
		}
		var late *NotReady
		gone, err := r.RetirePassword(ctx, c.UserID, now, func(fresh Readiness) error {
			if late = fresh.Ready(now, days); late != nil {
				return late
			}
			return nil
		}, func(ctx context.Context) error { return notify(ctx, c) })
		switch {
		case late != nil:
			rep.NotReady = append(rep.NotReady, Refused{c, late})
		case err != nil:
			return rep, err
		case gone:
			rep.Retired = append(rep.Retired, c)
		}
	}
	return rep, nil
}
