// Package export is a member's own data, as they download it from their
// account (GET /api/account/export): the profile, the public metadata of
// their credentials, their sessions and their recent security events. It
// never holds a secret or anything made from one — no password hash, no
// passkey public key or sign count, no token or code, no hash of one — so
// the file is safe to keep anywhere the member likes. Downloading it is a
// sensitive action (account.ActionExport): a thief with a session must not
// walk away with the account's history and where its member signs in.
// No HTTP or SQL in here.
package export

import (
	"context"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/passkey"
)

// EventsSince is how far back an export's security events reach, and
// MaxEvents the most it holds (the newest).
const (
	EventsSince = 90 * 24 * time.Hour
	MaxEvents   = 500
)

// EventExported records a download of the member's data.
const EventExported = "account_exported"

// Export is a member's data as they download it.
type Export struct {
	ExportedAt    time.Time
	Profile       account.User
	Password      *Password // nil when the account has none
	Passkeys      []passkey.Passkey
	RecoveryCodes int // unused recovery codes left
	Sessions      []account.Session
	Events        []account.Event // oldest first
}

// Password is what an export tells of the password: when it was set and
// last used, never its hash or the hash's format.
type Password struct {
	CreatedAt  time.Time
	UpdatedAt  time.Time
	LastUsedAt time.Time
}

// Store is the storage an export reads.
type Store interface {
	// FindUser returns the user with id, with HasPassword and PasskeyCount.
	FindUser(ctx context.Context, id string) (*account.User, error)
	// FindPasswordCredential returns the user's password; ENotFound when
	// the account has none.
	FindPasswordCredential(ctx context.Context, userID string) (*account.Credential, error)
	// ListUserEvents returns the user's events at or after since, the
	// newest limit of them, oldest first.
	ListUserEvents(ctx context.Context, userID string, since time.Time, limit int) ([]account.Event, error)
}

// Passkeys lists a member's passkeys with their providers (passkey.Service).
type Passkeys interface {
	List(ctx context.Context, userID string) ([]passkey.Passkey, error)
}

// Sessions lists a member's live sessions (session.Service).
type Sessions interface {
	List(ctx context.Context, userID string) ([]account.Session, error)
}

// RecoveryCodes counts a member's unused recovery codes (recovery.Service).
type RecoveryCodes interface {
	Left(ctx context.Context, userID string) (int, error)
}

// Deps are the parts a Service works with.
type Deps struct {
	Passkeys      Passkeys
	Sessions      Sessions
	RecoveryCodes RecoveryCodes
	Audit         account.Audit
	Now           func() time.Time
}

// Service gathers members' exports.
type Service struct {
	store  Store
	window time.Duration
	d      Deps
}

// New builds a Service; window is the step-up window
// (passkey.reauth_window). A nil d.Now is time.Now.
func New(store Store, window time.Duration, d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{store: store, window: window, d: d}
}

// Export gathers sw's member's data. The session must be fresh for it
// (account.SessionWithUser.RequireFresh; EReauthRequired before anything
// is read). The download is recorded as an event of the member's, which
// the next export lists.
func (s *Service) Export(ctx context.Context, sw *account.SessionWithUser, c account.Client) (*Export, error) {
	now := s.d.Now()
	if err := sw.RequireFresh(now, s.window, account.ActionExport); err != nil {
		return nil, err
	}
	id := sw.User.ID
	u, err := s.store.FindUser(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &Export{ExportedAt: now, Profile: *u}
	if out.Password, err = s.password(ctx, id); err != nil {
		return nil, err
	}
	if out.Passkeys, err = s.d.Passkeys.List(ctx, id); err != nil {
		return nil, err
	}
	if out.RecoveryCodes, err = s.d.RecoveryCodes.Left(ctx, id); err != nil {
		return nil, err
	}
	if out.Sessions, err = s.d.Sessions.List(ctx, id); err != nil {
		return nil, err
	}
	if out.Events, err = s.store.ListUserEvents(ctx, id, now.Add(-EventsSince), MaxEvents); err != nil {
		return nil, err
	}
	if err := s.d.Audit.Record(ctx, &account.Event{Type: EventExported, UserID: id, SessionID: sw.Session.ID,
		Outcome: account.OutcomeSuccess}, c); err != nil {
		return nil, err
	}
	return out, nil
}

// password is what the export says of the account's password; nil when
// there is none.
func (s *Service) password(ctx context.Context, userID string) (*Password, error) {
	cred, err := s.store.FindPasswordCredential(ctx, userID)
	if account.IsCode(err, account.ENotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &Password{CreatedAt: cred.CreatedAt, UpdatedAt: cred.UpdatedAt, LastUsedAt: cred.LastUsedAt}, nil
}
