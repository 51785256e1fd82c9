package store

import (
	"github.com/keyshift/keyshift/internal/email/change"
	"github.com/keyshift/keyshift/internal/email/confirm"
	"github.com/keyshift/keyshift/internal/email/link"
	"github.com/keyshift/keyshift/internal/email/signin"
	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// Every mailed link is found and taken through sqldb.Links (one SELECT,
// one DELETE … RETURNING per table); these name each table's.

// EmailFlowLinks implements signin.Store.
func (db *DB) EmailFlowLinks() link.Store[signin.Flow] { return db.emailFlows() }

func (db *DB) emailFlows() sqldb.Links[signin.Flow] {
	return sqldb.Links[signin.Flow]{DB: db.DB, Table: "email_flows", Columns: emailFlowColumns, Scan: scanEmailFlow}
}

// EmailVerificationLinks implements confirm.Store.
func (db *DB) EmailVerificationLinks() link.Store[confirm.Verification] {
	return sqldb.Links[confirm.Verification]{DB: db.DB, Table: "email_verifications", Columns: emailVerificationColumns, Scan: scanEmailVerification}
}

// EmailChangeLinks implements change.Store.
func (db *DB) EmailChangeLinks(kind change.Kind) link.Store[change.Change] {
	return sqldb.Links[change.Change]{DB: db.DB, Table: "email_changes", Columns: emailChangeColumns, Scan: scanEmailChange,
		Where: `kind = ?`, Args: []any{string(kind)}}
}
