package sqldb

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/keyshift/keyshift/internal/account"
)

// NotFound is the coded error for a missing row: never (nil, nil).
func NotFound(what string) error {
	return account.Errorf(account.ENotFound, "%s not found", what)
}

// ScanErr turns sql.ErrNoRows into a coded not-found error.
func ScanErr(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return NotFound(what)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Affected turns "no row changed" into a coded not-found error.
func Affected(res interface{ RowsAffected() (int64, error) }, err error, what string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return NotFound(what)
	}
	return nil
}

// NullString is s as a column value, NULL when empty.
func NullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// NullBytes is b as a column value, NULL when empty.
func NullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Placeholders is n "?" placeholders, comma-separated, for IN (…) and
// VALUES (…).
func Placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// Anys is vs as query arguments.
func Anys[T any](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}
