package passkey

import (
	"context"

	"github.com/keyshift/keyshift/internal/aaguid"
	"github.com/keyshift/keyshift/internal/account"
)

// List returns the member's passkeys, oldest first.
func (s *Service) List(ctx context.Context, userID string) ([]Passkey, error) {
	cs, err := s.store.ListPasskeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]Passkey, len(cs))
	for i, c := range cs {
		out[i] = view(c)
	}
	return out, nil
}

// Rename gives one of the member's passkeys a new name.
func (s *Service) Rename(ctx context.Context, userID, id, name string, c account.Client) (*Passkey, error) {
	name, err := cleanName(name)
	if err != nil {
		return nil, err
	}
	if !validFlowID(id) {
		return nil, account.Errorf(account.ENotFound, "no such passkey")
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.RenamePasskey(ctx, userID, id, name, s.now()); err != nil {
			return err
		}
		return s.event(ctx, &account.Event{Type: account.EventPasskeyRenamed, UserID: userID, Data: map[string]any{"passkey": id}}, c)
	})
	if err != nil {
		return nil, err
	}
	return s.find(ctx, userID, id)
}

func (s *Service) find(ctx context.Context, userID, id string) (*Passkey, error) {
	all, err := s.List(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, p := range all {
		if p.ID == id {
			return &p, nil
		}
	}
	return nil, account.Errorf(account.ENotFound, "no such passkey")
}

// Delete removes one of the member's passkeys; it can never sign in again
// (the row, and so its public key, is gone). ENotFound when it is not
// theirs. Removing a passkey is a clean-up after a theft too, so the
// member's pending changes of address are voided with it (T14). It is a
// sensitive action: sw's session must be fresh (EReauthRequired otherwise).
//
// A session on probation (proven by a passkey on probation) may remove only
// passkeys that are on probation themselves — its own, or one it added —
// never an older one (ECredentialOnProbation).
func (s *Service) Delete(ctx context.Context, sw *account.SessionWithUser, id string, c account.Client) error {
	fresh := sw.RequireFresh(s.now(), s.cfg.ReauthWindow, account.ActionRemovePasskey)
	if fresh != nil && !account.IsCode(fresh, account.ECredentialOnProbation) {
		return fresh
	}
	userID := sw.User.ID
	if !validFlowID(id) {
		return account.Errorf(account.ENotFound, "no such passkey")
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.members.Lock(ctx, userID, ""); err != nil {
			return err
		}
		gone, err := s.passkeyOf(ctx, userID, id)
		if err != nil {
			return err
		}
		if fresh != nil && !gone.OnProbation(s.now()) {
			return fresh
		}
		name := gone.Name
		if err := s.store.DeletePasskey(ctx, userID, id); err != nil {
			return err
		}
		voided, err := s.members.VoidEmailChanges(ctx, userID)
		if err != nil {
			return err
		}
		if err := s.notifyRemoved(ctx, userID, name, c); err != nil {
			return err
		}
		return s.event(ctx, &account.Event{Type: account.EventPasskeyRemoved, UserID: userID,
			Data: map[string]any{"passkey": id, "emailChangesVoided": voided,
				"provider": aaguid.Name(gone.AAGUID), "synced": gone.BackupState}}, c)
	})
}

// passkeyOf returns the member's passkey id, for the notice and the event
// of its removal; ENotFound when it is not theirs.
func (s *Service) passkeyOf(ctx context.Context, userID, id string) (*account.Credential, error) {
	all, err := s.store.ListPasskeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].ID == id {
			return &all[i], nil
		}
	}
	return nil, account.Errorf(account.ENotFound, "no such passkey")
}

// notifyRemoved tells the member, in the deletion's transaction, that a
// passkey is gone.
func (s *Service) notifyRemoved(ctx context.Context, userID, name string, c account.Client) error {
	if s.notices == nil {
		return nil
	}
	u, err := s.store.FindUser(ctx, userID)
	if err != nil {
		return err
	}
	return s.notices.PasskeyRemoved(ctx, u, name, c)
}
