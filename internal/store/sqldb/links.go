package sqldb

import (
	"context"
	"time"
)

// Links is one table of single-use links (package email/link): every
// mailed link is found and taken through here, by its token_hash and while
// its expires_at is ahead, whatever else its table holds. It implements
// link.Store[T].
type Links[T any] struct {
	DB    *DB
	Table string
	// Columns are returned by every statement, in Scan's order.
	Columns string
	Scan    func(Row) (*T, error)
	// Where narrows the table to one kind of link ("" for every row),
	// with Args for its placeholders.
	Where string
	Args  []any
}

// FindLink implements link.Store: a read, so that the account's lock is
// taken before the link is (link.Take).
func (l Links[T]) FindLink(ctx context.Context, hash []byte, now time.Time) (*T, error) {
	q, args := l.live("token_hash", hash, now)
	return l.Scan(l.DB.QueryRow(ctx, `SELECT `+l.Columns+` FROM `+l.Table+` WHERE `+q, args...))
}

// TakeLink implements link.Store: one DELETE … RETURNING, so a link works
// once however many requests race, on any node.
func (l Links[T]) TakeLink(ctx context.Context, hash []byte, now time.Time) (*T, error) {
	return l.TakeBy(ctx, "token_hash", hash, now)
}

// TakeBy deletes and returns the live row whose column equals key, in one
// statement.
func (l Links[T]) TakeBy(ctx context.Context, column string, key any, now time.Time) (*T, error) {
	q, args := l.live(column, key, now)
	return l.Scan(l.DB.QueryRowW(ctx, `DELETE FROM `+l.Table+` WHERE `+q+` RETURNING `+l.Columns, args...))
}

// live is the condition, and its arguments, of the live row whose column
// equals key.
func (l Links[T]) live(column string, key any, now time.Time) (string, []any) {
	q, args := column+` = ?`, []any{key}
	if l.Where != "" {
		q += ` AND ` + l.Where
		args = append(args, l.Args...)
	}
	return q + ` AND expires_at > ?`, append(args, l.DB.Time(now))
}
