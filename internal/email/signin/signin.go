// Package signin signs members in by email: one mail holds a link
// (ORIGIN/email/verify?token=…) and a 6-digit code for reading the mail on
// another device. Both are single-use and die together, expire, and are
// stored only as hashes. A flow allows a bounded number of code tries, and
// an address a bounded number of wrong codes a day across its flows (after
// which codes stop working for it while links keep working). Starting flows
// is throttled per address (or per trusted device) and per IP; a start
// while the address's last mail is still fresh sends no new mail. No HTTP
// in here: package web decodes and answers.
package signin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"net/url"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/link"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/throttle"
)

// Flow is one email sign-in in progress. Only hashes of its secrets are kept.
type Flow struct {
	ID       string
	Email    string // where the mail went: the account's address, or the canonical form of the one typed
	EmailKey string // the account key the flow signs in to (or creates)
	// TokenHash is the hash of the link's token (link.New).
	TokenHash []byte
	// CodeHash is HMAC-SHA256 of the code under the server's code key,
	// salted with the flow id.
	CodeHash  []byte
	Attempts  int // code tries so far
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store is the storage of email sign-ins in progress. Every method joins
// the transaction that InTx put in ctx.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// CreateEmailFlow inserts f.
	CreateEmailFlow(ctx context.Context, f *Flow) error
	// FindNewestEmailFlow returns the newest flow for emailKey that
	// expires after now; ENotFound when there is none.
	FindNewestEmailFlow(ctx context.Context, emailKey string, now time.Time) (*Flow, error)
	// EmailFlowLinks finds and takes flows by their link's token hash
	// (link.Store) — however many code tries a flow had.
	EmailFlowLinks() link.Store[Flow]
	// TryEmailCode counts one code try on the live flow id and returns it,
	// in one statement; ENotFound when the flow does not exist, has
	// expired, or already had maxAttempts tries.
	TryEmailCode(ctx context.Context, id string, now time.Time, maxAttempts int) (*Flow, error)
	// TakeEmailFlow deletes and returns the live flow id in one statement,
	// as its link is taken; ENotFound when there is none.
	TakeEmailFlow(ctx context.Context, id string, now time.Time) (*Flow, error)
}

// Users is the storage of the accounts email sign-ins sign in to. Every
// method joins the transaction in ctx.
type Users interface {
	// FindEmailHolder returns the user whose address has key or, failing
	// that, the user holding key reserved at now (account.Reservation);
	// ENotFound when neither exists.
	FindEmailHolder(ctx context.Context, key string, now time.Time) (*account.User, error)
	FindUser(ctx context.Context, id string) (*account.User, error)
	CreateUser(ctx context.Context, u *account.User) error
	// VerifyUserEmail marks the user's address as verified.
	VerifyUserEmail(ctx context.Context, userID string, at time.Time) error
	// DeleteUserEmailVerifications removes the user's sign-up
	// confirmation links and says how many.
	DeleteUserEmailVerifications(ctx context.Context, userID string) (int, error)
}

// Sessions starts the session of an email sign-in (session.Service).
type Sessions interface {
	Start(ctx context.Context, u *account.User, m account.AuthMethod, c account.Client) (*account.SigninResult, error)
	StartFirst(ctx context.Context, u *account.User, m account.AuthMethod, c account.Client) (*account.SigninResult, error)
}

// Members locks the account a sign-in signs in to, and cleans up a
// never-verified one at the first proof of its mailbox (member.Service).
type Members interface {
	Lock(ctx context.Context, userID, sessionID string) error
	ResetCredentials(ctx context.Context, userID string, r account.Reset) (account.Removed, error)
	VoidEmailChanges(ctx context.Context, userID string) (int, error)
	EndSessions(ctx context.Context, userID string) (int, error)
}

// Mailer queues a mail in the transaction of ctx (outbox.Outbox).
type Mailer interface {
	Enqueue(ctx context.Context, msg outbox.Message) error
}

// Notifier tells a member by mail that wrong sign-in codes were typed for
// their address (package notice). It joins the transaction in ctx.
type Notifier interface {
	EmailCodesFailed(ctx context.Context, u *account.User, wrong int, c account.Client) error
}

