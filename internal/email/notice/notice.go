// Package notice tells members by mail when something happened to their
// account — a passkey added or removed, a sign-in from a browser not seen
// before — with when, from which browser and address, and what to do if it
// was not them. Every notice joins the transaction of the change it reports
// (outbox.Outbox.Enqueue), so no change commits without its notice and no
// notice is sent for a change that rolled back. The words are in
// internal/email/outbox/templates/notice_*.
package notice

import (
	"context"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/outbox"
)

// Mailer queues a mail in the transaction of ctx (outbox.Outbox).
type Mailer interface {
	Enqueue(ctx context.Context, msg outbox.Message) error
}

// Store keeps what coalescing new-device notices needs. Every method joins
// the transaction in ctx.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// NoteNewDevice records a sign-in of userID from a browser it had not
	// seen (browser and ip describe it) and says whether its notice is due:
	// the member's last one was sent at or before quietSince, or never. A
	// due notice resets the count and reports in earlier the sign-ins held
	// back since the last one; a sign-in that is not due is held back.
	// One atomic statement, so concurrent sign-ins send one notice.
	NoteNewDevice(ctx context.Context, userID string, now, quietSince time.Time, browser, ip string) (due bool, earlier int, err error)
	// TakeNewDeviceDigests claims, for every member with held-back sign-ins
	// whose last notice was sent at or before quietSince, those sign-ins
	// (marking the notice sent at now) and returns them.
	TakeNewDeviceDigests(ctx context.Context, now, quietSince time.Time) ([]Digest, error)
	FindUser(ctx context.Context, id string) (*account.User, error)
	// FindEmailReservations returns the addresses userID moved away from
	// and can still move back to at now (account.Reservation).
	FindEmailReservations(ctx context.Context, userID string, now time.Time) ([]account.Reservation, error)
}

// Digest is the sign-ins from new browsers held back since a member's last
// new-device notice.
type Digest struct {
	UserID string
	Count  int
	// Browser and IP describe the latest of them.
	Browser, IP string
	// Since is when the first of them was made.
	Since time.Time
}

// NewDeviceQuiet is the least time between two new-device notices to one
// member: sign-ins in between are counted and reported together, so that
// sign-ins in a loop cannot bomb a mailbox.
const NewDeviceQuiet = time.Hour

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

// Notifier renders and queues notices. It implements session.Notifier,
// passwordauth.Notifier, recovery.Notifier and passkey.Notifier.
type Notifier struct {
	cfg    Config
	mailer Mailer
	store  Store
	now    func() time.Time
}

// New returns a Notifier; now is the clock (nil: time.Now).
func New(cfg Config, mailer Mailer, store Store, now func() time.Time) *Notifier {
	if now == nil {
		now = time.Now
	}
	return &Notifier{cfg: cfg, mailer: mailer, store: store, now: now}
}

// Mail kinds of the notices, for listings and metrics.
const (
	KindPasskeyAdded   = "notice_passkey_added"
	KindPasskeyRemoved = "notice_passkey_removed"
	KindNewDevice      = "notice_new_device"
	// Password and email notices.
	KindPasswordChanged = "notice_password_changed"
	KindPasswordRemoved = "notice_password_removed"
	KindEmailChanged    = "notice_email_changed"
	// KindRecoveryCodeUsed: a recovery code signed in.
	KindRecoveryCodeUsed = "notice_recovery_code_used"
	// KindEmailCodes: wrong email sign-in codes were typed for the
	// member's address (docs/security.md, T12).
	KindEmailCodes = "notice_email_codes"
	// KindNewDeviceDigest reports sign-ins from new browsers held back
	// after a new-device notice (NewDeviceQuiet).
	KindNewDeviceDigest = "notice_new_device_digest"
	// KindRecoveryCodesGenerated: a new set of recovery codes was made.
	KindRecoveryCodesGenerated = "notice_recovery_codes_generated"
	// KindEmailChangeRequested tells the current address that a move to
	// another was asked for, with a link that cancels it.
	KindEmailChangeRequested = "notice_email_change_requested"
	// KindEmailChangeReverted tells the restored address what the revert
	// removed.
	KindEmailChangeReverted = "notice_email_change_reverted"
	// KindPasswordRetired tells a member who chose "Go passwordless" that
	// `keyshift rollout retire` deleted their password.
	KindPasswordRetired = "notice_password_retired"
	// KindPasskeyProbation tells a member that a passkey was added through
	// a weaker channel and is on probation, with "This wasn't me".
	KindPasskeyProbation = "notice_passkey_probation"
	// KindSupportRecoveryRequested tells every known address of an account
	// that support will move it to another address after a wait, with the
	// link that cancels it.
	KindSupportRecoveryRequested = "notice_support_recovery_requested"
	// KindSupportRecoveryCompleted tells the addresses an account left
	// that a support recovery moved it and removed every credential.
	KindSupportRecoveryCompleted = "notice_support_recovery_completed"
)

