package passkey

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

func testSealer(t *testing.T, secret byte, rpID, origin string) *sealer {
	t.Helper()
	s, err := newSealer(bytes.Repeat([]byte{secret}, 32), rpID, origin)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealOpensWhatItSealed(t *testing.T) {
	s := testSealer(t, 1, "example.com", "https://example.com")
	now := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	in := &sealedFlow{ID: bytes.Repeat([]byte{7}, 16), Expires: now.Add(5 * time.Minute).UnixMilli(), Data: flowData{
		Session: webauthn.SessionData{Challenge: "Y2hhbGxlbmdl", RelyingPartyID: "example.com", UserID: []byte("handle"),
			AllowedCredentialIDs: [][]byte{[]byte("cred-1"), []byte("cred-2")}, UserVerification: protocol.VerificationRequired},
		Username: true,
	}}
	id, err := s.seal(in, now)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" || len(id) > maxSealedFlowID {
		t.Fatalf("flowId %q is not short base64url", id)
	}
	if strings.Contains(string(mustUnb64(t, id)), "Y2hhbGxlbmdl") {
		t.Fatal("the challenge is readable in the flowId")
	}
	got, err := s.open(id, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.ID, in.ID) || got.Expires != in.Expires || got.Data.Session.Challenge != in.Data.Session.Challenge ||
		!bytes.Equal(got.Data.Session.UserID, in.Data.Session.UserID) || len(got.Data.Session.AllowedCredentialIDs) != 2 ||
		!got.Data.Username || got.Data.Session.UserVerification != protocol.VerificationRequired {
		t.Errorf("opened %+v, want %+v", got, in)
	}
	again, err := s.seal(in, now)
	if err != nil || again == id {
		t.Errorf("sealing twice gave the same flowId (%v): the nonce must be fresh", err)
	}
}

func mustUnb64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSealRefuses: everything that did not come from this secret, this RP
// and a current key does not open, and says nothing about why.
func TestSealRefuses(t *testing.T) {
	s := testSealer(t, 1, "example.com", "https://example.com")
	now := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	f := &sealedFlow{ID: bytes.Repeat([]byte{7}, 16), Expires: now.Add(5 * time.Minute).UnixMilli()}
	good, err := s.seal(f, now)
	if err != nil {
		t.Fatal(err)
	}
	raw := mustUnb64(t, good)
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	sealedBy := func(o *sealer, at time.Time) string {
		id, err := o.seal(f, at)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	tests := []struct {
		name string
		id   string
		at   time.Time
	}{
		{"refuses an empty flowId", "", now},
		{"refuses a random stored-ceremony id", "AAAAAAAAAAAAAAAAAAAAAA", now},
		{"refuses what is not base64url", good[:20] + "!" + good[21:], now},
		{"refuses padded base64", good + "==", now},
		{"refuses a flowId cut short", good[:len(good)-4], now},
		{"refuses a header alone", base64.RawURLEncoding.EncodeToString(raw[:sealHeader]), now},
		{"refuses another version", flip(0), now},
		{"refuses an altered epoch", flip(4), now},
		{"refuses an altered nonce", flip(sealHeader + 1), now},
		{"refuses an altered ciphertext", flip(sealHeader + 12 + 3), now},
		{"refuses an altered tag", flip(len(raw) - 1), now},
		{"refuses one sealed under another secret", sealedBy(testSealer(t, 2, "example.com", "https://example.com"), now), now},
		{"refuses one sealed for another RP ID", sealedBy(testSealer(t, 1, "example.org", "https://example.com"), now), now},
		{"refuses one sealed for another origin", sealedBy(testSealer(t, 1, "example.com", "https://login.example.com"), now), now},
		{"refuses a key two epochs old", good, now.Add(2 * sealEpoch)},
		{"refuses a key two epochs ahead", good, now.Add(-2 * sealEpoch)},
		{"refuses 10 KiB of base64url", strings.Repeat("A", 10<<10), now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.open(tt.id, tt.at); !errors.Is(err, errUnsealable) {
				t.Errorf("open = %v, want errUnsealable", err)
			}
		})
	}
}

// TestSealKeyRotation: the key changes every epoch; a ceremony sealed under
// the previous epoch's key still opens (begun just before the change), and
// one of the next epoch too (a node whose clock runs ahead).
func TestSealKeyRotation(t *testing.T) {
	s := testSealer(t, 1, "example.com", "https://example.com")
	other := testSealer(t, 1, "example.com", "https://example.com") // another node, same secret
	end := time.Unix(int64(epochOf(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))+1)*int64(sealEpoch/time.Second), 0)
	f := &sealedFlow{ID: bytes.Repeat([]byte{9}, 16)}
	before, err := s.seal(f, end.Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	after, err := s.seal(f, end)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(mustUnb64(t, before)[1:sealHeader], mustUnb64(t, after)[1:sealHeader]) {
		t.Fatal("both sides of the epoch's end name the same epoch")
	}
	a1, _ := s.aead(epochOf(end.Add(-time.Second)))
	a2, _ := s.aead(epochOf(end))
	if a1 == a2 {
		t.Fatal("one key for two epochs")
	}
	for _, tt := range []struct {
		name string
		id   string
		at   time.Time
	}{
		{"opens the previous epoch's ceremony after the change", before, end.Add(time.Hour)},
		{"opens the next epoch's ceremony on a node still before the change", after, end.Add(-time.Minute)},
		{"opens the current epoch's ceremony", after, end.Add(time.Minute)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := other.open(tt.id, tt.at)
			if err != nil || !bytes.Equal(got.ID, f.ID) {
				t.Errorf("open = %+v, %v", got, err)
			}
		})
	}
}

func TestNewSealerWantsAKey(t *testing.T) {
	if _, err := newSealer(make([]byte, 16), "example.com", "https://example.com"); err == nil {
		t.Error("newSealer accepted a 16-byte secret")
	}
}

// TestSealedFlowIDStaysSmall: a discoverable sign-in's flowId, as
// BeginLogin makes it, is a few hundred characters: the browser sends it
// back in every finish, and the request size limit applies to it too.
func TestSealedFlowIDStaysSmall(t *testing.T) {
	svc, err := New(Config{RPID: "example.com", RPName: "Example", Origin: "https://example.com",
		Algorithms: []string{"ES256"}, ChallengeTTL: 5 * time.Minute, CeremonyKey: bytes.Repeat([]byte{1}, 32)},
		nil, nil, Deps{Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	req, err := svc.BeginLogin(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("discoverable flowId: %d characters", len(req.FlowID))
	if len(req.FlowID) > 512 {
		t.Errorf("flowId of %d characters, want at most 512", len(req.FlowID))
	}
	if _, err := svc.openLogin(req.FlowID, "passkey_rejected"); err != nil {
		t.Errorf("the service does not open its own flowId: %v", err)
	}
}
