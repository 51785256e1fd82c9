package rollout

import (
	"context"
	"sync"
	"time"
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
}

// Fresh is how long a node keeps the rollout it read before reading it
// again: a change made on any node, or by the CLI, reaches every node within
// it.
const Fresh = time.Second

// Service reads and changes the rollout for the pages, the API and the CLI.
type Service struct {
	store      Store
	guardrails Guardrails
	now        func() time.Time

	mu     sync.Mutex
	cached State
	readAt time.Time
}

// NewService returns a Service over store judged by guardrails.
func NewService(store Store, guardrails Guardrails, now func() time.Time) *Service {
	return &Service{store: store, guardrails: guardrails, now: now}
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
// status` show it, with the guardrails as they stand now.
func (s *Service) Document(ctx context.Context) (Document, error) {
	st, _, err := s.store.Rollout(ctx)
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