// DisownPath is the page the "This wasn't me" link of a passkey on
// probation opens.
const DisownPath = "/passkeys/wasnt-me"

// PasskeyOnProbation tells u that a passkey was added in a session that a
// weaker channel opened (how, by method via), that it cannot touch the
// account's older credentials, address or password until until, and
// gives the one-click link (its token, disownToken) that removes it and
// ends its sessions without signing in. It implements passkey.Notifier.
func (n *Notifier) PasskeyOnProbation(ctx context.Context, u *account.User, name, provider string, until time.Time, disownToken string, c account.Client) error {
	return n.toMember(ctx, KindPasskeyProbation, u, c, map[string]any{"Name": clip(name, 64), "Provider": provider,
		"Until":      until.UTC().Format(timeFormat),
		"DisownLink": strings.TrimRight(n.cfg.Origin, "/") + DisownPath + "?token=" + url.QueryEscape(disownToken)})
}

// EmailCodesFailed tells u that wrong codes were typed for their address in
// the last day, the last one from c. It implements signin.Notifier,
// which sends it at most once a day. It is sent whatever notify.new_device
// says (it warns of guessing, not of a sign-in), and, like every notice,
// only to a proven address.
func (n *Notifier) EmailCodesFailed(ctx context.Context, u *account.User, wrong int, c account.Client) error {
	return n.toMember(ctx, KindEmailCodes, u, c, map[string]any{"Wrong": wrong})
}

// RecoveryCodeUsed tells u that a recovery code signed in to their account
// and how many are left. It is sent whatever notify.new_device says: a
// recovery sign-in is the one an attacker with a stolen code would make.
func (n *Notifier) RecoveryCodeUsed(ctx context.Context, u *account.User, left int, c account.Client) error {
	return n.toMember(ctx, KindRecoveryCodeUsed, u, c, map[string]any{"Left": left})
}

// PasswordChanged tells u that their password was replaced, or set when
// the account had none (set).
func (n *Notifier) PasswordChanged(ctx context.Context, u *account.User, set bool, c account.Client) error {
	return n.toMember(ctx, KindPasswordChanged, u, c, map[string]any{"Set": set})
}

// PasswordRemoved tells u that their password was deleted.
func (n *Notifier) PasswordRemoved(ctx context.Context, u *account.User, c account.Client) error {
	return n.toMember(ctx, KindPasswordRemoved, u, c, map[string]any{})
}

// PasswordRetired tells u that the rollout retired their password, as they
// asked, after days of passkey use. No browser made it: an operator's run did.
func (n *Notifier) PasswordRetired(ctx context.Context, u *account.User, days int) error {
	return n.toMember(ctx, KindPasswordRetired, u, account.Client{}, map[string]any{"Days": days, "Browser": "keyshift rollout retire"})
}

// EmailChanged tells the address u had until now that the account moved
// to newEmail (shown masked, "n…@example.com"), with the link that moves it
// back within valid. It implements change.Notifier. Addresses u left
// before and can still move back to (a second move inside the first's
// window) are told too, without that link: theirs came with the first move.
func (n *Notifier) EmailChanged(ctx context.Context, u *account.User, newEmail, revertLink string, valid time.Duration, c account.Client) error {
	data := func(link string) map[string]any {
		return map[string]any{"New": account.MaskEmail(newEmail), "RevertLink": link, "Days": int(valid / (24 * time.Hour))}
	}
	// To the old address whatever it was: it is how the owner undoes the
	// change.
	if err := n.send(ctx, KindEmailChanged, u.Email, c, data(revertLink)); err != nil {
		return err
	}
	earlier, err := n.reserved(ctx, u)
	if err != nil {
		return err
	}
	for _, to := range earlier {
		if strings.EqualFold(to, newEmail) {
			continue
		}
		if err := n.send(ctx, KindEmailChanged, to, c, data("")); err != nil {
			return err
		}
	}
	return nil
}

