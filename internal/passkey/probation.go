package passkey

import (
	"context"
	"time"

	"github.com/keyshift/keyshift/internal/aaguid"
	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/link"
)

// Probation (docs/security.md, "Probation"): a member
// who holds a passkey and signs in through a weaker channel — an email link
// or code, a recovery code, a password — may still add a passkey, or a
// member who lost every device would be locked out. But a thief holding
// that channel could then step up with their own new passkey and take the
// account over. So a passkey added in a session that no passkey of the
// member's (off probation) proved within the reauth window is on probation
// for Config.Probation: a session it proves may add passkeys, nothing more
// sensitive (account.SessionWithUser.RequireFresh), and the member is told
// at once, by mail and in every other session, with "This wasn't me".

// Disowns is the storage behind "This wasn't me": finding and taking a
// passkey on probation by the hash of its link's token, and ending the
// sessions it proved. Every method joins the transaction in ctx.
type Disowns interface {
	// FindDisownPasskey returns the passkey whose "This wasn't me" link's
	// token hashes to hash and is live at now, leaving it; TakeDisownPasskey
	// deletes and returns it in one statement. ENotFound when there is none.
	FindDisownPasskey(ctx context.Context, hash []byte, now time.Time) (*account.Credential, error)
	TakeDisownPasskey(ctx context.Context, hash []byte, now time.Time) (*account.Credential, error)
	// DeletePasskeySessions ends the user's sessions that passkeyID proved
	// (sign-in or step-up) and the session addedSessionID; it says how many.
	DeletePasskeySessions(ctx context.Context, userID, passkeyID, addedSessionID string) (int, error)
}

// DisownValid is how long the mailed "This wasn't me" link of a passkey on
// probation works: longer than the probation, because the owner may read
// the mail late, and a thief's passkey is worth removing after it too.
const DisownValid = 7 * 24 * time.Hour

// probationOf returns the sign-in method a passkey added now by sw's
// session is on probation for, or "" when it is not on probation: the
// policy puts none (Probation zero), the member had no passkey to protect,
// or a passkey of theirs off probation proved the session recently enough
// for every sensitive action.
func (s *Service) probationOf(sw *account.SessionWithUser) account.AuthMethod {
	if s.cfg.Probation <= 0 || sw.User.PasskeyCount == 0 {
		return ""
	}
	if sw.ProvenByOwnPasskey(s.now(), s.cfg.ReauthWindow) {
		return ""
	}
	return sw.Session.AuthMethod
}

// onProbation puts the new passkey c on probation when via is set, for the
// session sessionID that adds it, and returns the token of its "This
// wasn't me" link (only its hash is stored); "" when via is empty.
func (s *Service) onProbation(c *account.Credential, via account.AuthMethod, sessionID string) string {
	if via == "" {
		return ""
	}
	now := s.now()
	token, hash := link.New(s.random)
	c.ProbationUntil, c.ProbationVia, c.AddedSessionID = now.Add(s.cfg.Probation), via, sessionID
	c.DisownHash, c.DisownExpiresAt = hash, now.Add(max(DisownValid, s.cfg.Probation))
	return token
}

// Probation is a passkey on probation as the member's other sessions show
// it: the banner of /account and the session answer's "notices".
type Probation struct {
	PasskeyID string
	Name      string
	Provider  string
	AddedAt   time.Time
	Until     time.Time
	// Via is the sign-in method of the session that added it.
	Via account.AuthMethod
}

// Probations returns the member's passkeys on probation now that sw's own
// session neither added nor was proven by: what the member is warned of
// in every other session. A thief's session is not warned of its own
// passkey; the owner's sessions are.
func (s *Service) Probations(ctx context.Context, sw *account.SessionWithUser) ([]Probation, error) {
	if sw.User.PasskeyCount == 0 {
		return nil, nil
	}
	all, err := s.store.ListPasskeys(ctx, sw.User.ID)
	if err != nil {
		return nil, err
	}
	return s.probationsOf(all, sw), nil
}

// probationsOf is Probations of the member's passkeys all.
func (s *Service) probationsOf(all []account.Credential, sw *account.SessionWithUser) []Probation {
	now, sess := s.now(), sw.Session
	var out []Probation
	for _, c := range all {
		if !c.OnProbation(now) || c.AddedSessionID == sess.ID || c.ID == sess.SigninPasskey || c.ID == sess.SteppedUpPasskey {
			continue
		}
		out = append(out, Probation{PasskeyID: c.ID, Name: c.Name, Provider: aaguid.Name(c.AAGUID), AddedAt: c.CreatedAt,
			Until: c.ProbationUntil, Via: c.ProbationVia})
	}
	return out
}