// QuietFor is how long after a start that mailed the address further starts
// send nothing: they answer alike, with the id of the address's newest flow,
// whose mail is on its way or in the inbox.
const QuietFor = time.Minute

// Throttle policies. A start that mails counts on the address's key (or,
// for a trusted device of the address's account, on that device's key) and
// on the quiet key; every start counts on the client's IP. A refusal of
// the address's keys is a quiet start, never a 429, as long as a mail the
// address received is still live — and one always is, since the address's
// longest wait (Max) is shorter than a flow's life (DefaultTTL) — so no
// stranger can close an address's email sign-in by starting flows for it.
var (
	// PolicyStartAddress limits mails to one address: 5, then one after
	// 1, 2, 4, 8 and then every 10 minutes; forgotten after a quiet day.
	PolicyStartAddress = throttle.Policy{Name: "email-addr", Free: 5, Base: time.Minute, Max: 10 * time.Minute, Forget: 24 * time.Hour}
	// PolicyStartDevice replaces PolicyStartAddress for a browser that
	// signed in to the address's account before, so that strangers'
	// starts never hold the member's own browser back.
	PolicyStartDevice = throttle.Policy{Name: "email-device", Free: 5, Base: time.Minute, Max: 10 * time.Minute, Forget: 24 * time.Hour}
	// PolicyStartIP limits flows started from one address (throttle.PerIP).
	PolicyStartIP = throttle.Policy{Name: "email-ip", Free: 30, Base: 5 * time.Second, Max: time.Hour, Forget: time.Hour}
	// PolicyQuiet lets one start a QuietFor mail an address.
	PolicyQuiet = throttle.Policy{Name: "email-quiet", Free: 1, Base: QuietFor, Max: QuietFor, Forget: QuietFor}

	// PolicyCodeAddress is the budget of codes compared for one address,
	// across its flows: 50, then none until a day without a try has
	// passed. Past it a code — even the right one — is invalid_code; links
	// keep working. A right code gives its try back.
	PolicyCodeAddress = throttle.Policy{Name: "email-code", Free: 50, Base: 24 * time.Hour, Max: 24 * time.Hour, Forget: 24 * time.Hour}
	// PolicyCodeDevice replaces PolicyCodeAddress for a trusted device of
	// the address's account, so strangers' guesses never spend the
	// member's own budget.
	PolicyCodeDevice = throttle.Policy{Name: "email-code-device", Free: 50, Base: 24 * time.Hour, Max: 24 * time.Hour, Forget: 24 * time.Hour}
	// PolicyCodeNotice lets one wrong-codes notice a day go to a member.
	PolicyCodeNotice = throttle.Policy{Name: "email-code-notice", Free: 1, Base: 24 * time.Hour, Max: 24 * time.Hour, Forget: 24 * time.Hour}
)

// CodeNoticeAfter is how many wrong codes for a member's address (in
// PolicyCodeAddress's window) make keyshift tell the member.
const CodeNoticeAfter = 10

// Event types written by this package.
const (
	// EventStarted records a start that stored a flow: a sign-in mail
	// queued, or (data "sent": false) a start for an unknown address while
	// sign-up is closed, whose flow nothing redeems and which sends
	// nothing. A quiet start (QuietFor) records nothing.
	EventStarted = "email_signin_started"
)

// Reasons of failed redemptions, in events and failure counts.
const (
	ReasonUnknownLink = "unknown_link" // unknown, used, expired or malformed token
	ReasonUnknownFlow = "unknown_flow" // unknown, used or expired flow, or its tries used up
	ReasonWrongCode   = "wrong_code"
	ReasonCodeBudget  = "code_budget" // the address's budget of codes is spent
)

// Defaults of Config.
const (
	DefaultTTL         = 15 * time.Minute
	DefaultMaxAttempts = 5
)

