package apijson

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/passkey"
)

func TestNeverNullWhereAPIMdSaysAList(t *testing.T) {
	p, _ := json.Marshal(NewPasskey(passkey.Passkey{ID: "p1"}))
	if !strings.Contains(string(p), `"transports":[]`) || !strings.Contains(string(p), `"lastUsedAt":null`) {
		t.Errorf("a passkey never used, without transports: %s", p)
	}
	used := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p, _ = json.Marshal(NewPasskey(passkey.Passkey{ID: "p1", LastUsedAt: used, Transports: []string{"internal"}}))
	if !strings.Contains(string(p), `"lastUsedAt":"2026-01-02T03:04:05Z"`) || !strings.Contains(string(p), `"transports":["internal"]`) {
		t.Errorf("a passkey used: %s", p)
	}
	r, _ := json.Marshal(NewRemoved(account.Removed{}))
	if string(r) != `{"password":null,"passkeys":[],"recoveryCodes":0,"sessions":0}` {
		t.Errorf("nothing removed: %s", r)
	}
	r, _ = json.Marshal(NewRemoved(account.Removed{Password: "restored", Passkeys: []string{"Phone"}, Sessions: 2}))
	if string(r) != `{"password":"restored","passkeys":["Phone"],"recoveryCodes":0,"sessions":2}` {
		t.Errorf("a revert's clean-up: %s", r)
	}
}

func TestTheSigninAnswerSaysNextOnlyWhenNudged(t *testing.T) {
	if s := NewSignin(account.User{}, false); s.Next != nil {
		t.Errorf("not nudged: next %q", *s.Next)
	}
	if s := NewSignin(account.User{HasPassword: true}, true); s.Next == nil || *s.Next != NextEnrollPasskey {
		t.Errorf("nudged: next %v", s.Next)
	}
	b, _ := json.Marshal(NewSignin(account.User{}, false))
	if !strings.Contains(string(b), `"next":null`) {
		t.Errorf("not nudged, next must be null, not absent: %s", b)
	}
}

func TestCursor(t *testing.T) {
	c := Cursor{CreatedAt: time.UnixMicro(1767225600123456), ID: "0b7c2f0e-1111-4222-8333-444455556666"}
	got, ok := ParseCursor(c.String())
	if !ok || !got.CreatedAt.Equal(c.CreatedAt) || got.ID != c.ID {
		t.Fatalf("ParseCursor(String()) = %+v, %v; want %+v", got, ok, c)
	}
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, v := range []string{"", "%%%", b64("123"), b64("x.id"), b64("123."), b64(strings.Repeat("1", 129))} {
		if got, ok := ParseCursor(v); ok {
			t.Errorf("ParseCursor(%q) = %+v, want refused", v, got)
		}
	}
}