// EmailChangeRequested tells u's current address, at once, that a move to
// newEmail (shown masked) was asked for, and gives the link that cancels it
// — and signs every browser out — while the confirmation link lives
// (valid). It implements change.Notifier (docs/security.md, T14).
func (n *Notifier) EmailChangeRequested(ctx context.Context, u *account.User, newEmail, cancelLink string, valid time.Duration, c account.Client) error {
	return n.toMember(ctx, KindEmailChangeRequested, u, c, map[string]any{
		"New": account.MaskEmail(newEmail), "CancelLink": cancelLink, "Minutes": int(valid / time.Minute),
	})
}

// EmailChangeReverted tells the address to which an account was moved back
// (to) what the revert removed, or, when another account had taken the
// address meanwhile (!restored), that the account could not be moved back
// but was cleaned up all the same. It implements change.Notifier. It
// goes to the old address whatever it was: the owner is there.
func (n *Notifier) EmailChangeReverted(ctx context.Context, to string, removed account.Removed, restored bool, c account.Client) error {
	names := make([]string, len(removed.Passkeys))
	for i, p := range removed.Passkeys {
		names[i] = clip(p, 64)
	}
	return n.send(ctx, KindEmailChangeReverted, to, c, map[string]any{
		"Restored": restored, "Password": removed.Password, "Passkeys": names, "RecoveryCodes": removed.RecoveryCodes,
		"Sessions": removed.Sessions,
	})
}

// SupportRecoveryRequested tells u's address, and every address the
// account can still move back to, that support will move the account to
// newEmail (masked) at readyAt unless cancelLink is used, and says to how
// many addresses it wrote (none when the account's address was never
// proven and it has no other). It implements support.Notifier.
func (n *Notifier) SupportRecoveryRequested(ctx context.Context, u *account.User, newEmail, cancelLink string, readyAt time.Time) (int, error) {
	return n.toMemberCounted(ctx, KindSupportRecoveryRequested, u, account.Client{}, map[string]any{
		"New": account.MaskEmail(newEmail), "CancelLink": cancelLink, "ReadyAt": readyAt.UTC().Format(timeFormat),
	})
}

// SupportRecoveryCompleted tells the addresses u had (its address before
// the recovery, and those it could move back to) that a support recovery
// moved the account to newEmail (masked) and what it removed. It
// implements support.Notifier.
func (n *Notifier) SupportRecoveryCompleted(ctx context.Context, u *account.User, newEmail string, removed account.Removed, c account.Client) (int, error) {
	names := make([]string, len(removed.Passkeys))
	for i, p := range removed.Passkeys {
		names[i] = clip(p, 64)
	}
	return n.toMemberCounted(ctx, KindSupportRecoveryCompleted, u, c, map[string]any{
		"New": account.MaskEmail(newEmail), "Password": removed.Password, "Passkeys": names, "RecoveryCodes": removed.RecoveryCodes,
	})
}

// RecoveryCodesGenerated tells u that a new set of recovery codes was made
// and the old set no longer works: whoever made them can sign in with one.
func (n *Notifier) RecoveryCodesGenerated(ctx context.Context, u *account.User, c account.Client) error {
	return n.toMember(ctx, KindRecoveryCodesGenerated, u, c, map[string]any{})
}

// PasskeyAdded tells u that a passkey was added. name is what whoever
// added it called it (or the provider's name by default), and provider is
// what the authenticator says it is — neither is verified without
// attestation, and the notice says so rather than vouching for either.
func (n *Notifier) PasskeyAdded(ctx context.Context, u *account.User, name, provider string, c account.Client) error {
	return n.toMember(ctx, KindPasskeyAdded, u, c, map[string]any{"Name": clip(name, 64), "Provider": provider})
}

// PasskeyRemoved tells u that their passkey called name was removed.
func (n *Notifier) PasskeyRemoved(ctx context.Context, u *account.User, name string, c account.Client) error {
	return n.toMember(ctx, KindPasskeyRemoved, u, c, map[string]any{"Name": clip(name, 64)})
}

