package store

import (
	"context"
	"time"

	"github.com/keyshift/keyshift/internal/email/change"
	"github.com/keyshift/keyshift/internal/email/confirm"
	"github.com/keyshift/keyshift/internal/email/link"
	"github.com/keyshift/keyshift/internal/email/signin"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// links is one table of single-use links (package link): every mailed
// link is found and taken through here, by its token_hash and while its
// expires_at is ahead, whatever else its table holds.
type links[T any] struct {
	db    *DB
	table string
	// columns are returned by every statement, in scan's order.
	columns string
	scan    func(sqldb.Row) (*T, error)
	// where narrows the table to one kind of link ("" for every row),
	// with args for its placeholders.
	where string
	args  []any
}

// FindLink implements link.Store: a read, so that the account's lock is
// taken before the link is (link.Take).
func (l links[T]) FindLink(ctx context.Context, hash []byte, now time.Time) (*T, error) {
	q, args := l.live("token_hash", hash, now)
	return l.scan(l.db.QueryRow(ctx, `SELECT `+l.columns+` FROM `+l.table+` WHERE `+q, args...))
}

// TakeLink implements link.Store: one DELETE … RETURNING, so a link works
// once however many requests race, on any node.
func (l links[T]) TakeLink(ctx context.Context, hash []byte, now time.Time) (*T, error) {
	return l.takeBy(ctx, "token_hash", hash, now)
}

// takeBy deletes and returns the live row whose column equals key, in one
// statement.
func (l links[T]) takeBy(ctx context.Context, column string, key any, now time.Time) (*T, error) {
	q, args := l.live(column, key, now)
	return l.scan(l.db.QueryRowW(ctx, `DELETE FROM `+l.table+` WHERE `+q+` RETURNING `+l.columns, args...))
}

// live is the condition, and its arguments, of the live row whose column
// equals key.
func (l links[T]) live(column string, key any, now time.Time) (string, []any) {
	q, args := column+` = ?`, []any{key}
	if l.where != "" {
		q += ` AND ` + l.where
		args = append(args, l.args...)
	}
	return q + ` AND expires_at > ?`, append(args, l.db.Time(now))
}

// EmailFlowLinks implements signin.Store.
func (db *DB) EmailFlowLinks() link.Store[signin.Flow] { return db.emailFlows() }

func (db *DB) emailFlows() links[signin.Flow] {
	return links[signin.Flow]{db: db, table: "email_flows", columns: emailFlowColumns, scan: scanEmailFlow}
}

// EmailVerificationLinks implements confirm.Store.
func (db *DB) EmailVerificationLinks() link.Store[confirm.Verification] {
	return links[confirm.Verification]{db: db, table: "email_verifications", columns: emailVerificationColumns, scan: scanEmailVerification}
}

// EmailChangeLinks implements change.Store.
func (db *DB) EmailChangeLinks(kind change.Kind) link.Store[change.Change] {
	return links[change.Change]{db: db, table: "email_changes", columns: emailChangeColumns, scan: scanEmailChange,
		where: `kind = ?`, args: []any{string(kind)}}
}
