package notice_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/mail"
	"github.com/keyshift/keyshift/internal/notice"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

var at = time.Date(2026, 3, 1, 14, 5, 0, 0, time.UTC)

// rig is a Notifier writing to a real outbox on a real store.
type rig struct {
	db     *store.DB
	notify *notice.Notifier
}

func newRig(t *testing.T, database string, cfg notice.Config) *rig {
	t.Helper()
	db, err := store.Open(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := func() time.Time { return at }
	return &rig{db: db, notify: notice.New(cfg, mail.NewOutbox(db, now), now)}
}

// tx runs fn in one transaction of the rig's store.
func (r *rig) tx(t *testing.T, fn func(ctx context.Context) error) error {
	t.Helper()
	return r.db.InTx(context.Background(), fn)
}

// queued returns the outbox, oldest first.
func (r *rig) queued(t *testing.T) []mail.Mail {
	t.Helper()
	ms, err := r.db.FindOutbox(context.Background(), mail.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
		ms[i], ms[j] = ms[j], ms[i]
	}
	return ms
}

var (
	cfg = notice.Config{Origin: "https://login.example.com/", Site: "Example", NewDevice: true}
	ada = &account.User{ID: "u1", Email: "Ada@example.com"}
	// The browser and address every notice reports.
	from = account.Client{IP: "192.0.2.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}
)

func TestEachNoticeSaysWhatHappenedWhenWhereAndWhatToDo(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		tests := []struct {
			name    string
			send    func(ctx context.Context, n *notice.Notifier) error
			kind    string
			subject string
			says    []string // in the text and the HTML
		}{
			{
				name: "recovery code used",
				send: func(ctx context.Context, n *notice.Notifier) error {
					return n.RecoveryCodeUsed(ctx, ada, 9, from)
				},
				kind:    notice.KindRecoveryCodeUsed,
				subject: "A recovery code was used to sign in to your Example account",
				says:    []string{"recovery code was used to sign in to your Example account", "9 codes left", "make a new set of recovery codes"},
			},
			{
				name: "passkey added",
				send: func(ctx context.Context, n *notice.Notifier) error {
					return n.PasskeyAdded(ctx, ada, "Ada's phone", from)
				},
				kind:    notice.KindPasskeyAdded,
				subject: "A passkey was added to your Example account",
				says:    []string{"was added to your Example account", "remove that passkey"},
			},
			{
				name: "passkey removed",
				send: func(ctx context.Context, n *notice.Notifier) error {
					return n.PasskeyRemoved(ctx, ada, "Ada's phone", from)
				},
				kind:    notice.KindPasskeyRemoved,
				subject: "A passkey was removed from your Example account",
				says:    []string{"was removed from your Example account", "It can no longer sign in"},
			},
			{
				name: "wrong email codes",
				send: func(ctx context.Context, n *notice.Notifier) error {
					return n.EmailCodesFailed(ctx, ada, 10, from)
				},
				kind:    notice.KindEmailCodes,
				subject: "Someone typed wrong codes to sign in to your Example account",
				says:    []string{"10 wrong sign-in codes were typed", "Nobody signed in with them", "the link in a sign-in email still does", "at most once a day"},
			},
			{
				name: "sign-in from a new device",
				send: func(ctx context.Context, n *notice.Notifier) error {
					return n.NewDevice(ctx, ada, account.MethodPassword, from)
				},
				kind:    notice.KindNewDevice,
				subject: "New sign-in to your Example account",
				says:    []string{"from a browser we had not seen before (with a password)", "sign out that session"},
			},
		}
		r := newRig(t, database, cfg)
		for _, tt := range tests {
			if err := r.tx(t, func(ctx context.Context) error { return tt.send(ctx, r.notify) }); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
		}
		got := r.queued(t)
		if len(got) != len(tests) {
			t.Fatalf("%d mails queued, want %d", len(got), len(tests))
		}
		for i, tt := range tests {
			m := got[i]
			if m.To != "Ada@example.com" || m.Kind != tt.kind || m.Subject != tt.subject || m.Status != mail.StatusQueued {
				t.Errorf("%s: to %q kind %q subject %q status %s", tt.name, m.To, m.Kind, m.Subject, m.Status)
			}
			common := []string{"Sunday, 1 March 2026, 14:05 UTC", "Firefox/140.0", "192.0.2.7", "https://login.example.com/account", "If this was you, there is nothing to do."}
			for _, want := range append(common, tt.says...) {
				if !strings.Contains(m.Text, want) {
					t.Errorf("%s: the text lacks %q:\n%s", tt.name, want, m.Text)
				}
				if !strings.Contains(m.HTML, want) {
					t.Errorf("%s: the HTML lacks %q:\n%s", tt.name, want, m.HTML)
				}
			}
			if !strings.Contains(m.HTML, `href="https://login.example.com/account"`) {
				t.Errorf("%s: the HTML does not link the account page", tt.name)
			}
		}
	})
}

