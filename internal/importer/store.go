package importer

import (
	"context"
	"errors"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// Store is the storage an import needs; package store implements it. Every
// method joins the transaction InTx put in ctx.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// TuneForImport readies the database for bulk writes and returns what
	// to do once a run has imported rows, outside its transactions
	// (PostgreSQL: refresh the planner's statistics of the tables it filled).
	TuneForImport(ctx context.Context) (after func(context.Context) error, err error)
	// ImportWriters is how many import transactions are worth running at
	// once: 1 where the database has one writer connection, and then never
	// more than one.
	ImportWriters() int
	// CreateImport records a new run.
	CreateImport(ctx context.Context, r *Import) error
	// FindLatestImport returns the newest run of the file with this size
	// and SHA-256; ENotFound when there is none.
	FindLatestImport(ctx context.Context, sha256 []byte, size int64) (*Import, error)
	// SaveImport writes a run's place in its file, counts and status.
	SaveImport(ctx context.Context, r *Import) error
	// AbandonImports marks every unfinished run of the file but keep as
	// abandoned: a fresh run replaces them.
	AbandonImports(ctx context.Context, sha256 []byte, size int64, keep string, at time.Time) error
	// FindImportMatches returns what of keys the database holds already:
	// an address an account holds reserved at keys.At matches that account
	// (account.Reservation).
	FindImportMatches(ctx context.Context, keys *Keys) (*Matches, error)
	// HasEmailReservations reports whether any account holds an address
	// reserved at now.
	HasEmailReservations(ctx context.Context, now time.Time) (bool, error)
	// InsertUsers inserts users, skipping any that would break a unique
	// key, and returns how many it inserted. With fresh the caller expects
	// no row to clash, and the store may instead fail the call with an
	// error wrapping ErrKeyTaken when one does (the transaction is then
	// spoiled): PostgreSQL inserts a third faster without ON CONFLICT.
	// Each account records importID, the run that made it.
	InsertUsers(ctx context.Context, importID string, users []*account.User, fresh bool) (int64, error)
	// InsertCredentials is InsertUsers for credentials.
	InsertCredentials(ctx context.Context, creds []*account.Credential, fresh bool) (int64, error)
	AppendEvent(ctx context.Context, e *account.Event) error
}

// ErrKeyTaken is what InsertUsers and InsertCredentials wrap when, asked
// for fresh rows, one broke a unique key.
var ErrKeyTaken = errors.New("a row's unique key is taken")

// Import is one `keyshift import` of one file, as the imports table keeps it.
type Import struct {
	ID       string
	FileName string
	FileSize int64
	SHA256   []byte
	Format   string
	Status   string // StatusRunning, StatusDone or StatusAbandoned
	// Offset and Line are just past the last row of the last committed
	// batch: where --resume reads on.
	Offset     int64
	Line       int
	Counts     Counts
	StartedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time // zero while running
}

// Run statuses.
const (
	StatusRunning   = "running"
	StatusDone      = "done"
	StatusAbandoned = "abandoned"
)

// Keys are what a batch asks the database about.
type Keys struct {
	ExternalIDs   []string
	EmailKeys     []string
	CredentialIDs [][]byte
	UserHandles   [][]byte
	// At is when the batch is written: an address an account holds
	// reserved then (account.Reservation) matches that account.
	At time.Time
}

// Match is an existing account a row matched.
type Match struct {
	UserID     string
	ExternalID string
	EmailKey   string
	// EmailVerified and Origin decide whether an address match may be the
	// row's member (classify).
	EmailVerified bool
	Origin        account.Origin
	// ImportID is the import run that made the account; "" for any other
	// account, and for an address the account only holds reserved.
	ImportID string
}

// Matches are the Keys the database holds already. Byte keys are held as
// strings; a credential id or user handle maps to the ImportID of its
// account.
type Matches struct {
	ByExternalID  map[string]Match
	ByEmailKey    map[string]Match
	CredentialIDs map[string]string
	UserHandles   map[string]string
}

// any reports whether the database holds any of the keys asked about.
func (m *Matches) any() bool {
	return len(m.ByExternalID)+len(m.ByEmailKey)+len(m.CredentialIDs)+len(m.UserHandles) > 0
}
