package page

import (
	"html/template"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/passkey"
	"github.com/keyshift/keyshift/internal/telemetry"
)

// Data is what every page receives.
type Data struct {
	Title     string
	Email     string            // the address typed, to refill a form
	Errors    map[string]string // field → message
	FormError string            // an error that concerns no one field
	User      *account.User
	Session   *account.Session
	Sessions  []account.Session
	Passkeys  []passkey.Passkey
	// Notice confirms what just happened, in the section it concerns.
	Notice string
	// EmailNotice and EmailError are the email section's own: a
	// confirmation mail sent again, or why it was not.
	EmailNotice, EmailError string
	// Section is the account-page section ("email", "password") that
	// Notice, FormError and Errors concern; "" for the passkeys.
	Section string
	// Moved is the passkey the account page's "Moving to another password
	// manager?" guide just made (?moved=ID, one of the member's): the guide
	// then offers to remove the others.
	Moved *passkey.Passkey
	// PasskeyError is a refused rename or removal, shown in the form of
	// the passkey it concerns.
	PasskeyError *PasskeyError
	// Remembered is who last signed in on this browser: /signin greets
	// them and offers their last way of signing in first.
	Remembered *Remembered
	// SignupClosed hides sign-up links and the sign-up form (signup.open);
	// the server sets it for every page.
	SignupClosed bool
	// RecoveryLeft is how many unused recovery codes the member has;
	// RecoveryCodes is a set just made, shown on this page only.
	RecoveryLeft  int
	RecoveryCodes []string
	// Rollout is what the staged rollout offers the member on /account;
	// the account page always has it.
	Rollout *RolloutOffer
	// Cleared is what an email sign-in just removed from the account,
	// the first proof of its mailbox (account.Removed.Cleared): the
	// account page says why, and offers a passkey first.
	Cleared []string
	// Signals is the account page's calls for the browser's Signal API,
	// JSON (apijson.Signals): keyshift.js hands them on at each load, so a
	// passkey deleted or an address changed reaches the password managers.
	Signals string
	// FreshFor is how many more seconds this session may do the account
	// page's sensitive actions without a step-up (0: it must step up
	// first); keyshift.js steps up before a form that needs it, inline.
	FreshFor int
	// Readiness is how the account would fare if its member lost a device
	// (internal/readiness), shown on /account as a short checklist.
	Readiness *Readiness
	// SupportRecovery is the account's pending support recovery, which
	// every session's account page shows with a button that cancels it
	// (nil: none).
	SupportRecovery *SupportRecovery
	// Probations are the member's passkeys on probation that this session
	// neither added nor was proven by: the banner with "This wasn't me".
	Probations []Probation
	// Recovered: this session signed in with a recovery code moments ago;
	// /account asks for a passkey and a new set of codes first.
	Recovered bool

	// The email pages'.
	Token  string // a mailed link's token, posted back by the page's button
	FlowID string // the email sign-in the code form finishes
	// Here is the nudge's page offering a passkey on this device after a
	// sign-in with one from another device.
	Here bool
	// Next is where the nudge's page (/welcome/passkey) goes on to.
	Next string
	// Signup marks the email pages of a passkey-first sign-up: the code
	// form carries it on, and the page says where the code went.
	Signup bool
	// SignupWays is what /signup offers (signup.methods and the rollout).
	SignupWays *SignupWays
	// Autostart: the nudge's page right after a passkey-first sign-up,
	// whose script asks for the passkey at once.
	Autostart bool
	// Target is the masked address a sign-in link signs in to ("Continue
	// as a…@example.com"); SignedInAs is the masked address of another
	// member signed in on this browser, whose session the link would end.
	Target, SignedInAs string
	// Removed is what a revert or "This wasn't me" removed.
	Removed *account.Removed
	// Landing is the mailed link whose landing page this is.
	Landing *Landing
	// Wide pages (the admin dashboard) use the width of the window, not
	// the card's.
	Wide bool
	// Dashboard is /admin's.
	Dashboard *Dashboard
}

