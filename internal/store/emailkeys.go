package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// dataSteps are the store's parts of migrations that SQL cannot do
// (sqldb.DataSteps), by migration name.
func (db *DB) dataSteps() sqldb.DataSteps {
	return sqldb.DataSteps{"canonical_email_keys": db.canonicalEmailKeys}
}

// UnkeyedPrefix starts the email_key of an account that holds no address
// key: "unkeyed:" and its id. Every key account.NormalizeEmail makes holds
// an "@", so no typed address finds such an account; it keeps its address,
// credentials and sessions, and is listed by FindEmailKeyConflicts.
const UnkeyedPrefix = "unkeyed:"

// ReasonDuplicate is an EmailKeyConflict's reason when another account
// holds the canonical key of the address.
const ReasonDuplicate = "duplicate"

// EmailKeyConflict is an account the canonical_email_keys migration could
// not give the key of its address.
type EmailKeyConflict struct {
	UserID string
	// Email and OldKey are the address and key before the migration.
	Email  string
	OldKey string
	// CanonicalKey is the address's key now; "" when it is refused.
	CanonicalKey string
	// Reason is ReasonDuplicate or account.NormalizeEmail's reason for
	// refusing the address (account.EmailInvisible, account.EmailLookalike,
	// …).
	Reason string
	// KeptBy and KeptByEmail name the account that holds CanonicalKey
	// (duplicates only).
	KeptBy      string
	KeptByEmail string
	FoundAt     time.Time
}

// rekeyed is an account whose address or key the migration changes.
type rekeyed struct {
	id, email, key string
	verified       bool
	created        time.Time
	// newEmail and newKey are the canonical form; newKey is "" when the
	// address is refused (reason says why).
	newEmail, newKey, reason string
	// keptBy is set on a duplicate: the account that gets newKey.
	keptBy string
}

// finalKey is the key the account has after the migration.
func (r *rekeyed) finalKey() string {
	if r.newKey == "" || r.keptBy != "" {
		return UnkeyedPrefix + r.id
	}
	return r.newKey
}

// canonicalEmailKeys re-keys every account by account.NormalizeEmail. Of
// the accounts whose addresses now share a key, the one that proved its
// address keeps it (else the oldest, then the smallest id); the others, and
// accounts whose address is refused now, become unkeyed and are recorded
// in email_key_conflicts. Pending confirmation and email-change links
// follow their account's key; a change link to a refused address is
// dropped (a revert link keeps working, restoring the account unkeyed), and
// so are sign-in flows whose key changes (they live 15 minutes).
func (db *DB) canonicalEmailKeys(ctx context.Context) error {
	changed, err := db.accountsToRekey(ctx)
	if err != nil {
		return err
	}
	if changed, err = db.settleDuplicates(ctx, changed); err != nil {
		return err
	}
	if err := db.writeRekeyed(ctx, changed); err != nil {
		return err
	}
	if err := db.rekeyEmailChanges(ctx); err != nil {
		return err
	}
	return db.rekeyEmailFlows(ctx)
}

// accountsToRekey reads every account and returns those whose address or
// key is not canonical.
func (db *DB) accountsToRekey(ctx context.Context) ([]*rekeyed, error) {
	rows, err := db.Query(ctx, `SELECT id, email, email_key, email_verified, created_at FROM users`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*rekeyed
	for rows.Next() {
		r := &rekeyed{}
		if err := rows.Scan(&r.id, &r.email, &r.key, sqldb.ScanBool(&r.verified), sqldb.ScanTime(&r.created)); err != nil {
			return nil, err
		}
		if canonicalize(r) {
			out = append(out, r)
		}
	}
	return out, rows.Err()
}

// canonicalize fills in r's canonical form and reports whether it differs
// from what is stored.
func canonicalize(r *rekeyed) bool {
	email, key, err := account.NormalizeEmail(r.email)
	if err != nil {
		var e *account.Error
		r.reason = account.EmailMalformed
		if errors.As(err, &e) && e.Reason != "" {
			r.reason = e.Reason
		}
		return true
	}
	r.newEmail, r.newKey = email, key
	return email != r.email || key != r.key
}

// settleDuplicates groups the accounts by the key they are to have, with
// the account that has that key already, and picks in each group the one
// that keeps it; the others are marked duplicates. It returns changed with
// the accounts that had their key already and lose it.
func (db *DB) settleDuplicates(ctx context.Context, changed []*rekeyed) ([]*rekeyed, error) {
	moving := map[string]bool{}
	groups := map[string][]*rekeyed{}
	for _, r := range changed {
		moving[r.id] = true
		if r.newKey != "" {
			groups[r.newKey] = append(groups[r.newKey], r)
		}
	}
	keys := slices.Sorted(maps.Keys(groups))
	for _, k := range keys {
		h := &rekeyed{}
		err := db.QueryRow(ctx, `SELECT id, email, email_key, email_verified, created_at FROM users WHERE email_key = ?`, k).
			Scan(&h.id, &h.email, &h.key, sqldb.ScanBool(&h.verified), sqldb.ScanTime(&h.created))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, err
		case !moving[h.id]:
			// Canonical already; it keeps its key unless it loses below.
			h.newEmail, h.newKey = h.email, h.key
			groups[k] = append(groups[k], h)
		}
	}
	for _, k := range keys {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		slices.SortFunc(g, keeperFirst)
		for _, loser := range g[1:] {
			loser.keptBy, loser.reason = g[0].id, ReasonDuplicate
			if !moving[loser.id] {
				moving[loser.id] = true
				changed = append(changed, loser)
			}
		}
	}
	return changed, nil
}

