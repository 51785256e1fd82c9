package passkey_test

import (
	"context"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestPasskeyEventsKeepAtMost512BytesOfUserAgent: the passkey ceremonies'
// events are stamped like every other package's, so a client's User-Agent is
// kept to account.MaxUserAgent bytes there too (it was kept whole).
func TestPasskeyEventsKeepAtMost512BytesOfUserAgent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		r := newRig(t, database)
		ada := r.newMember("ada@example.com")
		ua := "Mozilla/5.0 " + strings.Repeat("x", 2000)
		req := r.begin("")
		if _, err := r.svc.FinishLogin(context.Background(), req.FlowID, r.answer(ada, req), "modal",
			account.Client{IP: "192.0.2.1", UserAgent: ua}); err != nil {
			t.Fatalf("sign-in: %v", err)
		}
		events, err := r.db.FindEvents(context.Background(), store.EventFilter{UserID: ada.user.ID, Type: account.EventSignin})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 {
			t.Fatalf("%d sign-in events, want 1", len(events))
		}
		if got := events[0].UserAgent; got != ua[:account.MaxUserAgent] {
			t.Errorf("the sign-in event kept %d bytes of a %d-byte User-Agent, want the first %d",
				len(got), len(ua), account.MaxUserAgent)
		}
	})
}
