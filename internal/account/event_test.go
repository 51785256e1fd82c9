package account_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/keyshift/keyshift/internal/account"
)

// TestKeptUserAgent: a User-Agent is kept whole up to MaxUserAgent bytes,
// and cut there beyond it — before a character that would not fit whole, so
// what is kept is still valid UTF-8.
func TestKeptUserAgent(t *testing.T) {
	long := strings.Repeat("a", 600)
	straddle := strings.Repeat("a", account.MaxUserAgent-1) + "é" + "tail" // é's two bytes at 511 and 512
	for _, tc := range []struct{ name, in, want string }{
		{"keeps a short one whole", "Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (X11; Linux x86_64)"},
		{"keeps an empty one empty", "", ""},
		{"keeps one of exactly the limit whole", long[:account.MaxUserAgent], long[:account.MaxUserAgent]},
		{"cuts a longer one at the limit", long, long[:account.MaxUserAgent]},
		{"cuts before a character that would not fit whole", straddle, straddle[:account.MaxUserAgent-1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := account.Client{UserAgent: tc.in}.KeptUserAgent()
			if got != tc.want {
				t.Errorf("kept %d bytes %q…, want %d bytes", len(got), got[:min(len(got), 16)], len(tc.want))
			}
			if !utf8.ValidString(got) {
				t.Errorf("kept %q, not valid UTF-8", got)
			}
		})
	}
}

// TestEventStampSetsTimeAndClient: Stamp fills in when and from where, keeps
// what the event said already, and returns the event it stamped.
func TestEventStampSetsTimeAndClient(t *testing.T) {
	at := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	e := &account.Event{Type: account.EventSignin, UserID: "u1", Method: "passkey", Outcome: account.OutcomeSuccess,
		Data: map[string]any{"k": "v"}}
	got := e.Stamp(at, account.Client{IP: "192.0.2.1", UserAgent: strings.Repeat("b", 700)})
	if got != e {
		t.Fatal("Stamp returned another event")
	}
	if !e.At.Equal(at) || e.IP != "192.0.2.1" || e.UserAgent != strings.Repeat("b", account.MaxUserAgent) {
		t.Errorf("stamped at %v from %q with a %d-byte user agent, want %v, 192.0.2.1, %d bytes",
			e.At, e.IP, len(e.UserAgent), at, account.MaxUserAgent)
	}
	if e.Type != account.EventSignin || e.UserID != "u1" || e.Method != "passkey" || e.Outcome != account.OutcomeSuccess || e.Data["k"] != "v" {
		t.Errorf("Stamp changed what the event said: %+v", e)
	}
}
