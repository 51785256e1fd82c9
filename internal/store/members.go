package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// Member is one account as `keyshift export` writes it: the user, their
// password credential (nil when they have none) and their passkeys, oldest
// first.
type Member struct {
	User     account.User
	Password *account.Credential
	Passkeys []account.Credential
}

// DefaultMemberPage is how many members EachMember reads per page: large
// enough that the per-page queries cost little, small enough that a page
// (with its passkeys) stays well under a megabyte.
const DefaultMemberPage = 1000

// EachMember calls fn for every member, ordered by user id, reading pageSize
// members (≤ 0: DefaultMemberPage) and then their credentials per page, so
// memory stays constant whatever the database size. fn must not keep m past
// its return: the page holding it is reused. An error from fn stops the walk and is
// returned as is.
//
// The whole walk runs in one read-only transaction on the read pool, so it
// sees one snapshot of the database: a member signing up or adding a passkey
// meanwhile is either wholly in the export or not at all. On PostgreSQL the
// transaction is REPEATABLE READ (one snapshot for every statement); on
// SQLite a read transaction in WAL mode sees the database as of its first
// read. The price is that the snapshot is held for the whole export: SQLite
// cannot checkpoint the WAL past it and PostgreSQL cannot vacuum rows
// deleted meanwhile, until the export ends. Writers are never blocked.
func (db *DB) EachMember(ctx context.Context, pageSize int, fn func(m *Member) error) (err error) {
	if pageSize <= 0 {
		pageSize = DefaultMemberPage
	}
	tx, err := db.BeginSnapshot(ctx)
	if err != nil {
		return fmt.Errorf("export: begin: %w", err)
	}
	// A read-only transaction has nothing to commit; rolling back ends it
	// the same way whatever happened.
	defer tx.Rollback()
	if db.Dialect() == "postgres" {
		// A page is a thousand members: parallel workers never pay for
		// their start there, but a planner that overestimates the page (no
		// statistics yet after a large import) starts one for every page.
		if _, err := tx.ExecContext(ctx, `SET LOCAL max_parallel_workers_per_gather = 0`); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	users, err := tx.PrepareContext(ctx, db.Rebind(`SELECT id, email, email_key, email_verified, name, COALESCE(external_id, ''),
		webauthn_id, created_at, updated_at, origin FROM users WHERE id > ? ORDER BY id LIMIT ?`))
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer users.Close()
	// The credentials of a page are those whose user_id lies between the
	// page's first and last user id: a range scan of credentials_user, with
	// no list of ids to bind. Passkeys made in the same millisecond are
	// ordered by credential id, which an import keeps, not by the row id,
	// which it does not: an export, an import and a second export give the
	// same file.
	creds, err := tx.PrepareContext(ctx, db.Rebind(`SELECT type, COALESCE(password_hash, ''), COALESCE(password_format, ''),
		`+passkeyColumns+` FROM credentials WHERE user_id >= ? AND user_id <= ? ORDER BY created_at, credential_id`))
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer creds.Close()

	page := make([]Member, 0, pageSize)
	after := ""
	for {
		page, err = readUserPage(ctx, users, after, pageSize, page[:0])
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		if err := readCredentials(ctx, creds, page); err != nil {
			return err
		}
		for i := range page {
			if err := fn(&page[i]); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		after = page[len(page)-1].User.ID
	}
}

// readUserPage reads up to n users with ids after after into page.
func readUserPage(ctx context.Context, st *sql.Stmt, after string, n int, page []Member) ([]Member, error) {
	rows, err := st.QueryContext(ctx, after, n)
	if err != nil {
		return nil, fmt.Errorf("export: users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		page = append(page, Member{})
		u := &page[len(page)-1].User
		if err := rows.Scan(&u.ID, &u.Email, &u.EmailKey, sqldb.ScanBool(&u.EmailVerified), &u.Name, &u.ExternalID,
			&u.WebAuthnID, sqldb.ScanTime(&u.CreatedAt), sqldb.ScanTime(&u.UpdatedAt), (*string)(&u.Origin)); err != nil {
			return nil, fmt.Errorf("export: users: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export: users: %w", err)
	}
	return page, nil
}

// readCredentials attaches to each member of page its password and
// passkeys. Owners are found by id, not by walking both lists in order:
// PostgreSQL orders text by the database's collation, which is not Go's
// byte order.
func readCredentials(ctx context.Context, st *sql.Stmt, page []Member) error {
	rows, err := st.QueryContext(ctx, page[0].User.ID, page[len(page)-1].User.ID)
	if err != nil {
		return fmt.Errorf("export: credentials: %w", err)
	}
	defer rows.Close()
	owner := make(map[string]int, len(page))
	for i := range page {
		owner[page[i].User.ID] = i
	}
	for rows.Next() {
		var c account.Credential
		var typ, hash, format, tr string
		if err := rows.Scan(append([]any{&typ, &hash, &format}, passkeyDest(&c, &tr)...)...); err != nil {
			return fmt.Errorf("export: credentials: %w", err)
		}
		i, ok := owner[c.UserID]
		if !ok {
			// Unreachable while users and credentials come from one snapshot
			// and the foreign key holds; a clear error beats a wrong file.
			return fmt.Errorf("export: credential %s belongs to no user of its page", c.ID)
		}
		m := &page[i]
		switch account.CredentialType(typ) {
		case account.CredentialPassword:
			m.Password = &account.Credential{ID: c.ID, UserID: c.UserID, Type: account.CredentialPassword,
				PasswordHash: hash, PasswordFormat: format, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, LastUsedAt: c.LastUsedAt}
		case account.CredentialWebAuthn:
			c.Type = account.CredentialWebAuthn
			c.Transports = splitTransports(tr)
			m.Passkeys = append(m.Passkeys, c)
		default:
			return fmt.Errorf("export: credential %s has unknown type %q", c.ID, typ)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export: credentials: %w", err)
	}
	return nil
}
