package notice_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/change"
	"github.com/keyshift/keyshift/internal/email/notice"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

var at = time.Date(2026, 3, 1, 14, 5, 0, 0, time.UTC)

// rig is a Notifier writing to a real outbox on a real store, with a
// clock that starts at at.
type rig struct {
	db     *store.DB
	outbox *outbox.Outbox
	notify *notice.Notifier
	now    time.Time
}

func newRig(t *testing.T, database string, cfg notice.Config) *rig {
	t.Helper()
	db, err := store.Open(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := &rig{db: db, now: at}
	now := func() time.Time { return r.now }
	r.outbox = outbox.NewOutbox(db, now)
	r.notify = notice.New(cfg, r.outbox, db, now)
	for _, u := range []*account.User{ada, unverified} {
		m := *u
		m.WebAuthnID, m.EmailKey, m.CreatedAt, m.UpdatedAt, m.Origin = []byte(m.ID), strings.ToLower(m.Email), at, at, account.OriginSignup
		if err := db.CreateUser(context.Background(), &m); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// tx runs fn in one transaction of the rig's store.
func (r *rig) tx(t *testing.T, fn func(ctx context.Context) error) error {
	t.Helper()
	return r.db.InTx(context.Background(), fn)
}

// queued returns the outbox, oldest first.
func (r *rig) queued(t *testing.T) []outbox.Mail {
	t.Helper()
	ms, err := r.outbox.Find(context.Background(), outbox.Filter{})
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
	ada = &account.User{ID: "u1", Email: "Ada@example.com", EmailVerified: true}
	// unverified signed up with an address nobody proved (maybe a
	// stranger's): no notice may mail it.
	unverified = &account.User{ID: "u3", Email: "someone@example.org"}
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
					return n.PasskeyAdded(ctx, ada, "Ada's phone", "iCloud Keychain", from)
				},
				kind:    notice.KindPasskeyAdded,
				subject: "A passkey was added to your Example account",
				says: []string{"was added to your Example account", "remove that passkey", "(as named by whoever added it)",
					"iCloud Keychain (as the passkey reports it; not verified)"},
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
				name: "recovery codes made",
				send: func(ctx context.Context, n *notice.Notifier) error {
					return n.RecoveryCodesGenerated(ctx, ada, from)
				},
				kind:    notice.KindRecoveryCodesGenerated,
				subject: "New recovery codes were made for your Example account",
				says:    []string{"new set of recovery codes was made", "the codes made before no longer work", "whoever made them can sign in with them"},
			},
			{
				name: "change of address asked for",
				send: func(ctx context.Context, n *notice.Notifier) error {
					return n.EmailChangeRequested(ctx, ada, "Nova@example.org", "https://login.example.com/email/cancel?token=T", time.Hour, from)
				},
				kind:    notice.KindEmailChangeRequested,
				subject: "Someone asked to move your Example account to another email address",
				says: []string{"asked to move it to", "N…@example.org", "within 60 minutes, from the browser that asked",
					"https://login.example.com/email/cancel?token=T", "sign out every browser"},
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
			if m.To != "Ada@example.com" || m.Kind != tt.kind || m.Subject != tt.subject || m.Status != outbox.StatusQueued {
				t.Errorf("%s: to %q kind %q subject %q status %s", tt.name, m.To, m.Kind, m.Subject, m.Status)
			}
			common := []string{"Sunday, 1 March 2026, 14:05 UTC", "Firefox on Linux", "192.0.2.7", "https://login.example.com/account", "If this was you, there is nothing to do."}
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

// TestTheRevertNoticeSaysWhatWasUndone: the restored address is told what
// the revert removed — passkeys by the name whoever added them gave,
// labelled so — or that the address could not be restored.
func TestTheRevertNoticeSaysWhatWasUndone(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		r := newRig(t, database, cfg)
		removed := account.Removed{Password: account.PasswordRestored, Passkeys: []string{`<b>thief</b> key`}, RecoveryCodes: 10, Sessions: 3}
		err := r.tx(t, func(ctx context.Context) error {
			return errors.Join(
				r.notify.EmailChangeReverted(ctx, "old@example.com", removed, true, from),
				r.notify.EmailChangeReverted(ctx, "old@example.com", account.Removed{Password: account.PasswordRemoved, Sessions: 1}, false, from),
			)
		})
		if err != nil {
			t.Fatal(err)
		}
		got := r.queued(t)
		if len(got) != 2 || got[0].To != "old@example.com" || got[0].Kind != notice.KindEmailChangeReverted {
			t.Fatalf("queued %+v", got)
		}
		for _, want := range []string{"was moved back to this address", "3 browsers were signed out", "set back to the one from before",
			"(as named by whoever added it)", "10 recovery codes made since the change were removed", "Firefox on Linux"} {
			if !strings.Contains(got[0].Text, want) || !strings.Contains(got[0].HTML, want) {
				t.Errorf("the restored notice lacks %q:\n%s\n%s", want, got[0].Text, got[0].HTML)
			}
		}
		if !strings.Contains(got[0].Text, `"<b>thief</b> key"`) || strings.Contains(got[0].HTML, "<b>thief") {
			t.Errorf("the passkey's name must be text in both parts:\n%s\n%s", got[0].Text, got[0].HTML)
		}
		if got[1].Subject != "Your Example account could not be moved back to this address" ||
			!strings.Contains(got[1].Text, "another account uses this address now") || !strings.Contains(got[1].Text, "1 browser was signed out") ||
			!strings.Contains(got[1].Text, "The password set since the change was removed") {
			t.Errorf("the refused revert's notice:\n%s\n%s", got[1].Subject, got[1].Text)
		}
	})
}

// TestNoticesAlsoGoToAddressesTheAccountCanMoveBackTo: while an account can
// still be moved back to an address it left (its revert link lives), every
// notice goes there too (T2); a second move tells that address without a
// revert link of its own.
func TestNoticesAlsoGoToAddressesTheAccountCanMoveBackTo(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		r := newRig(t, database, cfg)
		ctx := context.Background()
		rv := &change.Change{TokenHash: []byte("revert-token-hash"), Kind: change.KindRevert, UserID: ada.ID, Email: "Old@example.com",
			EmailKey: "old@example.com", OldKey: "ada@example.com", CreatedAt: at, ExpiresAt: at.Add(change.RevertTTL)}
		if err := r.db.CreateEmailChange(ctx, rv); err != nil {
			t.Fatal(err)
		}
		err := r.tx(t, func(ctx context.Context) error {
			return errors.Join(
				r.notify.PasskeyAdded(ctx, ada, "thief's key", "", from),
				r.notify.EmailChanged(ctx, ada, "next@evil.example", "https://login.example.com/email/revert?token=R2", change.RevertTTL, from),
			)
		})
		if err != nil {
			t.Fatal(err)
		}
		to := map[string][]outbox.Mail{}
		for _, m := range r.queued(t) {
			to[m.Kind+" "+m.To] = append(to[m.Kind+" "+m.To], m)
		}
		for _, k := range []string{notice.KindPasskeyAdded + " Ada@example.com", notice.KindPasskeyAdded + " Old@example.com",
			notice.KindEmailChanged + " Ada@example.com", notice.KindEmailChanged + " Old@example.com"} {
			if len(to[k]) != 1 {
				t.Errorf("%d mails %s, want 1 (all: %v)", len(to[k]), k, to)
			}
		}
		if m := to[notice.KindEmailChanged+" Old@example.com"]; len(m) == 1 && (strings.Contains(m[0].Text, "token=R2") || !strings.Contains(m[0].Text, "the earlier mail")) {
			t.Errorf("the earlier address got the new revert link, or no word of its own:\n%s", m[0].Text)
		}
		if m := to[notice.KindEmailChanged+" Ada@example.com"]; len(m) == 1 && !strings.Contains(m[0].Text, "token=R2") {
			t.Errorf("the address left has no revert link:\n%s", m[0].Text)
		}

		// Once the revert link has expired, the old address hears nothing.
		r.now = at.Add(change.RevertTTL)
		if err := r.tx(t, func(ctx context.Context) error { return r.notify.PasswordRemoved(ctx, ada, from) }); err != nil {
			t.Fatal(err)
		}
		for _, m := range r.queued(t) {
			if m.Kind == notice.KindPasswordRemoved && m.To != "Ada@example.com" {
				t.Errorf("a notice after the window went to %s", m.To)
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
		if err := r.tx(t, func(ctx context.Context) error { return r.notify.PasskeyAdded(ctx, ada, name, "", hostile) }); err != nil {
			t.Fatal(err)
		}
		m := r.queued(t)[0]
		if !strings.Contains(m.Text, `"`+name+`" (as named by whoever added it)`) || !strings.Contains(m.Text, "Provider: not reported") {
			t.Errorf("the text does not show the name as typed, labelled as such:\n%s", m.Text)
		}
		if strings.Contains(m.HTML, "<img") || strings.Contains(m.HTML, "<b>") || !strings.Contains(m.HTML, "&lt;img src=x") {
			t.Errorf("the HTML does not escape the member's input:\n%s", m.HTML)
		}
		// The client's User-Agent is its own text: notices name a browser
		// they recognise, never the header.
		if strings.Contains(m.Text, "<b>") || strings.Contains(m.Text, "é") || !strings.Contains(m.Text, "Browser:  an unrecognised browser\n") {
			t.Errorf("the notice shows the raw user agent:\n%s", m.Text)
		}
		if !strings.Contains(m.Text, "IP:       unknown") {
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
			r.now = r.now.Add(notice.NewDeviceQuiet) // each notice due
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
			return r.notify.PasskeyAdded(ctx, ada, "Key", "", from)
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
			if err := r.notify.PasskeyAdded(ctx, ada, "Rolled back", "", from); err != nil {
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
		bad := &account.User{ID: "u2", Email: "not an address", EmailVerified: true}
		err := r.tx(t, func(ctx context.Context) error { return r.notify.PasskeyAdded(ctx, bad, "Key", "", from) })
		if !errors.Is(err, outbox.ErrInvalid) {
			t.Errorf("err %v, want mail.ErrInvalid", err)
		}
		if got := r.queued(t); len(got) != 0 {
			t.Errorf("%d mails queued", len(got))
		}
	})
}

// TestNoNoticeGoesToAnUnverifiedAddress: an account signed up with an
// address nobody proved may be a stranger's, so no notice mails it — the
// confirmation mail is the only one such an address gets. The email-change
// notice goes to the old address whatever it is: it carries the undo.
func TestNoNoticeGoesToAnUnverifiedAddress(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		r := newRig(t, database, cfg)
		err := r.tx(t, func(ctx context.Context) error {
			return errors.Join(
				r.notify.NewDevice(ctx, unverified, account.MethodPassword, from),
				r.notify.PasskeyAdded(ctx, unverified, "Key", "", from),
				r.notify.PasskeyRemoved(ctx, unverified, "Key", from),
				r.notify.PasswordChanged(ctx, unverified, false, from),
				r.notify.PasswordRemoved(ctx, unverified, from),
				r.notify.RecoveryCodeUsed(ctx, unverified, 3, from),
			)
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.queued(t); len(got) != 0 {
			t.Errorf("%d notices to an unverified address, want none: %v", len(got), got)
		}
	})
}

// TestNewDeviceNoticesComeAtMostOnceAnHour: 40 sign-ins from new browsers,
// some at once, mail the member once; the digest an hour later counts the
// rest, once however many nodes' janitors ask.
func TestNewDeviceNoticesComeAtMostOnceAnHour(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		r := newRig(t, database, cfg)
		ctx := context.Background()
		signin := func() error {
			return r.tx(t, func(ctx context.Context) error { return r.notify.NewDevice(ctx, ada, account.MethodPassword, from) })
		}
		errs := make(chan error, 20)
		for range 20 {
			go func() { errs <- signin() }()
		}
		for range 20 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		for range 20 {
			if err := signin(); err != nil {
				t.Fatal(err)
			}
		}
		if got := r.queued(t); len(got) != 1 || got[0].Kind != notice.KindNewDevice {
			t.Fatalf("%d mails after 40 sign-ins within the hour, want 1 new-device notice", len(got))
		}
		if n, err := r.notify.SendDigests(ctx); err != nil || n != 0 {
			t.Errorf("a digest within the hour: %d, %v", n, err)
		}
		r.now = r.now.Add(notice.NewDeviceQuiet)
		sent := make(chan int, 3)
		for range 3 {
			go func() {
				n, err := r.notify.SendDigests(ctx)
				if err != nil {
					t.Error(err)
				}
				sent <- n
			}()
		}
		if total := <-sent + <-sent + <-sent; total != 1 {
			t.Errorf("%d digests from three janitors, want 1", total)
		}
		got := r.queued(t)
		if len(got) != 2 || got[1].Kind != notice.KindNewDeviceDigest || !strings.Contains(got[1].Text, "signed in to 39 more times") ||
			!strings.Contains(got[1].Text, "Firefox on Linux") {
			t.Fatalf("after the hour: %d mails, the last %+v", len(got), got[len(got)-1])
		}
		// The next sign-in from a new browser within the hour after the
		// digest waits; after it, it is mailed at once.
		if err := signin(); err != nil {
			t.Fatal(err)
		}
		if n := len(r.queued(t)); n != 2 {
			t.Errorf("%d mails, want the sign-in held back", n)
		}
		r.now = r.now.Add(notice.NewDeviceQuiet)
		if err := signin(); err != nil {
			t.Fatal(err)
		}
		got = r.queued(t)
		if len(got) != 3 || got[2].Kind != notice.KindNewDevice || !strings.Contains(got[2].Text, "1 more sign-in from browsers") {
			t.Errorf("%d mails, the last %+v: want a new-device notice that reports the one held back", len(got), got[len(got)-1])
		}
	})
}
