package telemetry

import (
	"context"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
)

// Store keeps telemetry events and reads what the Recorder adds to them.
// Every method joins the transaction in ctx.
type Store interface {
	// AppendTelemetry adds one event, setting its ID.
	AppendTelemetry(ctx context.Context, e *Event) error
	// FindUser returns the member, with what they hold.
	FindUser(ctx context.Context, id string) (*account.User, error)
	// RolloutAnswers returns the member's answers to the rollout.
	RolloutAnswers(ctx context.Context, userID string) (rollout.Answers, error)
	// FindSession returns the member's session id.
	FindSession(ctx context.Context, userID, id string) (*account.Session, error)
	// AddTelemetry adds r to the counters.
	AddTelemetry(ctx context.Context, r Rollup) error
}

// Rollout gives the rollout as it stands (rollout.Service.Current: a copy
// at most a second old).
type Rollout interface {
	Current(ctx context.Context) (rollout.State, error)
}

// Recorder turns what the audit log records into telemetry events, in the
// same transaction (it is the account.Audit's Observer): a sign-in, its
// telemetry and its session commit together or not at all. It adds what
// the audit log does not say — the rollout's phase and the member's cohort
// then, the times, the browser family — and drops what telemetry must not
// hold (the IP address, the User-Agent).
//
// Its cost inside a sign-in is one insert: the member comes with the event
// (Event.Subject) where the flow has them, and their answers to the
// rollout are read only for a member outside the internal list and the
// ramp (rollout.NeedsAnswers). The counting is left to the Folder, outside
// every sign-in. Attempts no account is tied to are the
// exception: counted at once (write).
type Recorder struct {
	store   Store
	rollout Rollout
	now     func() time.Time
	metrics *Metrics
}

// NewRecorder returns a Recorder writing to store, with phases from ro and
// the clock now; metrics may be nil.
func NewRecorder(store Store, ro Rollout, now func() time.Time, metrics *Metrics) *Recorder {
	return &Recorder{store: store, rollout: ro, now: now, metrics: metrics}
}

// Observe implements account.Observer.
func (r *Recorder) Observe(ctx context.Context, e *account.Event, c account.Client) error {
	evs := translate(e)
	if len(evs) == 0 {
		return nil
	}
	ctxt, err := r.context(ctx, e)
	if err != nil {
		return err
	}
	if e.Type == account.EventPasskeyAdded {
		evs = append(evs, r.afterAdded(ctx, e, ctxt.user)...)
	}
	browser, os := Family(c.UserAgent)
	for i := range evs {
		ev := &evs[i]
		ev.At, ev.Phase, ev.Cohort, ev.UserID = e.At, ctxt.phase, ctxt.cohort, e.UserID
		ev.HasPasskey = ctxt.user != nil && ctxt.user.PasskeyCount > 0 || ev.Kind == KindPasskeyAdded
		ev.Browser, ev.OS = browser, os
		if ev.Kind == KindRecovery && ev.Method == ChannelEmail && !ev.HasPasskey {
			continue // email is a way in, not a recovery, for an account without a passkey
		}
		if ev.Kind == KindSignin {
			if ev.Outcome == account.OutcomeSuccess {
				ev.ClientMs = ClientMs(c.SigninMs)
			}
			if !c.Began.IsZero() {
				ev.ServerMs = ServerMs(r.now().Sub(c.Began))
			}
		}
		if err := r.write(ctx, ev); err != nil {
			return err
		}
		r.metrics.observe(ev)
	}
	return nil
}

// write keeps ev: as an event for the Folder — or, when no account is
// tied to it, straight in its hour's counter. Those come from anyone at
// the rate the per-address limits allow (a refused unknown address,
// passkey or link) or none at all (an autofill offer), so, like the audit's
// failure counts, they must grow the tables with the hours, not with an
// attacker's rate; they have no member to count as active and no time to
// keep.
func (r *Recorder) write(ctx context.Context, ev *Event) error {
	if ev.UserID != "" {
		return r.store.AppendTelemetry(ctx, ev)
	}
	return r.store.AddTelemetry(ctx, Rollup{Counts: []Count{{Hour: ev.At.UTC().Truncate(time.Hour),
		Kind: ev.Kind, Method: ev.Method, Outcome: ev.Outcome, Code: ev.Code, Phase: ev.Phase, Cohort: ev.Cohort, N: 1}}})
}

// ConditionalOffered records that a sign-in page started passkey autofill
// (the page's beacon); no member is known yet.
func (r *Recorder) ConditionalOffered(ctx context.Context, c account.Client) error {
	return r.Observe(ctx, (&account.Event{Type: eventConditionalOffered}).Stamp(r.now(), c), c)
}

// eventConditionalOffered is the telemetry-only event of the beacon.
const eventConditionalOffered = "conditional_offered"