// Config is the operator's policy.
type Config struct {
	// Origin starts the link: Origin + "/email/verify?token=…".
	Origin string
	// Site names the sender in the mail.
	Site string
	// TTL is how long a flow lives (default 15 min). It must be longer
	// than PolicyStartAddress.Max (see there); New raises it when not.
	TTL time.Duration
	// MaxAttempts is how many code tries a flow allows (default 5); then
	// its code is dead and its link still works.
	MaxAttempts int
	// SignupOpen lets a flow for an unknown address create the account;
	// when false, starting one for an unknown address stores a flow that
	// nothing redeems and sends nothing, and the answer is the same.
	SignupOpen bool
	// CodeKey is the server secret codes are hashed under.
	CodeKey []byte
	// RequirePasskey (email_signin.passkey_accounts require_passkey): a
	// link or code of a member who holds a passkey proves the mailbox but
	// signs nobody in; the answer is EPasskeyRequired, reason
	// "email_signin", and the page asks for a passkey on this device or
	// leads to the recovery paths.
	RequirePasskey bool
}

// ReasonPasskeyRequired is the reason of the EPasskeyRequired answer to an
// email sign-in of a passkey member under require_passkey.
const ReasonPasskeyRequired = "email_signin"

// passkeyRequired is that answer.
func passkeyRequired() *account.Error {
	return &account.Error{Code: account.EPasskeyRequired, Reason: ReasonPasskeyRequired,
		Detail: "this account signs in with a passkey; the email link or code alone is not enough"}
}

// Deps are the parts a Service works with.
type Deps struct {
	Sessions Sessions
	Members  Members
	Limiter  *throttle.Limiter
	Audit    account.Audit
	// Random makes flow ids, the link's token (link.New, as every mailed
	// link's) and codes.
	Random account.Random
	Now    func() time.Time
	Mailer Mailer
	// Notices tells members of wrong codes; nil sends none.
	Notices Notifier
}

// Service starts and finishes email sign-ins.
type Service struct {
	store Store
	users Users
	cfg   Config
	d     Deps
}