// Step is the sign-in method /signin offers first: the remembered one, or
// "" for the usual page (passkey, then password, then email).
func (d Data) Step() string {
	if d.Remembered == nil {
		return ""
	}
	return d.Remembered.Method
}

// Place puts a refusal's words beside field, or atop the form when it
// concerns none.
func (d *Data) Place(field, message string) {
	d.Errors = map[string]string{}
	if field != "" {
		d.Errors[field] = message
	} else {
		d.FormError = message
	}
}

// Readiness is the account page's checklist: the class, what the account
// holds, and what to do next (readiness.Next), most useful first.
type Readiness struct {
	Class string
	// Passkey: at least one passkey; Backup: a second passkey or a synced
	// one; Codes: unused recovery codes left.
	Passkey, Backup bool
	Codes           int
	Steps           []string
}

// RolloutOffer is what /account shows of the staged rollout: the table's
// offer for the member (rollout.Offers) and their answers.
type RolloutOffer struct {
	// AddPasskey shows "Add a passkey"; without it the page says passkeys
	// are not offered yet.
	AddPasskey bool
	// BetaToggle shows "Try passkeys"; BetaOn says it is on.
	BetaToggle, BetaOn bool
	// Passwordless shows "Go passwordless"; PasswordlessOn says the member
	// chose it; NotReady is why the account cannot go passwordless yet,
	// in words for the member ("" when it can).
	Passwordless, PasswordlessOn bool
	NotReady                     string
	// AskAgain: the member chose "Don't ask again"; the page offers to
	// undo it.
	AskAgain bool
}

// SignupWays is what /signup offers a visitor.
type SignupWays struct {
	// PasskeyFirst: the address first, proven by a mailed code, then a
	// passkey (or email only); the rollout decides per address after it is
	// typed.
	PasskeyFirst bool
	// Password: a password may make the account (signup.methods);
	// PasswordOpen shows its field at once.
	Password, PasswordOpen bool
}

// PasskeyError is a refusal beside one passkey's forms.
type PasskeyError struct {
	ID, Message string
}

// Remembered is who last signed in on this browser, and how (a signed
// cookie): /signin greets them and offers that way first.
type Remembered struct {
	Email  string // normalised, as stored; only ever in a hidden field's value
	Method string // "passkey", "password" or "email"
	// PasswordBehind: the rollout deprecates the password for this member
	// (password-deprecation, an account with a passkey): the passkey leads
	// and the password form waits behind "Use a password instead".
	PasswordBehind bool
}

// Masked is the address as the page shows it, "a…@example.com": enough for
// the member to recognise, little for the next person at a shared computer.
func (m *Remembered) Masked() string { return account.MaskEmail(m.Email) }

// Landing is the page a mailed link opens (GET /email/…?token=…). It changes
// nothing — mail scanners follow links — but shows a button that posts the
// token to the same path. A refused button shows the same page again, with
// the refusal and a way back.
type Landing struct {
	Path                string // the link's path, where the button posts
	Title, Lead, Button string // catalog keys
	ID                  string // the button's id; its form's is ID + "-form"
	Danger              bool   // the button undoes something
	// Back is the way back after a refusal, and BackWords its catalog key;
	// BackAlways shows it under the button too.
	Back, BackWords string
	BackAlways      bool
	// Hint is said under a refusal (a catalog key, "" for nothing).
	Hint string
	// CleanedUp heads what a refused button removed all the same
	// (Data.Removed).
	CleanedUp string
}