func TestNoticesShowWhatTheMemberTypedAsTextOnly(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		r := newRig(t, database, cfg)
		name := `<img src=x onerror=alert(1)> & "quotes"`
		hostile := account.Client{IP: "", UserAgent: "<b>" + strings.Repeat("é", 150)}
		if err := r.tx(t, func(ctx context.Context) error { return r.notify.PasskeyAdded(ctx, ada, name, hostile) }); err != nil {
			t.Fatal(err)
		}
		m := r.queued(t)[0]
		if !strings.Contains(m.Text, name) {
			t.Errorf("the text does not show the name as typed:\n%s", m.Text)
		}
		if strings.Contains(m.HTML, "<img") || strings.Contains(m.HTML, "<b>") || !strings.Contains(m.HTML, "&lt;img src=x") {
			t.Errorf("the HTML does not escape the member's input:\n%s", m.HTML)
		}
		// 150 two-byte runes are clipped to 200 bytes on a rune boundary, marked.
		ua := "<b>" + strings.Repeat("é", 98) + "…"
		if !strings.Contains(m.Text, "Browser: "+ua+"\n") {
			t.Errorf("the user agent is not clipped to 200 bytes:\n%s", m.Text)
		}
		if !strings.Contains(m.Text, "IP:      unknown") {
			t.Errorf("a missing IP is not said to be unknown:\n%s", m.Text)
		}
	})
}

func TestNewDeviceNoticeSaysHowTheMemberSignedIn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		r := newRig(t, database, cfg)
		methods := []struct {
			m    account.AuthMethod
			says string
		}{
			{account.MethodPassword, "(with a password)"},
			{account.MethodPasskeyConditional, "(with a passkey)"},
			{account.MethodPasskeyModal, "(with a passkey)"},
			{account.MethodPasskeyUsername, "(with a passkey)"},
			{account.MethodEmailLink, "(with a link sent by email)"},
			{account.MethodEmailCode, "(with a code sent by email)"},
			{account.MethodRecoveryCode, "(with a recovery code)"},
			// A method this package does not know yet still reads as words.
			{account.AuthMethod("magic_wand"), "(with magic wand)"},
		}
		for _, tt := range methods {
			if err := r.tx(t, func(ctx context.Context) error { return r.notify.NewDevice(ctx, ada, tt.m, from) }); err != nil {
				t.Fatal(err)
			}
		}
		got := r.queued(t)
		for i, tt := range methods {
			if !strings.Contains(got[i].Text, tt.says) {
				t.Errorf("%s: the notice lacks %q:\n%s", tt.m, tt.says, got[i].Text)
			}
		}
	})
}

func TestNewDeviceNoticeCanBeTurnedOff(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		off := cfg
		off.NewDevice = false
		r := newRig(t, database, off)
		err := r.tx(t, func(ctx context.Context) error {
			if err := r.notify.NewDevice(ctx, ada, account.MethodPassword, from); err != nil {
				return err
			}
			// Passkey notices are not optional.
			return r.notify.PasskeyAdded(ctx, ada, "Key", from)
		})
		if err != nil {
			t.Fatal(err)
		}
		got := r.queued(t)
		if len(got) != 1 || got[0].Kind != notice.KindPasskeyAdded {
			t.Errorf("with notify.new_device off the outbox holds %d mails (%v), want only the passkey notice", len(got), got)
		}
	})
}

func TestNoticeIsQueuedOnlyWhenTheChangeCommits(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		r := newRig(t, database, cfg)
		failed := errors.New("the passkey insert failed")
		err := r.tx(t, func(ctx context.Context) error {
			if err := r.notify.PasskeyAdded(ctx, ada, "Rolled back", from); err != nil {
				return err
			}
			return failed
		})
		if !errors.Is(err, failed) {
			t.Fatalf("tx: %v", err)
		}
		if got := r.queued(t); len(got) != 0 {
			t.Fatalf("a rolled-back change left %d notices", len(got))
		}
		if err := r.tx(t, func(ctx context.Context) error { return r.notify.PasskeyRemoved(ctx, ada, "Committed", from) }); err != nil {
			t.Fatal(err)
		}
		if got := r.queued(t); len(got) != 1 || !strings.Contains(got[0].Text, `"Committed"`) {
			t.Errorf("after a commit the outbox holds %d mails, want the committed notice", len(got))
		}
	})
}

func TestNoticeToAnUnmailableAddressFailsTheChange(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		r := newRig(t, database, cfg)
		bad := &account.User{ID: "u2", Email: "not an address"}
		err := r.tx(t, func(ctx context.Context) error { return r.notify.PasskeyAdded(ctx, bad, "Key", from) })
		if !errors.Is(err, mail.ErrInvalid) {
			t.Errorf("err %v, want mail.ErrInvalid", err)
		}
		if got := r.queued(t); len(got) != 0 {
			t.Errorf("%d mails queued", len(got))
		}
	})
}