// New builds a Service; a nil d.Now is time.Now.
func New(cfg Config, store Store, users Users, d Deps) *Service {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if limit := max(PolicyStartAddress.Max, PolicyStartDevice.Max, QuietFor) + time.Minute; cfg.TTL < limit {
		cfg.TTL = limit
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{store: store, users: users, cfg: cfg, d: d}
}

// Start begins a sign-in for the address and queues its mail in the same
// transaction as the flow, so the request never waits for SMTP. The answer
// is a flow id whether or not an account exists, after the same work. A
// member's mail goes to the address stored with the account, whatever
// spelling of it was typed.
//
// Every start counts on the client's IP (refused: EThrottled). A start
// mails only when the quiet key and the address's key (or the trusted
// device's) both allow it, decided atomically in the transaction that
// stores the flow (mailOrQuiet); otherwise it is quiet: it answers the id
// of the address's newest live flow and sends nothing, so 60 starts at once
// make one mail, and a stranger's starts leave the member a live mail
// instead of a 429. A start for an unknown address while sign-up is closed
// stores a flow whose token and code hash match nothing and mails nothing,
// so it answers and repeats exactly like a start for a member.
func (s *Service) Start(ctx context.Context, emailIn string, c account.Client) (string, error) {
	email, key, err := account.NormalizeEmail(emailIn)
	if err != nil {
		return "", err
	}
	// An address an account holds reserved (account.Reservation) is that
	// account's, as a taken address would be: the mail signs in to it.
	u, err := s.users.FindEmailHolder(ctx, key, s.d.Now())
	if err != nil && !account.IsCode(err, account.ENotFound) {
		return "", err
	}
	known := err == nil
	if known && u.EmailKey == key {
		// The account's own address, never the spelling typed: two
		// spellings share a key only when they are one mailbox, and the
		// member's stored address is the one that proved it can be read.
		// An address the account holds reserved is mailed as typed (it is
		// that mailbox by its key): never to the account's current
		// address, which after a theft is the thief's.
		email = u.Email
	}
	send := known || s.cfg.SignupOpen
	token, hash := link.New(s.d.Random)
	code := s.d.Random.NewCode()
	now := s.d.Now()
	f := &Flow{
		ID: s.d.Random.NewID(), Email: email, EmailKey: key, TokenHash: hash,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.TTL),
	}
	f.CodeHash = account.HashCode(s.cfg.CodeKey, f.ID, code)
	msg, err := s.render(email, token, code, !known)
	if err != nil {
		return "", err
	}
	if !send {
		// Nothing redeems this flow: its token hash is of a token nobody
		// was given, its code hash is random rather than any code's HMAC.
		_, f.TokenHash = link.New(s.d.Random)
		f.CodeHash = s.d.Random.Bytes(sha256.Size)
	}
	ev := &account.Event{Type: EventStarted, Method: "email", Data: map[string]any{"flow": f.ID, "sent": send}}
	if known {
		ev.UserID = u.ID
	}
	own := account.OwnCheck(PolicyStartAddress, PolicyStartDevice, key, u, c)
	quiet := quietCheck(key)
	var id string
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := account.Reserve(ctx, s.d.Limiter, throttle.PerIP(PolicyStartIP, c.IP)...); err != nil {
			return err
		}
		quietID, err := s.mailOrQuiet(ctx, key, now, quiet, own)
		if err != nil || quietID != "" {
			id = quietID
			return err
		}
		if err := s.store.CreateEmailFlow(ctx, f); err != nil {
			return err
		}
		if send {
			if err := s.d.Mailer.Enqueue(ctx, msg); err != nil {
				return err
			}
		}
		id = f.ID
		return s.event(ctx, ev, c)
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// mailOrQuiet decides, in the start's transaction, whether it mails: ""
// when it does, else the id of the flow a quiet start answers. The quiet
// key and own decide together; when they refuse, the address's newest
// live flow is the answer (on PostgreSQL the refusal came after waiting
// for any transaction holding these keys, so its flow is visible). When
// there is none, the last mail was used, and only the mailbox's reader can
// have used it: own does not hold the next mail back, the quiet key alone
// still does. EThrottled only if even that finds nothing to answer.
func (s *Service) mailOrQuiet(ctx context.Context, key string, now time.Time, quiet, own throttle.Check) (string, error) {
	r, err := s.d.Limiter.Reserve(ctx, quiet, own)
	if err != nil || r.Allowed {
		return "", err
	}
	if id, err := s.newestFlow(ctx, key, now); id != "" || err != nil {
		return id, err
	}
	if r, err = s.d.Limiter.Reserve(ctx, quiet); err != nil || r.Allowed {
		return "", err
	}
	if id, err := s.newestFlow(ctx, key, now); id != "" || err != nil {
		return id, err
	}
	return "", account.Throttled(r.Wait)
}

// newestFlow is the id of the address's newest live flow; "" when none.
func (s *Service) newestFlow(ctx context.Context, key string, now time.Time) (string, error) {
	f, err := s.store.FindNewestEmailFlow(ctx, key, now)
	if account.IsCode(err, account.ENotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return f.ID, nil
}

// render builds the sign-in mail.
func (s *Service) render(to, token, code string, newAccount bool) (outbox.Message, error) {
	data := map[string]any{
		"Link":    strings.TrimRight(s.cfg.Origin, "/") + "/email/verify?token=" + url.QueryEscape(token),
		"Code":    code,
		"Site":    s.cfg.Site,
		"Minutes": int(s.cfg.TTL / time.Minute),
		"New":     newAccount,
	}
	return outbox.Render("signin", "signin_link", to, s.cfg.Site, data)
}

// LinkAddress returns the address a link's token would sign in to, using
// nothing up, so that the landing page can say "Continue as a…@example.com"
// before the member presses the button: a link someone else sent — to sign
// the reader in to the sender's account (login CSRF) — shows whose account
// it opens. An unknown, used or expired token is EInvalidCode. It is not
// throttled: a token carries 256 random bits, and the read changes nothing.
func (s *Service) LinkAddress(ctx context.Context, token string) (string, error) {
	if !account.PlausibleToken(token) {
		return "", invalidCode()
	}
	f, err := s.store.EmailFlowLinks().FindLink(ctx, link.Hash(token), s.d.Now())
	if account.IsCode(err, account.ENotFound) {
		return "", invalidCode()
	}
	if err != nil {
		return "", err
	}
	return f.Email, nil
}

// FinishLink signs in with the token of a mailed link. Any failure —
// unknown, used or expired token — is EInvalidCode. Every try is first
// reserved on the client's IP (PolicyRedeemIP; refused: EThrottled); a
// success gives it back.
func (s *Service) FinishLink(ctx context.Context, token string, c account.Client) (*account.SigninResult, error) {
	ip := throttle.PerIP(account.PolicyRedeemIP, c.IP)
	if _, err := account.Reserve(ctx, s.d.Limiter, ip...); err != nil {
		return nil, err
	}
	if !account.PlausibleToken(token) {
		return nil, s.failed(ctx, account.MethodEmailLink, ReasonUnknownLink, c)
	}
	links, hash := s.store.EmailFlowLinks(), link.Hash(token)
	f, err := links.FindLink(ctx, hash, s.d.Now())
	if account.IsCode(err, account.ENotFound) {
		return nil, s.failed(ctx, account.MethodEmailLink, ReasonUnknownLink, c)
	}
	if err != nil {
		return nil, err
	}
	return s.finish(ctx, account.MethodEmailLink, c, ip, ReasonUnknownLink, f.EmailKey, func(ctx context.Context, now time.Time) (*Flow, error) {
		return links.TakeLink(ctx, hash, now)
	})
}

// FinishCode signs in with a flow's 6-digit code. Any failure is
// EInvalidCode. Before a code is compared, three counts allow it: the
// client's IP (PolicyRedeemIP; refused: EThrottled), the flow's tries
// (MaxAttempts, counted in one write, so no more are ever compared however
// many requests race; then the flow's code is dead, its link is not), and
// the address's budget of codes across flows (PolicyCodeAddress, or a
// trusted device's own; spent: EInvalidCode, even for the right code). A
// wrong code for a member's address is an event of theirs, and the member
// is mailed once a day when CodeNoticeAfter have been typed.
func (s *Service) FinishCode(ctx context.Context, flowID, code string, c account.Client) (*account.SigninResult, error) {
	code = account.CleanCode(code)
	m := account.MethodEmailCode
	ip := throttle.PerIP(account.PolicyRedeemIP, c.IP)
	if _, err := account.Reserve(ctx, s.d.Limiter, ip...); err != nil {
		return nil, err
	}
	if !account.PlausibleID(flowID) || !account.PlausibleCode(code) {
		return nil, s.failed(ctx, m, ReasonUnknownFlow, c)
	}
	f, err := s.store.TryEmailCode(ctx, flowID, s.d.Now(), s.cfg.MaxAttempts)
	if account.IsCode(err, account.ENotFound) {
		return nil, s.failed(ctx, m, ReasonUnknownFlow, c)
	}
	if err != nil {
		return nil, err
	}
	u, err := s.users.FindEmailHolder(ctx, f.EmailKey, s.d.Now())
	if account.IsCode(err, account.ENotFound) {
		u = nil
	} else if err != nil {
		return nil, err
	}
	budget := account.OwnCheck(PolicyCodeAddress, PolicyCodeDevice, f.EmailKey, u, c)
	r, err := s.d.Limiter.Reserve(ctx, budget)
	if err != nil {
		return nil, err
	}
	if !r.Allowed {
		// Counted, not an event of the member's: past the budget guesses
		// cost the guesser nothing but the IP's tries.
		return nil, s.failed(ctx, m, ReasonCodeBudget, c)
	}
	if !hmac.Equal(account.HashCode(s.cfg.CodeKey, f.ID, code), f.CodeHash) {
		return nil, s.wrongCode(ctx, u, r.Counts[0], c)
	}
	return s.finish(ctx, m, c, append(ip, budget), ReasonUnknownFlow, f.EmailKey, func(ctx context.Context, now time.Time) (*Flow, error) {
		return s.store.TakeEmailFlow(ctx, f.ID, now)
	})
}

// quietCheck is the quiet key of the address emailKey (PolicyQuiet).
func quietCheck(emailKey string) throttle.Check {
	return throttle.Check{Policy: PolicyQuiet, Subject: account.HashSubject(emailKey)}
}

// wrongCode records a wrong code: for a member's address an event of
// theirs and, once wrong codes reach CodeNoticeAfter, the day's notice, in
// one transaction; for an unknown address a count.
func (s *Service) wrongCode(ctx context.Context, u *account.User, wrong int, c account.Client) error {
	if u == nil {
		return s.failed(ctx, account.MethodEmailCode, ReasonWrongCode, c)
	}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.event(ctx, &account.Event{Type: account.EventSignin, UserID: u.ID, Method: string(account.MethodEmailCode),
			Outcome: account.OutcomeFailure, Data: map[string]any{"reason": ReasonWrongCode}}, c); err != nil {
			return err
		}
		if wrong < CodeNoticeAfter || s.d.Notices == nil {
			return nil
		}
		r, err := s.d.Limiter.Reserve(ctx, throttle.Check{Policy: PolicyCodeNotice, Subject: u.ID})
		if err != nil || !r.Allowed {
			return err
		}
		return s.d.Notices.EmailCodesFailed(ctx, u, wrong, c)
	})
	if err != nil {
		return err
	}
	return invalidCode()
}

