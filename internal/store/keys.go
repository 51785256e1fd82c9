package store

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/keyshift/keyshift/internal/store/sqldb"
)

// ServerKey returns the secret named name, creating a random one of size
// bytes on first use. Every node reads the same row, so a cookie signed by
// one node verifies on another; when two nodes race to create it, the
// insert that loses is ignored and both read the winner.
func (db *DB) ServerKey(ctx context.Context, name string, size int) ([]byte, error) {
	secret := make([]byte, size)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	if _, err := db.Exec(ctx, `INSERT INTO server_keys (name, secret, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		name, secret, db.Time(time.Now())); err != nil {
		return nil, err
	}
	var got []byte
	err := db.QueryRowW(ctx, `SELECT secret FROM server_keys WHERE name = ?`, name).Scan(&got)
	return got, sqldb.ScanErr(err, "server key")
}