// NewDevice tells u that a browser without their device cookie signed in
// with m; it sends nothing when the operator turned the notice off. At most
// one goes out per NewDeviceQuiet: later sign-ins are counted, and the
// next notice, or the digest (SendDigests), reports them.
func (n *Notifier) NewDevice(ctx context.Context, u *account.User, m account.AuthMethod, c account.Client) error {
	if !n.cfg.NewDevice || !u.EmailVerified {
		return nil
	}
	now := n.now()
	due, earlier, err := n.store.NoteNewDevice(ctx, u.ID, now, now.Add(-NewDeviceQuiet), browserOf(c), c.IP)
	if err != nil || !due {
		return err
	}
	return n.toMember(ctx, KindNewDevice, u, c, map[string]any{"Method": methodWords(m), "Earlier": earlier})
}

// SendDigests mails every member whose sign-ins from new browsers were held
// back for NewDeviceQuiet a digest of them, and says how many it sent. The
// janitor calls it; several nodes at once send each digest once.
func (n *Notifier) SendDigests(ctx context.Context) (int, error) {
	sent := 0
	err := n.store.InTx(ctx, func(ctx context.Context) error {
		now := n.now()
		ds, err := n.store.TakeNewDeviceDigests(ctx, now, now.Add(-NewDeviceQuiet))
		if err != nil {
			return err
		}
		for _, d := range ds {
			u, err := n.store.FindUser(ctx, d.UserID)
			if account.IsCode(err, account.ENotFound) {
				continue // the account is gone
			}
			if err != nil {
				return err
			}
			data := map[string]any{"Count": d.Count, "Since": d.Since.UTC().Format(timeFormat), "LastBrowser": orUnknown(d.Browser),
				"LastIP": orUnknown(d.IP)}
			if err := n.toMember(ctx, KindNewDeviceDigest, u, account.Client{}, data); err != nil {
				return err
			}
			sent++
		}
		return nil
	})
	return sent, err
}

// timeFormat is how notices write times.
const timeFormat = "Monday, 2 January 2006, 15:04 MST"

// toMember queues a notice to u's address — unless the address was never
// proven: the only mail an unverified address gets is the one that asks to
// confirm it, so an account signed up with a stranger's address cannot be
// used to mail them (docs/security.md, T16). While the account can still
// be moved back to addresses it left (account.Reservation), they get every
// notice too: the owner may be there, and a thief's changes must reach
// them (T2).
func (n *Notifier) toMember(ctx context.Context, kind string, u *account.User, c account.Client, data map[string]any) error {
	_, err := n.toMemberCounted(ctx, kind, u, c, data)
	return err
}

// toMemberCounted is toMember, saying to how many addresses it wrote.
func (n *Notifier) toMemberCounted(ctx context.Context, kind string, u *account.User, c account.Client, data map[string]any) (int, error) {
	if !u.EmailVerified {
		return 0, nil
	}
	earlier, err := n.reserved(ctx, u)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, to := range append([]string{u.Email}, earlier...) {
		// Each mail renders its own copy: send adds to data.
		if err := n.send(ctx, kind, to, c, maps.Clone(data)); err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}

// reserved returns the addresses u left and can still move back to, but
// its own, once each.
func (n *Notifier) reserved(ctx context.Context, u *account.User) ([]string, error) {
	rs, err := n.store.FindEmailReservations(ctx, u.ID, n.now())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rs {
		if r.EmailKey != u.EmailKey && !slices.ContainsFunc(out, func(e string) bool { return strings.EqualFold(e, r.Email) }) {
			out = append(out, r.Email)
		}
	}
	return out, nil
}

// send renders the template named kind with what every notice says and
// queues it to to in the transaction of ctx. The browser is named by
// account.BrowserName, never by the raw User-Agent, which is the client's
// own text.
func (n *Notifier) send(ctx context.Context, kind, to string, c account.Client, data map[string]any) error {
	data["Site"] = n.cfg.Site
	data["When"] = n.now().UTC().Format(timeFormat)
	if _, ok := data["Browser"]; !ok {
		data["Browser"] = browserOf(c)
	}
	data["IP"] = orUnknown(c.IP)
	data["AccountURL"] = strings.TrimRight(n.cfg.Origin, "/") + "/account"
	msg, err := outbox.Render(kind, kind, to, n.cfg.Site, data)
	if err != nil {
		return err
	}
	return n.mailer.Enqueue(ctx, msg)
}

// browserOf names the client's browser as account.BrowserName does.
func browserOf(c account.Client) string {
	if b := account.BrowserName(c.UserAgent); b != "" {
		return b
	}
	return "an unrecognised browser"
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
	case account.MethodSupportRecovery:
		return "with a support recovery link"
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