// Disowned is what "This wasn't me" removed.
type Disowned struct {
	User *account.User
	// Name is the removed passkey's name; Sessions how many sessions ended.
	Name     string
	Sessions int
}

// Disown is the mailed "This wasn't me" link of a passkey on probation
// (POST /passkeys/wasnt-me, /api/passkeys/wasnt-me): it needs no session —
// the link proves the mailbox the notice went to. In one transaction,
// under the account's lock, it takes the link (a DELETE … RETURNING of the
// passkey itself, so of racing requests exactly one removes it), ends
// every session that passkey proved or that added it, voids pending email
// changes, and records a passkey_disowned event. EInvalidCode for a token
// that is unknown, used or expired, never saying which.
func (s *Service) Disown(ctx context.Context, token string, c account.Client) (*Disowned, error) {
	var out *Disowned
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		gone, err := link.Take(ctx, disownLinks{s.disowns}, token, s.now(), func(ctx context.Context, cr *account.Credential) error {
			return s.members.Lock(ctx, cr.UserID, "")
		})
		if err == link.ErrUnknown {
			return &account.Error{Code: account.EInvalidCode, Reason: "disown", Detail: "unknown, used or expired link"}
		}
		if err != nil {
			return err
		}
		out, err = s.disowned(ctx, gone, "link", c)
		return err
	})
	return out, err
}

// DisownFromSession is the banner's "This wasn't me" button in another
// session of the member (POST /api/passkeys/{id}/wasnt-me): it removes
// passkey id — which must be on probation now, and must not have proven or
// been added by sw's own session — as Disown does. It needs no step-up:
// like signing out other sessions, evicting a thief must never wait for a
// proof the owner may not have at hand. ENotFound for any other passkey.
func (s *Service) DisownFromSession(ctx context.Context, sw *account.SessionWithUser, id string, c account.Client) (*Disowned, error) {
	if !validFlowID(id) {
		return nil, account.Errorf(account.ENotFound, "no such passkey on probation")
	}
	var out *Disowned
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.members.Lock(ctx, sw.User.ID, sw.Session.ID); err != nil {
			return err
		}
		ps, err := s.Probations(ctx, sw)
		if err != nil {
			return err
		}
		var cr *account.Credential
		for _, p := range ps {
			if p.PasskeyID == id {
				cr, err = s.passkeyOf(ctx, sw.User.ID, id)
				if err != nil {
					return err
				}
			}
		}
		if cr == nil {
			return account.Errorf(account.ENotFound, "no such passkey on probation")
		}
		if err := s.store.DeletePasskey(ctx, sw.User.ID, id); err != nil {
			return err
		}
		out, err = s.disowned(ctx, cr, "banner", c)
		return err
	})
	return out, err
}

// disowned finishes a "This wasn't me" for the deleted passkey gone: its
// sessions end, pending address changes are voided, the member is told and
// the event recorded, in the caller's transaction.
func (s *Service) disowned(ctx context.Context, gone *account.Credential, from string, c account.Client) (*Disowned, error) {
	n, err := s.disowns.DeletePasskeySessions(ctx, gone.UserID, gone.ID, gone.AddedSessionID)
	if err != nil {
		return nil, err
	}
	if _, err := s.members.VoidEmailChanges(ctx, gone.UserID); err != nil {
		return nil, err
	}
	u, err := s.store.FindUser(ctx, gone.UserID)
	if err != nil {
		return nil, err
	}
	if s.notices != nil {
		if err := s.notices.PasskeyRemoved(ctx, u, gone.Name, c); err != nil {
			return nil, err
		}
	}
	if err := s.event(ctx, &account.Event{Type: account.EventPasskeyDisowned, UserID: gone.UserID,
		Data: map[string]any{"passkey": gone.ID, "from": from, "sessionsEnded": n, "provider": aaguid.Name(gone.AAGUID),
			"probationVia": string(gone.ProbationVia)}}, c); err != nil {
		return nil, err
	}
	return &Disowned{User: u, Name: gone.Name, Sessions: n}, nil
}

// disownLinks are the "This wasn't me" links as package link takes them:
// the link is the passkey row itself.
type disownLinks struct{ store Disowns }

func (d disownLinks) FindLink(ctx context.Context, hash []byte, now time.Time) (*account.Credential, error) {
	return d.store.FindDisownPasskey(ctx, hash, now)
}

func (d disownLinks) TakeLink(ctx context.Context, hash []byte, now time.Time) (*account.Credential, error) {
	return d.store.TakeDisownPasskey(ctx, hash, now)
}