// finish takes the flow with take and signs its member in (creating the
// account when sign-up is open), all in one transaction: the flow's
// deletion, the user's verified address, the events, the refund of the
// attempt's reservations on refund, the forgiven quiet key of the address
// and the session commit together, and of concurrent redemptions exactly
// one takes the flow. The account the flow's address (key) belongs to is
// locked first (member.Service.Lock), so a sign-in never interleaves with a
// clean-up of that account. A flow that is gone is a failure with reason.
func (s *Service) finish(ctx context.Context, m account.AuthMethod, c account.Client, refund []throttle.Check, reason, key string,
	take func(context.Context, time.Time) (*Flow, error)) (*account.SigninResult, error) {
	var res *account.SigninResult
	needPasskey := false
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		holder, err := s.users.FindEmailHolder(ctx, key, s.d.Now())
		switch {
		case account.IsCode(err, account.ENotFound):
			holder = nil
		case err != nil:
			return err
		default:
			if err := s.d.Members.Lock(ctx, holder.ID, ""); err != nil {
				return err
			}
			// Read again under the lock: a clean-up may have changed it.
			if holder, err = s.users.FindUser(ctx, holder.ID); err != nil {
				return err
			}
		}
		f, err := take(ctx, s.d.Now())
		if account.IsCode(err, account.ENotFound) {
			return invalidCode()
		}
		if err != nil {
			return err
		}
		u, created, removed, err := s.member(ctx, f, holder, m, c)
		if err != nil {
			return err
		}
		if err := s.d.Limiter.Refund(ctx, refund...); err != nil {
			return err
		}
		// The mail that made the address quiet is used: the next start
		// may mail again at once. Only the mailbox's reader can get here.
		if err := s.d.Limiter.Reset(ctx, quietCheck(f.EmailKey)); err != nil {
			return err
		}
		if s.cfg.RequirePasskey && u.PasskeyCount > 0 && removed == nil {
			// The link or code is used up (it proved the mailbox, once),
			// and the refusal is recorded, but no session starts: the
			// member signs in with a passkey, or a recovery code.
			needPasskey = true
			return s.event(ctx, &account.Event{Type: account.EventSignin, UserID: u.ID, Method: string(m), Outcome: account.OutcomeFailure,
				Data: map[string]any{"reason": "passkey_required"}}, c)
		}
		ev := &account.Event{Type: account.EventSignin, UserID: u.ID, Method: string(m), Outcome: account.OutcomeSuccess}
		switch {
		case removed != nil:
			ev.Data = map[string]any{"firstProof": true, "cleared": removed.Cleared()}
		case created:
			// The sign-in that made the account: telemetry counts the
			// sign-up (its own event, above) and not a sign-in.
			ev.Data = map[string]any{"created": true}
		}
		if err := s.event(ctx, ev, c); err != nil {
			return err
		}
		start := s.d.Sessions.Start
		if created || removed != nil {
			// No other device to warn: the account is new, or every
			// browser of it was just signed out.
			start = s.d.Sessions.StartFirst
		}
		if res, err = start(ctx, u, m, c); err != nil {
			return err
		}
		if removed != nil {
			res.Removed = *removed
		}
		res.Created = created
		return nil
	})
	if account.IsCode(err, account.EInvalidCode) {
		return nil, s.failed(ctx, m, reason, c)
	}
	if err != nil {
		return nil, err
	}
	if needPasskey {
		return nil, passkeyRequired()
	}
	// Counts are loaded fresh: the sign-in answer reports them.
	if full, err := s.users.FindUser(ctx, res.User.ID); err == nil {
		res.User = *full
	}
	return res, nil
}

