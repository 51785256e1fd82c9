package link_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/link"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// row is what a flow stores with its link in these tests.
type row struct {
	Hash    []byte
	Owner   string
	Expires time.Time
}

// memLinks is a link.Store in memory that logs each call, so a test can
// tell the order of read, lock and take.
type memLinks struct {
	rows []*row
	log  *[]string
	// beforeTake runs just before a take: another request's work while
	// this one waited for the lock.
	beforeTake func()
}

func (m *memLinks) find(hash []byte, now time.Time) (int, *row) {
	for i, r := range m.rows {
		if bytes.Equal(r.Hash, hash) && now.Before(r.Expires) {
			return i, r
		}
	}
	return -1, nil
}

func (m *memLinks) FindLink(_ context.Context, hash []byte, now time.Time) (*row, error) {
	*m.log = append(*m.log, "find")
	if _, r := m.find(hash, now); r != nil {
		c := *r
		return &c, nil
	}
	return nil, &account.Error{Code: account.ENotFound}
}

func (m *memLinks) TakeLink(_ context.Context, hash []byte, now time.Time) (*row, error) {
	if m.beforeTake != nil {
		m.beforeTake()
	}
	*m.log = append(*m.log, "take")
	if i, r := m.find(hash, now); r != nil {
		m.rows = slices.Delete(m.rows, i, i+1)
		return r, nil
	}
	return nil, &account.Error{Code: account.ENotFound}
}

// counter makes tokens as account.NewToken does, from a fixed sequence.
type counter struct{ n int }

func (c *counter) NewToken() string {
	c.n++
	return "token-" + string(rune('a'+c.n))
}

func TestNewStoresOnlyTheHash(t *testing.T) {
	token, hash := link.New(&counter{})
	if token == "" || !bytes.Equal(hash, account.HashToken(token)) || !bytes.Equal(link.Hash(token), hash) {
		t.Fatalf("New = %q, %x; want a token and its SHA-256", token, hash)
	}
	if bytes.Contains(hash, []byte(token)) {
		t.Error("the stored hash holds the token")
	}
	other, _ := link.New(&counter{n: 1})
	if other == token {
		t.Error("two links share a token")
	}
}

func TestTake(t *testing.T) {
	token, hash := link.New(&counter{})
	fresh := func(log *[]string) *memLinks {
		return &memLinks{rows: []*row{{Hash: hash, Owner: "ada", Expires: t0.Add(time.Hour)}}, log: log}
	}
	lockErr := errors.New("lock failed")
	tests := []struct {
		name    string
		token   string
		now     time.Time
		lock    error
		raced   bool // another request takes the link while this one waits for the lock
		wantErr error
		wantLog []string
	}{
		{name: "reads, locks the owner, then takes", token: token, now: t0, wantLog: []string{"find", "lock ada", "take"}},
		{name: "refuses a token that cannot be one without a query", token: "not a token!", now: t0, wantErr: link.ErrUnknown},
		{name: "refuses an empty token without a query", token: "", now: t0, wantErr: link.ErrUnknown},
		{name: "refuses an unknown token before any lock", token: token + "x", now: t0, wantErr: link.ErrUnknown, wantLog: []string{"find"}},
		{name: "refuses an expired link before any lock", token: token, now: t0.Add(time.Hour), wantErr: link.ErrUnknown, wantLog: []string{"find"}},
		{name: "passes the lock's error on and takes nothing", token: token, now: t0, lock: lockErr, wantErr: lockErr, wantLog: []string{"find", "lock ada"}},
		{name: "refuses a link taken while it waited for the lock", token: token, now: t0, raced: true, wantErr: link.ErrUnknown,
			wantLog: []string{"find", "lock ada", "take"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log []string
			links := fresh(&log)
			if tt.raced {
				links.beforeTake = func() { links.rows = nil }
			}
			got, err := link.Take(t.Context(), link.Store[row](links), tt.token, tt.now, func(_ context.Context, r *row) error {
				log = append(log, "lock "+r.Owner)
				return tt.lock
			})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Take = %+v, %v; want %v", got, err, tt.wantErr)
			}
			if !slices.Equal(log, tt.wantLog) {
				t.Errorf("calls %q, want %q", log, tt.wantLog)
			}
			if tt.wantErr != nil {
				if len(links.rows) != 1 && !tt.raced {
					t.Error("a refused take used the link up")
				}
				return
			}
			if got.Owner != "ada" || len(links.rows) != 0 {
				t.Errorf("took %+v, %d links left; want ada's, none left", got, len(links.rows))
			}
			if _, err := link.Take(t.Context(), link.Store[row](links), tt.token, tt.now, func(context.Context, *row) error { return nil }); !errors.Is(err, link.ErrUnknown) {
				t.Errorf("a second use: %v, want ErrUnknown", err)
			}
		})
	}
}