// keeperFirst orders the accounts that share a key: the one that proved its
// address first (a squatter's sign-up has not), then the oldest, then the
// smallest id, so the choice is the same on every run.
func keeperFirst(a, b *rekeyed) int {
	if a.verified != b.verified {
		if a.verified {
			return -1
		}
		return 1
	}
	return cmp.Or(a.created.Compare(b.created), strings.Compare(a.id, b.id))
}

// writeRekeyed stores the new keys and addresses, records the conflicts and
// moves pending confirmation and change links along with their accounts'
// keys. Every account that changes key is first unkeyed, so that no UPDATE
// meets the unique index on a key another account is about to give up.
func (db *DB) writeRekeyed(ctx context.Context, changed []*rekeyed) error {
	now := db.Time(time.Now())
	for _, r := range changed {
		if r.key == r.finalKey() {
			continue
		}
		if _, err := db.Exec(ctx, `UPDATE users SET email_key = ? WHERE id = ?`, UnkeyedPrefix+r.id, r.id); err != nil {
			return fmt.Errorf("unkeying account %s: %w", r.id, err)
		}
	}
	for _, r := range changed {
		email := r.email
		if r.newKey != "" && r.keptBy == "" {
			email = r.newEmail
		}
		if _, err := db.Exec(ctx, `UPDATE users SET email = ?, email_key = ? WHERE id = ?`, email, r.finalKey(), r.id); err != nil {
			return fmt.Errorf("re-keying account %s: %w", r.id, err)
		}
		if r.finalKey() != r.newKey {
			if _, err := db.Exec(ctx, `INSERT INTO email_key_conflicts (user_id, email, old_key, canonical_key, reason, kept_by, found_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, r.id, r.email, r.key, r.newKey, r.reason, r.keptBy, now); err != nil {
				return fmt.Errorf("recording account %s: %w", r.id, err)
			}
		}
		if r.key == r.finalKey() {
			continue
		}
		// A confirmation link confirms the address its account had; a
		// change link moves an account that still has the key it had.
		if _, err := db.Exec(ctx, `UPDATE email_verifications SET email_key = ? WHERE user_id = ? AND email_key = ?`,
			r.finalKey(), r.id, r.key); err != nil {
			return err
		}
		if _, err := db.Exec(ctx, `UPDATE email_changes SET old_key = ? WHERE user_id = ? AND old_key = ?`,
			r.finalKey(), r.id, r.key); err != nil {
			return err
		}
	}
	return nil
}

// rekeyEmailChanges gives every pending change and revert link the
// canonical form of the address it leads to. A confirmation link to an
// address refused now is dropped: it would move an account to a look-alike.
// A revert link to one keeps working — it is the member's way back — and
// restores the account unkeyed.
func (db *DB) rekeyEmailChanges(ctx context.Context) error {
	type link struct {
		token            []byte
		kind, user       string
		email, key       string
		newEmail, newKey string
	}
	rows, err := db.Query(ctx, `SELECT token_hash, kind, user_id, email, email_key FROM email_changes`)
	if err != nil {
		return err
	}
	var links []link
	for rows.Next() {
		var l link
		if err := rows.Scan(&l.token, &l.kind, &l.user, &l.email, &l.key); err != nil {
			rows.Close()
			return err
		}
		var err error
		if l.newEmail, l.newKey, err = account.NormalizeEmail(l.email); err != nil {
			l.newEmail, l.newKey = l.email, ""
		}
		if l.newEmail != l.email || l.newKey != l.key {
			links = append(links, l)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, l := range links {
		var err error
		switch {
		case l.newKey != "":
			_, err = db.Exec(ctx, `UPDATE email_changes SET email = ?, email_key = ? WHERE token_hash = ?`, l.newEmail, l.newKey, l.token)
		case l.kind == "revert":
			_, err = db.Exec(ctx, `UPDATE email_changes SET email_key = ? WHERE token_hash = ?`, UnkeyedPrefix+l.user, l.token)
		default:
			_, err = db.Exec(ctx, `DELETE FROM email_changes WHERE token_hash = ?`, l.token)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// rekeyEmailFlows drops the sign-in flows whose address is not in its
// canonical form: they live 15 minutes, and a new mail can be asked for.
func (db *DB) rekeyEmailFlows(ctx context.Context) error {
	rows, err := db.Query(ctx, `SELECT id, email, email_key FROM email_flows`)
	if err != nil {
		return err
	}
	var stale []string
	for rows.Next() {
		var id, email, key string
		if err := rows.Scan(&id, &email, &key); err != nil {
			rows.Close()
			return err
		}
		if e, k, err := account.NormalizeEmail(email); err != nil || e != email || k != key {
			stale = append(stale, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range stale {
		if _, err := db.Exec(ctx, `DELETE FROM email_flows WHERE id = ?`, id); err != nil {
			return err
		}
	}
	return nil
}

// FindEmailKeyConflicts lists the accounts the canonical_email_keys
// migration left unkeyed and that are still unkeyed (an account that
// changed its address since has a key again), oldest first.
func (db *DB) FindEmailKeyConflicts(ctx context.Context) ([]EmailKeyConflict, error) {
	rows, err := db.Query(ctx, `SELECT c.user_id, c.email, c.old_key, c.canonical_key, c.reason, c.kept_by,
			COALESCE(k.email, ''), c.found_at
		FROM email_key_conflicts c
		JOIN users u ON u.id = c.user_id AND u.email_key = ? || c.user_id
		LEFT JOIN users k ON k.id = c.kept_by
		ORDER BY c.found_at, c.user_id`, UnkeyedPrefix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []EmailKeyConflict
	for rows.Next() {
		var c EmailKeyConflict
		if err := rows.Scan(&c.UserID, &c.Email, &c.OldKey, &c.CanonicalKey, &c.Reason, &c.KeptBy, &c.KeptByEmail, sqldb.ScanTime(&c.FoundAt)); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