// member returns the account f signs in to — holder, the account that has
// the flow's address or holds it reserved — with its address verified: the
// mail reached it. An unknown address gets a new account when sign-up is
// open; created says so. The first proof of the mailbox of an account that
// never had its address verified — a password sign-up anyone could have
// made with this address, or an import whose address was not verified —
// removes what was set before it: the password, passkeys and recovery
// codes, every session, the other links (docs/security.md, T3); removed
// says what went (nil: no first proof). The sign-up's own confirmation
// link, which told the mailbox's owner about the sign-up, is the one proof
// that keeps them (package confirm).
func (s *Service) member(ctx context.Context, f *Flow, holder *account.User, m account.AuthMethod, c account.Client) (u *account.User, created bool, removed *account.Removed, err error) {
	now := s.d.Now()
	if holder == nil {
		if !s.cfg.SignupOpen {
			return nil, false, nil, invalidCode()
		}
		u = &account.User{
			ID: s.d.Random.NewID(), Email: f.Email, EmailKey: f.EmailKey, EmailVerified: true, Origin: account.OriginEmail,
			RampSubject: account.AddressRampSubject(f.EmailKey),
			WebAuthnID:  s.d.Random.Bytes(32), CreatedAt: now, UpdatedAt: now,
		}
		if err := s.users.CreateUser(ctx, u); err != nil {
			return nil, false, nil, err
		}
		return u, true, nil, s.event(ctx, &account.Event{Type: account.EventSignup, UserID: u.ID, Method: string(m), Outcome: account.OutcomeSuccess}, c)
	}
	u = holder
	if u.EmailVerified || u.EmailKey != f.EmailKey {
		// Verified already, or the flow's address is one the account
		// holds reserved, not its own: nothing to prove here.
		return u, false, nil, nil
	}
	r, err := s.firstProof(ctx, u, now)
	if err != nil {
		return nil, false, nil, err
	}
	// What the first proof removed is gone: the session it starts is
	// that of a member without passkey or password.
	u.EmailVerified, u.PasskeyCount, u.HasPassword = true, 0, false
	return u, false, &r, nil
}

