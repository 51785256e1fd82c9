// Package notice tells members by mail when something happened to their
// account — a passkey added or removed, a sign-in from a browser not seen
// before — with when, from which browser and address, and what to do if it
// was not them. Every notice joins the transaction of the change it reports
// (mail.Outbox.Enqueue), so no change commits without its notice and no
// notice is sent for a change that rolled back. The words are in
// internal/mail/templates/notice_*.
package notice

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/mail"
)

// Mailer queues a mail in the transaction of ctx (mail.Outbox).
type Mailer interface {
	Enqueue(ctx context.Context, msg mail.Message) error
}

// Config is the operator's policy.
type Config struct {
	// Origin starts the account link: Origin + "/account".
	Origin string
	// Site names the sender in the mail.
	Site string
	// NewDevice sends a notice for sign-ins from browsers without a device
	// cookie of the member (notify.new_device).
	NewDevice bool
}

// Notifier renders and queues notices. It implements account.Notifier and
// passkey.Notifier.
type Notifier struct {
	cfg    Config
	mailer Mailer
	now    func() time.Time
}

// New returns a Notifier; now is the clock (nil: time.Now).
func New(cfg Config, mailer Mailer, now func() time.Time) *Notifier {
	if now == nil {
		now = time.Now
	}
	return &Notifier{cfg: cfg, mailer: mailer, now: now}
}

// Mail kinds of the notices, for listings and metrics.
const (
	KindPasskeyAdded   = "notice_passkey_added"
	KindPasskeyRemoved = "notice_passkey_removed"
	KindNewDevice      = "notice_new_device"
	// Password and email notices (issue 4 item 4).
	KindPasswordChanged = "notice_password_changed"
	KindPasswordRemoved = "notice_password_removed"
	KindEmailChanged    = "notice_email_changed"
	// KindRecoveryCodeUsed: a recovery code signed in (issue 4).
	KindRecoveryCodeUsed = "notice_recovery_code_used"
	// KindEmailCodes: wrong email sign-in codes were typed for the
	// member's address (issue 18).
	KindEmailCodes = "notice_email_codes"
)

// EmailCodesFailed tells u that wrong codes were typed for their address in
// the last day, the last one from c. It implements emailauth.Notifier,
// which sends it at most once a day. It is sent whatever notify.new_device
// says: it warns of guessing, not of a sign-in.
func (n *Notifier) EmailCodesFailed(ctx context.Context, u *account.User, wrong int, c account.Client) error {
	return n.send(ctx, KindEmailCodes, u, c, map[string]any{"Wrong": wrong})
}

// RecoveryCodeUsed tells u that a recovery code signed in to their account
// and how many are left. It is sent whatever notify.new_device says: a
// recovery sign-in is the one an attacker with a stolen code would make.
func (n *Notifier) RecoveryCodeUsed(ctx context.Context, u *account.User, left int, c account.Client) error {
	return n.send(ctx, KindRecoveryCodeUsed, u, c, map[string]any{"Left": left})
}

// PasswordChanged tells u that their password was replaced, or set when
// the account had none (set).
func (n *Notifier) PasswordChanged(ctx context.Context, u *account.User, set bool, c account.Client) error {
	return n.send(ctx, KindPasswordChanged, u, c, map[string]any{"Set": set})
}

// PasswordRemoved tells u that their password was deleted.
func (n *Notifier) PasswordRemoved(ctx context.Context, u *account.User, c account.Client) error {
	return n.send(ctx, KindPasswordRemoved, u, c, map[string]any{})
}

// EmailChanged tells the account's OLD address that it moved to newEmail
// (shown masked, "n…@example.com"), with the link that moves it back
// within valid. It implements emailchange.Notifier.
func (n *Notifier) EmailChanged(ctx context.Context, oldEmail, newEmail, revertLink string, valid time.Duration, c account.Client) error {
	return n.send(ctx, KindEmailChanged, &account.User{Email: oldEmail}, c, map[string]any{
		"New": maskEmail(newEmail), "RevertLink": revertLink, "Days": int(valid / (24 * time.Hour)),
	})
}

// maskEmail shortens an address to what a notice may show: its owner
// recognises it, whoever reads the old mailbox learns little.
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "…"
	}
	first, _ := utf8.DecodeRuneInString(local)
	return string(first) + "…@" + domain
}

// PasskeyAdded tells u that a passkey called name was added.
func (n *Notifier) PasskeyAdded(ctx context.Context, u *account.User, name string, c account.Client) error {
	return n.send(ctx, KindPasskeyAdded, u, c, map[string]any{"Name": name})
}

// PasskeyRemoved tells u that their passkey called name was removed.
func (n *Notifier) PasskeyRemoved(ctx context.Context, u *account.User, name string, c account.Client) error {
	return n.send(ctx, KindPasskeyRemoved, u, c, map[string]any{"Name": name})
}

// NewDevice tells u that a browser without their device cookie signed in
// with m; it sends nothing when the operator turned the notice off.
func (n *Notifier) NewDevice(ctx context.Context, u *account.User, m account.AuthMethod, c account.Client) error {
	if !n.cfg.NewDevice {
		return nil
	}
	return n.send(ctx, KindNewDevice, u, c, map[string]any{"Method": methodWords(m)})
}

// send renders the template named kind with what every notice says and
// queues it in the transaction of ctx.
func (n *Notifier) send(ctx context.Context, kind string, u *account.User, c account.Client, data map[string]any) error {
	data["Site"] = n.cfg.Site
	data["When"] = n.now().UTC().Format("Monday, 2 January 2006, 15:04 MST")
	data["Browser"] = orUnknown(clip(c.UserAgent, 200))
	data["IP"] = orUnknown(c.IP)
	data["AccountURL"] = strings.TrimRight(n.cfg.Origin, "/") + "/account"
	msg, err := mail.Render(kind, kind, u.Email, n.cfg.Site, data)
	if err != nil {
		return err
	}
	return n.mailer.Enqueue(ctx, msg)
}

// methodWords says how a sign-in was made, as the notice's sentence needs.
func methodWords(m account.AuthMethod) string {
	switch m {
	case account.MethodPassword:
		return "with a password"
	case account.MethodPasskeyConditional, account.MethodPasskeyModal, account.MethodPasskeyUsername:
		return "with a passkey"
	case account.MethodEmailLink:
		return "with a link sent by email"
	case account.MethodEmailCode:
		return "with a code sent by email"
	case account.MethodRecoveryCode:
		return "with a recovery code"
	}
	return "with " + strings.ReplaceAll(string(m), "_", " ")
}

func orUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return "unknown"
	}
	return s
}

// clip shortens s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
