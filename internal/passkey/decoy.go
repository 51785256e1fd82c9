package passkey

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
)

// Decoys. A username-first sign-in for an address with no passkeys answers
// with made-up credential descriptors instead of an empty list, so the
// answer does not say whether the address has an account or passkeys. A
// decoy is only as good as its likeness: made-up answers are drawn from the
// same distribution as real ones — how many passkeys members have, and the
// id lengths and transports of their passkeys, as the database holds them —
// and are stable per address (a keyed hash seeds the draw), so asking twice
// gives the same answer, as it does for a real member.

// Shapes is what real username-first answers look like, as counts. Every
// weight is the number of members (Counts) or passkeys (Creds) seen so.
type Shapes struct {
	// Counts is how many members have n passkeys, for n ≥ 1.
	Counts []Weighted[int]
	// Creds is how many passkeys have an id of a length with transports.
	Creds []Weighted[CredShape]
}

// Weighted is a value seen Weight times.
type Weighted[T any] struct {
	Value  T
	Weight int64
}

// CredShape is what a credential descriptor shows of a passkey.
type CredShape struct {
	IDLen      int
	Transports string // comma-separated, in the order the browser reported them
}

// MinShapeSample is how many passkeys the database must hold before decoys
// follow its distribution; below it, builtinShapes stand in, as a handful
// of passkeys would make every decoy a copy of one real answer's shape.
const MinShapeSample = 50

// builtinShapes is a distribution like that of a site whose members use
// the common synced providers and a few security keys: most have one
// passkey, ids of 16 or 20 bytes (platform and password-manager passkeys)
// with hybrid and internal transports, some 32- and 64-byte ids of
// security keys. It stands in until the database holds MinShapeSample
// passkeys.
var builtinShapes = Shapes{
	Counts: []Weighted[int]{{1, 70}, {2, 22}, {3, 6}, {4, 2}},
	Creds: []Weighted[CredShape]{
		{CredShape{16, "hybrid,internal"}, 40}, {CredShape{20, "hybrid,internal"}, 30},
		{CredShape{16, "internal"}, 8}, {CredShape{32, "internal"}, 6}, {CredShape{32, ""}, 4},
		{CredShape{64, "nfc,usb"}, 7}, {CredShape{48, "usb"}, 5},
	},
}

// shapeRefresh is how often the distribution is read again from the
// database: it moves slowly, and the query reads every passkey.
const shapeRefresh = 10 * time.Minute

// shapeCache holds the distribution decoys are drawn from.
type shapeCache struct {
	mu      sync.Mutex
	shapes  Shapes
	readAt  time.Time
	reading bool
}

// RefreshDecoyShapes reads the distribution of real answers from the
// database now. The server calls it at start and from its janitor;
// BeginLogin also refreshes a stale one in the background.
func (s *Service) RefreshDecoyShapes(ctx context.Context) error {
	sh, err := s.ceremonies.PasskeyShapes(ctx)
	if err != nil {
		return err
	}
	s.shapes.mu.Lock()
	s.shapes.shapes, s.shapes.readAt = sh, s.now()
	s.shapes.mu.Unlock()
	return nil
}

// currentShapes returns the distribution to draw decoys from: the
// database's when it holds enough passkeys, else builtinShapes. A stale
// one is refreshed in the background; the request never waits for it.
func (s *Service) currentShapes() Shapes {
	s.shapes.mu.Lock()
	defer s.shapes.mu.Unlock()
	if s.now().Sub(s.shapes.readAt) > shapeRefresh && !s.shapes.reading {
		s.shapes.reading = true
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := s.RefreshDecoyShapes(ctx); err != nil {
				s.log.Warn("reading the distribution of passkeys for decoys", "err", err)
			}
			s.shapes.mu.Lock()
			s.shapes.reading = false
			s.shapes.mu.Unlock()
		}()
	}
	var n int64
	for _, c := range s.shapes.shapes.Creds {
		n += c.Weight
	}
	if n < MinShapeSample || len(s.shapes.shapes.Counts) == 0 {
		return builtinShapes
	}
	return s.shapes.shapes
}

// decoys returns made-up credential descriptors for an address that has no
// passkeys: a count and, for each, an id length and transports drawn from
// sh, and random-looking ids, all from a generator seeded with a keyed hash
// of the address, so the same address always gets the same answer and
// nobody without the key can tell it from a real one.
func (s *Service) decoys(emailKey string, sh Shapes) []protocol.CredentialDescriptor {
	m := hmac.New(sha256.New, s.cfg.DecoyKey)
	m.Write([]byte("decoy v2\x00" + emailKey))
	var seed [32]byte
	copy(seed[:], m.Sum(nil))
	r := rand.New(rand.NewChaCha8(seed))
	n := draw(r, sh.Counts)
	out := make([]protocol.CredentialDescriptor, 0, n)
	for range n {
		shape := draw(r, sh.Creds)
		id := make([]byte, shape.IDLen)
		for i := range id {
			id[i] = byte(r.Uint32())
		}
		d := protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: id}
		for _, t := range splitTransports(shape.Transports) {
			d.Transport = append(d.Transport, protocol.AuthenticatorTransport(t))
		}
		out = append(out, d)
	}
	return out
}

// draw picks a value with probability proportional to its weight.
func draw[T any](r *rand.Rand, ws []Weighted[T]) T {
	var total int64
	for _, w := range ws {
		total += max(w.Weight, 0)
	}
	var zero T
	if total == 0 {
		return zero
	}
	x := r.Int64N(total)
	for _, w := range ws {
		if x < max(w.Weight, 0) {
			return w.Value
		}
		x -= max(w.Weight, 0)
	}
	return ws[len(ws)-1].Value
}

func splitTransports(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
