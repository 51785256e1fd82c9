package outbox

import (
	"bytes"
	"errors"
	"testing"

	"github.com/keyshift/keyshift/internal/pepper"
)

func testSealer(t *testing.T) *sealer {
	t.Helper()
	p, err := pepper.New(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSealer(pepper.Set{Current: p}.Keys(SealPurpose))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestASealedMailOpensOnlyForItsRecipientAndKind: the recipient and kind are
// associated data, so a sealed value copied onto another row (another
// recipient) or altered does not open.
func TestASealedMailOpensOnlyForItsRecipientAndKind(t *testing.T) {
	s := testSealer(t)
	msg := Message{To: "ada@example.com", Kind: "signin", Subject: "code 123456", Text: "link", HTML: "<p>link</p>"}
	sealed, err := s.seal(msg)
	if err != nil {
		t.Fatal(err)
	}
	m := Mail{Message: Message{To: msg.To, Kind: msg.Kind}, Sealed: sealed}
	if err := s.open(&m); err != nil || m.Subject != msg.Subject || m.Text != msg.Text || m.HTML != msg.HTML {
		t.Fatalf("open = %v, %+v", err, m)
	}
	for name, m := range map[string]Mail{
		"moved to another recipient": {Message: Message{To: "eve@example.com", Kind: "signin"}, Sealed: sealed},
		"relabelled as another kind": {Message: Message{To: "ada@example.com", Kind: "sample"}, Sealed: sealed},
		"with a flipped bit":         {Message: Message{To: "ada@example.com", Kind: "signin"}, Sealed: flip(sealed, len(sealed)-1)},
		"of an unknown version":      {Message: Message{To: "ada@example.com", Kind: "signin"}, Sealed: flip(sealed, 0)},
		"cut short":                  {Message: Message{To: "ada@example.com", Kind: "signin"}, Sealed: sealed[:7]},
	} {
		if err := s.open(&m); !errors.Is(err, ErrUnsealable) || m.Text != "" {
			t.Errorf("%s: open = %v, text %q; want ErrUnsealable and nothing", name, err, m.Text)
		}
	}
	again, _ := s.seal(msg)
	if bytes.Equal(again, sealed) {
		t.Error("sealing twice gave the same bytes: the nonce is not fresh")
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 1
	return c
}
