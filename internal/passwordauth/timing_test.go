package passwordauth_test

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/password"
	"github.com/keyshift/keyshift/internal/passwordauth"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestFailedPasswordSigninsTakeTheSameTime (docs/security.md, T7): a wrong
// password on an imported bcrypt hash took about ten times as long as an
// unknown address, so the time of the answer told imported members from
// strangers. Every failure now lasts at least a floor — the configured one,
// or 5/4 of the slowest hash format's time of the day — so the four kinds
// of failure take the same time, on the real store and hasher.
//
// It is a test of equality, not of speed: the floor (400 ms) stays above
// what a failure takes even under -race on a machine loaded many times
// over, the hashes are cheap (yet each imported one dearer than the unknown
// address's dummy Argon2id, which told them apart before), and the medians
// of 50 samples of each kind, taken in rounds of one of each at once in a
// random order after a few rounds the floor learns from, must agree
// within 10 %.
func TestFailedPasswordSigninsTakeTheSameTime(t *testing.T) {
	const (
		samples   = 50
		floor     = 400 * time.Millisecond
		warmup    = 5
		oldPW     = "the password of the old site"
		wrongPW   = "not the password at all"
		tolerance = 1.10
	)
	bc, err := bcrypt.GenerateFromPassword([]byte(oldPW), 4)
	if err != nil {
		t.Fatal(err)
	}
	salt := "Zm9yLXRpbWluZw"
	dk, err := pbkdf2.Key(sha256.New, oldPW, []byte(salt), 2000, 32)
	if err != nil {
		t.Fatal(err)
	}
	pbk := "pbkdf2_sha256$2000$" + salt + "$" + base64.StdEncoding.EncodeToString(dk)

	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		f := newFixture(t, database, cheap)
		ctx := context.Background()
		ff := password.NewFailureFloor(floor)
		// A slot for each of a round's four failures: time queued for a
		// slot is the load's and left out of the floor by design, and in a
		// closed round of four it would depend on which kinds share it.
		f.rebuild(func(_ *passwordauth.Config, d *passwordauth.Deps) {
			d.Hasher = password.NewHasher(cheap, password.NewGate(4, 5*time.Second), password.WithFailureFloor(ff))
			d.FailureFloor = ff
		})
		native, err := f.deps.Hasher.Hash(ctx, oldPW)
		if err != nil {
			t.Fatal(err)
		}
		kinds := []struct{ name, hash, format string }{
			{"unknown address", "", ""},
			{"native account", native, "argon2id"},
			{"imported bcrypt", string(bc), "bcrypt"},
			{"imported pbkdf2", pbk, "pbkdf2-sha256"},
		}
		// Members made as `keyshift import` makes them, one per sample, so
		// that no account's own throttle key is touched twice.
		now := f.clock.Now()
		for k, kind := range kinds {
			if kind.hash == "" {
				continue
			}
			for i := range samples + warmup {
				email := fmt.Sprintf("m%d-%d@example.com", k, i)
				u := &account.User{ID: f.deps.Random.NewID(), Email: email, EmailKey: email, WebAuthnID: []byte(f.deps.Random.NewID()),
					Origin: account.OriginImport, CreatedAt: now, UpdatedAt: now}
				if err := f.db.CreateUser(ctx, u); err != nil {
					t.Fatal(err)
				}
				if err := f.db.CreateCredential(ctx, &account.Credential{ID: f.deps.Random.NewID(), UserID: u.ID, Type: account.CredentialPassword,
					PasswordHash: kind.hash, PasswordFormat: kind.format, CreatedAt: now, UpdatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
		}
		var ip atomic.Int64
		fail := func(k, i int) time.Duration {
			n := ip.Add(1) // an address per attempt: per-IP limits stay out of it
			c := account.Client{IP: fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255)}
			start := time.Now()
			_, err := f.svc.SigninPassword(ctx, fmt.Sprintf("m%d-%d@example.com", k, i), wrongPW, c)
			took := time.Since(start)
			if !account.IsCode(err, account.EInvalidCredentials) {
				t.Errorf("%s: %v, want invalid_credentials", kinds[k].name, err)
			}
			return took
		}
		// A few rounds first, as a server that has run a while has seen
		// them: the floor follows the slowest kind of the day.
		round := func(i int) []time.Duration {
			// One failure of each kind at once, started in a random order,
			// so that load and queueing hit every kind alike.
			took := make([]time.Duration, len(kinds))
			var wg sync.WaitGroup
			for _, k := range rand.Perm(len(kinds)) {
				wg.Go(func() { took[k] = fail(k, i) })
			}
			wg.Wait()
			return took
		}
		for i := range warmup {
			round(samples + i)
		}
		times := make([][]time.Duration, len(kinds))
		for i := range samples {
			for k, d := range round(i) {
				times[k] = append(times[k], d)
			}
		}
		medians := make([]time.Duration, len(kinds))
		for k := range kinds {
			slices.Sort(times[k])
			medians[k] = times[k][samples/2]
			t.Logf("%-16s median %v (min %v, max %v)", kinds[k].name, medians[k], times[k][0], times[k][samples-1])
		}
		if lo, hi := slices.Min(medians), slices.Max(medians); float64(hi) > float64(lo)*tolerance {
			t.Errorf("median times of failed sign-ins differ by more than %.0f %%: %v", (tolerance-1)*100, medians)
		}
		if lo := slices.Min(medians); lo < floor {
			t.Errorf("failures took %v (median), less than the floor of %v", lo, floor)
		}
	})
}