// The landing pages of the mailed links: the address confirmation,
// "This wasn't me", and an email change's confirmation, revert and cancel.
var (
	ConfirmLanding = &Landing{Path: "/email/confirm", Title: "confirm.title", Lead: "confirm.lead", Button: "confirm.button",
		ID: "email-confirm", Back: "/account", BackWords: "confirm.account"}
	DisownLanding = &Landing{Path: "/email/disown", Title: "disown.title", Lead: "disown.lead", Button: "disown.button",
		ID: "email-disown", Danger: true, Back: "/signin", BackWords: "email.back", BackAlways: true}
	ChangeLanding = &Landing{Path: "/email/change", Title: "change.title", Lead: "change.lead", Button: "change.button",
		ID: "email-change-confirm", Back: "/account", BackWords: "confirm.account"}
	RevertLanding = &Landing{Path: "/email/revert", Title: "revert.title", Lead: "revert.lead", Button: "revert.button",
		ID: "email-revert", Danger: true, Back: "/signin", BackWords: "email.back", CleanedUp: "revert.cleaned_up"}
	// PasskeyDisownLanding is the "This wasn't me" link of a passkey on
	// probation (notice_passkey_probation).
	PasskeyDisownLanding = &Landing{Path: "/passkeys/wasnt-me", Title: "probation.title", Lead: "probation.lead", Button: "probation.button",
		ID: "passkey-disown", Danger: true, Back: "/signin", BackWords: "email.back", BackAlways: true}
	// SupportCancelLanding is the "This wasn't me — cancel" link of a
	// support recovery's notice; SupportRecoverLanding its completion link,
	// mailed to the new address after the wait.
	SupportCancelLanding = &Landing{Path: "/support/cancel", Title: "support.cancel_title", Lead: "support.cancel_lead", Button: "support.cancel_button",
		ID: "support-cancel", Danger: true, Back: "/signin", BackWords: "email.back", BackAlways: true, Hint: "support.cancel_too_late"}
	SupportRecoverLanding = &Landing{Path: "/support/recover", Title: "support.recover_title", Lead: "support.recover_lead", Button: "support.recover_button",
		ID: "support-recover", Back: "/signin", BackWords: "email.back", Hint: "support.recover_hint"}
	CancelLanding = &Landing{Path: "/email/cancel", Title: "cancel.title", Lead: "cancel.lead", Button: "cancel.button",
		ID: "email-cancel", Danger: true, Back: "/signin", BackWords: "email.back", Hint: "cancel.too_late"}
)

// Dashboard is what /admin shows: the rollout's figures (the metrics
// document), the form that chose them and the chart drawn from them.
type Dashboard struct {
	// Form is the query as the operator gave it, to fill the form again.
	Form DashboardForm
	// Ranges and Cohorts are the form's choices.
	Ranges, Cohorts []string
	// Error is a refused parameter, in words; then Doc is nil.
	Error string
	// CSV is the download's address with the same filters.
	CSV string
	// Doc is the metrics document (nil when the query was refused); Zone
	// is its time zone, for the times shown.
	Doc  *telemetry.Document
	Zone *time.Location
	// Chart is the share of sign-ins by method over time, as SVG.
	Chart template.HTML
	// Methods is a row per sign-in method: counts, rates and times.
	Methods []MethodRow
}

// DashboardForm is the dashboard's query as typed.
type DashboardForm struct {
	Range, From, To, Cohort, TZ string
}

// MethodRow is one sign-in method on the dashboard.
type MethodRow struct {
	Method           string
	Success, Failure int64
	// Rate is successes per attempt, Share the method's part of every
	// successful sign-in.
	Rate, Share float64
	// The time to sign in in ms by the page's clock and the server's (0:
	// none measured).
	P50, P90, ServerP50, ServerP90 int
}

// SupportRecovery is a pending support recovery as the account page's
// banner shows it: the new address masked, and when its link goes out.
type SupportRecovery struct {
	To      string
	ReadyAt time.Time
}

// Probation is one passkey on probation as the account page's banner
// shows it.
type Probation struct {
	PasskeyID, Name, Provider string
	AddedAt, Until            time.Time
}