type eventContext struct {
	phase, cohort string
	user          *account.User
}

// context reads the phase and, when e names a member, the member and
// their cohort.
func (r *Recorder) context(ctx context.Context, e *account.Event) (eventContext, error) {
	st, err := r.rollout.Current(ctx)
	if err != nil {
		return eventContext{}, err
	}
	out := eventContext{phase: st.Phase.String(), cohort: CohortUnknown}
	if e.UserID == "" {
		return out, nil
	}
	u := e.Subject
	if u == nil || u.ID != e.UserID {
		var err error
		u, err = r.store.FindUser(ctx, e.UserID)
		if account.IsCode(err, account.ENotFound) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
	var a rollout.Answers
	if rollout.NeedsAnswers(st, u) {
		var err error
		if a, err = r.store.RolloutAnswers(ctx, u.ID); err != nil {
			return out, err
		}
	}
	out.user, out.cohort = u, rollout.CohortOf(st, u, a)
	return out, nil
}

// signupSession is how close a session's start must be to its account's
// creation for the session to be the sign-up's own: both are written in
// one transaction, each with its own reading of the clock.
const signupSession = time.Minute

// afterAdded returns what a passkey added also means: the nudge accepted,
// when its session was nudged; a passkey-first sign-up, when it is the
// account's first passkey and the session is the sign-up's own.
func (r *Recorder) afterAdded(ctx context.Context, e *account.Event, u *account.User) []Event {
	if e.SessionID == "" || u == nil {
		return nil
	}
	s, err := r.store.FindSession(ctx, u.ID, e.SessionID)
	if err != nil {
		return nil // the session ended meanwhile: nothing more to say
	}
	var out []Event
	if !s.NudgedAt.IsZero() {
		out = append(out, Event{Kind: KindNudge, Method: NudgeAccepted})
	}
	if d := s.CreatedAt.Sub(u.CreatedAt); u.PasskeyCount == 1 && d >= -signupSession && d <= signupSession &&
		(s.AuthMethod == account.MethodEmailCode || s.AuthMethod == account.MethodEmailLink) {
		out = append(out, Event{Kind: KindSignupPasskey, Method: string(s.AuthMethod)})
	}
	return out
}

// translate returns the telemetry events an audit event stands for, with
// what the audit event itself says filled in.
func translate(e *account.Event) []Event {
	str := func(k string) string { s, _ := e.Data[k].(string); return s }
	switch e.Type {
	case account.EventSignin:
		if created, _ := e.Data["created"].(bool); created {
			return nil // the sign-up is counted, not a sign-in
		}
		out := []Event{{Kind: KindSignin, Method: e.Method, Outcome: e.Outcome, Code: str("reason")}}
		if e.Outcome != account.OutcomeSuccess {
			return out
		}
		switch account.AuthMethod(e.Method) {
		case account.MethodPasskeyConditional:
			out = append(out, Event{Kind: KindConditional, Method: ConditionalUsed})
		case account.MethodRecoveryCode:
			out = append(out, Event{Kind: KindRecovery, Method: ChannelRecoveryCode})
		case account.MethodEmailLink, account.MethodEmailCode:
			out = append(out, Event{Kind: KindRecovery, Method: ChannelEmail}) // kept only for a passkey account
		case account.MethodSupportRecovery:
			out = append(out, Event{Kind: KindRecovery, Method: ChannelSupport})
		}
		return out
	case account.EventSignup:
		return []Event{{Kind: KindSignup, Method: e.Method}}
	case account.EventPasskeyAdded:
		ev := Event{Kind: KindPasskeyAdded, Provider: str("provider")}
		ev.Synced, _ = e.Data["synced"].(bool)
		if up, _ := e.Data["upgrade"].(bool); up {
			ev.Method = MethodUpgrade
		}
		return []Event{ev}
	case account.EventPasskeyRemoved:
		ev := Event{Kind: KindPasskeyRemoved, Provider: str("provider")}
		ev.Synced, _ = e.Data["synced"].(bool)
		return []Event{ev}
	case account.EventPasskeyRegisterError:
		switch e.Outcome {
		case "passkey_on_device":
			return []Event{{Kind: KindDuplicate, Method: DuplicateBrowser}}
		case string(account.EPasskeyExists):
			return []Event{{Kind: KindDuplicate, Method: DuplicateServer}}
		}
	case rollout.EventNudgeShown:
		return []Event{{Kind: KindNudge, Method: NudgeShown}}
	case rollout.EventNudgeAnswered:
		switch a := str("action"); a {
		case rollout.NudgeLater, rollout.NudgeNever:
			return []Event{{Kind: KindNudge, Method: a}}
		}
	case eventConditionalOffered:
		return []Event{{Kind: KindConditional, Method: ConditionalOffered}}
	}
	return nil
}
