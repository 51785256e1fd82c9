// Package adminrole holds the admin role: members granted it with
// `keyshift admin grant EMAIL` may open the /admin dashboard — but only in
// a session that proved a passkey, by signing in with one or stepping up
// with one. The role alone, in a session a password or a mailbox opened,
// is refused: the dashboard must not fall to a stolen password or an
// inbox. Admin bearer tokens (package admintoken) are apart from it.
package adminrole

import (
	"context"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// The audit events of the role (events.type): who was granted or lost it
// (UserID) and by whom (Data "by").
const (
	EventGranted = "admin_granted"
	EventRevoked = "admin_revoked"
)

// Member is a holder of the role as listed.
type Member struct {
	UserID    string
	Email     string
	GrantedAt time.Time
	GrantedBy string
	// Passkeys is how many passkeys the member holds: with none the role
	// opens nothing.
	Passkeys int
}

// Store keeps the role.
type Store interface {
	// InTx runs fn in one transaction.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// FindUserByEmailKey returns the account whose address has key;
	// ENotFound when none.
	FindUserByEmailKey(ctx context.Context, key string) (*account.User, error)
	// GrantAdmin gives userID the role at, by by; false when they hold it
	// already (then nothing changes).
	GrantAdmin(ctx context.Context, userID string, at time.Time, by string) (bool, error)
	// RevokeAdmin takes the role from userID; false when they did not
	// hold it.
	RevokeAdmin(ctx context.Context, userID string) (bool, error)
	// IsAdmin reports whether userID holds the role.
	IsAdmin(ctx context.Context, userID string) (bool, error)
	// AdminMembers lists the holders, earliest grant first.
	AdminMembers(ctx context.Context) ([]Member, error)
	// AppendEvent writes an audit event.
	AppendEvent(ctx context.Context, e *account.Event) error
}

// Roles grants, revokes and checks the role.
type Roles struct {
	store Store
	now   func() time.Time
}

// New returns the role kept in store, with now as its clock.
func New(store Store, now func() time.Time) *Roles {
	return &Roles{store: store, now: now}
}

// Change is what a grant or a revoke did.
type Change struct {
	User account.User
	// Changed is false when the member held the role already (a grant) or
	// did not hold it (a revoke): nothing was written.
	Changed bool
}

// Grant gives the member whose address is email the role, recording who
// did (by, e.g. "cli") in the audit log in the same transaction. An
// unknown address is ENotFound.
func (r *Roles) Grant(ctx context.Context, email, by string) (Change, error) {
	return r.change(ctx, email, by, EventGranted, func(ctx context.Context, u *account.User) (bool, error) {
		return r.store.GrantAdmin(ctx, u.ID, r.now(), by)
	})
}

// Revoke takes the role from the member whose address is email, recorded
// like Grant. Their sessions stay: the next request to /admin is refused.
func (r *Roles) Revoke(ctx context.Context, email, by string) (Change, error) {
	return r.change(ctx, email, by, EventRevoked, func(ctx context.Context, u *account.User) (bool, error) {
		return r.store.RevokeAdmin(ctx, u.ID)
	})
}

func (r *Roles) change(ctx context.Context, email, by, event string, apply func(ctx context.Context, u *account.User) (bool, error)) (Change, error) {
	_, key, err := account.NormalizeEmail(email)
	if err != nil {
		return Change{}, &account.Error{Code: account.EInvalidEmail, Field: "email", Detail: "not an email address: " + email}
	}
	var c Change
	err = r.store.InTx(ctx, func(ctx context.Context) error {
		u, err := r.store.FindUserByEmailKey(ctx, key)
		if account.IsCode(err, account.ENotFound) {
			return &account.Error{Code: account.ENotFound, Field: "email", Detail: "no account has the address " + email}
		}
		if err != nil {
			return err
		}
		c.User = *u
		if c.Changed, err = apply(ctx, u); err != nil || !c.Changed {
			return err
		}
		return r.store.AppendEvent(ctx, &account.Event{Type: event, UserID: u.ID, At: r.now(), Outcome: account.OutcomeSuccess,
			Data: map[string]any{"by": by}})
	})
	return c, err
}

// List returns the holders of the role.
func (r *Roles) List(ctx context.Context) ([]Member, error) {
	return r.store.AdminMembers(ctx)
}

// Admit lets sw's member through to the dashboard, or says why not:
// EAdminRequired when they do not hold the role (the same for every
// member, so it tells nothing about anyone else), and EReauthRequired
// with reason "passkey" when they do but their session proved no passkey
// — neither signed in nor stepped up with one.
func (r *Roles) Admit(ctx context.Context, sw *account.SessionWithUser) error {
	ok, err := r.store.IsAdmin(ctx, sw.User.ID)
	if err != nil {
		return err
	}
	if !ok {
		return &account.Error{Code: account.EAdminRequired, Detail: "this page is for the site's administrators"}
	}
	if !PasskeySession(sw.Session) {
		return &account.Error{Code: account.EReauthRequired, Reason: "passkey", Detail: "confirm with one of your passkeys to open the dashboard"}
	}
	return nil
}

// PasskeySession reports whether s signed in with a passkey or stepped up
// with one.
func PasskeySession(s account.Session) bool {
	return s.AuthMethod.IsPasskey() || s.SteppedUpMethod.IsPasskey()
}