// firstProof cleans up a never-verified account whose mailbox was just
// proven by someone other than through its sign-up's confirmation mail,
// and marks its address verified, in the transaction of ctx; the caller
// holds the account's lock.
func (s *Service) firstProof(ctx context.Context, u *account.User, now time.Time) (account.Removed, error) {
	r, err := s.d.Members.ResetCredentials(ctx, u.ID, account.Reset{})
	if err != nil {
		return r, err
	}
	if _, err := s.users.DeleteUserEmailVerifications(ctx, u.ID); err != nil {
		return r, err
	}
	if _, err := s.d.Members.VoidEmailChanges(ctx, u.ID); err != nil {
		return r, err
	}
	if r.Sessions, err = s.d.Members.EndSessions(ctx, u.ID); err != nil {
		return r, err
	}
	return r, s.users.VerifyUserEmail(ctx, u.ID, now)
}

// failed counts a failed redemption that no account is tied to
// (account.Audit.RecordFailure) and returns EInvalidCode, which never
// says what was wrong.
func (s *Service) failed(ctx context.Context, m account.AuthMethod, reason string, c account.Client) error {
	e := &account.Event{Type: account.EventSignin, Method: string(m), Outcome: account.OutcomeFailure, Data: map[string]any{"reason": reason}}
	if err := s.d.Audit.RecordFailure(ctx, e, c); err != nil {
		return err
	}
	return invalidCode()
}

func invalidCode() *account.Error {
	return &account.Error{Code: account.EInvalidCode, Detail: "unknown, used or expired link or code"}
}

func (s *Service) event(ctx context.Context, e *account.Event, c account.Client) error {
	return s.d.Audit.Record(ctx, e, c)
}
