// Package apijson is the JSON of API.md's objects — User, Session, Passkey,
// what a clean-up Removed, and the sign-in answer — made from the domain's
// values. Package web writes them; their shape is the API's contract.
package apijson

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/export"
	"github.com/keyshift/keyshift/internal/passkey"
)

// User is API.md's User.
type User struct {
	ID            string `json:"id"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"emailVerified"`
	HasPassword   bool   `json:"hasPassword"`
	PasskeyCount  int    `json:"passkeyCount"`
}

// NewUser is u as the API shows it.
func NewUser(u account.User) User {
	return User{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, HasPassword: u.HasPassword, PasskeyCount: u.PasskeyCount}
}

// UserAnswer is {"user": User}.
type UserAnswer struct {
	User User `json:"user"`
}

// Signin is API.md's sign-in answer. Next is "enroll_passkey" when the
// rollout nudges the member towards a passkey; otherwise null.
type Signin struct {
	User User    `json:"user"`
	Next *string `json:"next"`
	// Cleared says what the sign-in removed from the account (the first
	// proof of a never-verified account's mailbox, docs/security.md T3):
	// "password", "passkeys", "recovery_codes", "sessions". Absent when
	// nothing was.
	Cleared []string `json:"cleared,omitempty"`
	// Created is true when the sign-in made the account (an email sign-in
	// of an address that had none); absent otherwise.
	Created bool `json:"created,omitempty"`
	// ReturnTo is where the page should go next: the return address the
	// browser brought to /signin?return_to=, checked. Absent when there is
	// none; the page then goes to the account.
	ReturnTo string `json:"returnTo,omitempty"`
}

// Signals are calls for the browser's Signal API (WebAuthn L3 §5.1.10), each
// in the shape its PublicKeyCredential.signal… method takes, so a page
// passes them on unchanged: acceptedCredentials to
// signalAllAcceptedCredentials, currentUser to signalCurrentUserDetails.
type Signals struct {
	AcceptedCredentials *AcceptedCredentials `json:"acceptedCredentials,omitempty"`
	CurrentUser         *CurrentUser         `json:"currentUser,omitempty"`
}

// AcceptedCredentials lists every passkey keyshift accepts for the user
// handle (base64url): a password manager hides its others for this site.
type AcceptedCredentials struct {
	RPID                     string   `json:"rpId"`
	UserID                   string   `json:"userId"`
	AllAcceptedCredentialIDs []string `json:"allAcceptedCredentialIds"`
}

// CurrentUser is the names a password manager should show for the account.
type CurrentUser struct {
	RPID        string `json:"rpId"`
	UserID      string `json:"userId"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

// NewSignals is a's calls for the Signal API.
func NewSignals(a *passkey.Accepted) *Signals {
	b64 := base64.RawURLEncoding.EncodeToString
	ids := make([]string, len(a.CredentialIDs))
	for i, id := range a.CredentialIDs {
		ids[i] = b64(id)
	}
	user := b64(a.UserHandle)
	return &Signals{
		AcceptedCredentials: &AcceptedCredentials{RPID: a.RPID, UserID: user, AllAcceptedCredentialIDs: ids},
		CurrentUser:         &CurrentUser{RPID: a.RPID, UserID: user, Name: a.Name, DisplayName: a.DisplayName},
	}
}

// NextEnrollPasskey is the sign-in answer's "next" asking the client to
// offer a passkey (API.md).
const NextEnrollPasskey = "enroll_passkey"

// NewSignin is the sign-in answer for u, nudged or not.
func NewSignin(u account.User, nudge bool) Signin {
	out := Signin{User: NewUser(u)}
	if nudge {
		next := NextEnrollPasskey
		out.Next = &next
	}
	return out
}

// Session describes a session; the token never leaves the cookie.
type Session struct {
	ID              string    `json:"id"`
	AuthMethod      string    `json:"authMethod"`
	AuthenticatedAt time.Time `json:"authenticatedAt"`
	CreatedAt       time.Time `json:"createdAt"`
	LastSeenAt      time.Time `json:"lastSeenAt"`
	ExpiresAt       time.Time `json:"expiresAt"`
	UserAgent       string    `json:"userAgent"`
	IP              string    `json:"ip"`
	Current         bool      `json:"current"`
}

// NewSession is s as the API shows it; Current marks currentID, the
// asking browser's session.
func NewSession(s account.Session, currentID string) Session {
	return Session{
		ID: s.ID, AuthMethod: string(s.AuthMethod), AuthenticatedAt: s.AuthenticatedAt, CreatedAt: s.CreatedAt,
		LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt, UserAgent: s.UserAgent, IP: s.IP, Current: s.ID == currentID,
	}
}

// Passkey is API.md's Passkey.
type Passkey struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	Provider       string     `json:"provider"`
	CreatedAt      time.Time  `json:"createdAt"`
	LastUsedAt     *time.Time `json:"lastUsedAt"`
	BackupEligible bool       `json:"backupEligible"`
	BackedUp       bool       `json:"backedUp"`
	Synced         bool       `json:"synced"`
	Transports     []string   `json:"transports"`
	Attachment     string     `json:"attachment"`
	// ProbationUntil is set for a passkey added on probation (docs/api.md).
	ProbationUntil *time.Time `json:"probationUntil,omitempty"`
}

// NewPasskey is p as the API shows it: transports never null, no
// lastUsedAt until its first use.
func NewPasskey(p passkey.Passkey) Passkey {
	j := Passkey{ID: p.ID, Name: p.Name, Provider: p.Provider, CreatedAt: p.CreatedAt,
		BackupEligible: p.BackupEligible, BackedUp: p.BackedUp, Synced: p.Synced,
		Transports: p.Transports, Attachment: p.Attachment}
	if !p.ProbationUntil.IsZero() {
		t := p.ProbationUntil
		j.ProbationUntil = &t
	}
	if j.Transports == nil {
		j.Transports = []string{}
	}
	if !p.LastUsedAt.IsZero() {
		j.LastUsedAt = &p.LastUsedAt
	}
	return j
}

// Removed says what a clean-up removed (account.Removed).
type Removed struct {
	// Password is "removed", "restored" or null.
	Password      *string  `json:"password"`
	Passkeys      []string `json:"passkeys"`
	RecoveryCodes int      `json:"recoveryCodes"`
	Sessions      int      `json:"sessions"`
}

// NewRemoved is r as the API shows it: passkeys never null, password
// null when it was left alone.
func NewRemoved(r account.Removed) Removed {
	out := Removed{Passkeys: r.Passkeys, RecoveryCodes: r.RecoveryCodes, Sessions: r.Sessions}
	if out.Passkeys == nil {
		out.Passkeys = []string{}
	}
	if r.Password != "" {
		out.Password = &r.Password
	}
	return out
}

// Export is a member's data as GET /api/account/export gives it
// (export.Export): no secret and nothing made from one.
type Export struct {
	ExportedAt        time.Time       `json:"exportedAt"`
	Profile           ExportProfile   `json:"profile"`
	Password          *ExportPassword `json:"password"`
	Passkeys          []Passkey       `json:"passkeys"`
	RecoveryCodesLeft int             `json:"recoveryCodesLeft"`
	Sessions          []Session       `json:"sessions"`
	Events            []ExportEvent   `json:"events"`
}

// ExportProfile is the account itself.
type ExportProfile struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"emailVerified"`
	Name          string    `json:"name,omitempty"`
	ExternalID    string    `json:"externalId,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
	Origin        string    `json:"origin"`
	HasPassword   bool      `json:"hasPassword"`
	PasskeyCount  int       `json:"passkeyCount"`
}

// ExportPassword says when the password was set and last used; null in
// Export when there is none.
type ExportPassword struct {
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
}

// ExportEvent is one security event of the member's.
type ExportEvent struct {
	At        time.Time      `json:"at"`
	Type      string         `json:"type"`
	Method    string         `json:"method,omitempty"`
	Outcome   string         `json:"outcome,omitempty"`
	IP        string         `json:"ip,omitempty"`
	UserAgent string         `json:"userAgent,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
}

// NewExport is e as the API shows it; currentID marks the asking
// browser's session. Lists are never null.
func NewExport(e *export.Export, currentID string) Export {
	u := e.Profile
	out := Export{
		ExportedAt: e.ExportedAt,
		Profile: ExportProfile{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Name: u.Name, ExternalID: u.ExternalID,
			CreatedAt: u.CreatedAt, Origin: string(u.Origin), HasPassword: u.HasPassword, PasskeyCount: u.PasskeyCount},
		Passkeys: []Passkey{}, RecoveryCodesLeft: e.RecoveryCodes, Sessions: []Session{}, Events: []ExportEvent{},
	}
	if p := e.Password; p != nil {
		out.Password = &ExportPassword{CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
		if !p.LastUsedAt.IsZero() {
			out.Password.LastUsedAt = &p.LastUsedAt
		}
	}
	for _, p := range e.Passkeys {
		out.Passkeys = append(out.Passkeys, NewPasskey(p))
	}
	for _, x := range e.Sessions {
		out.Sessions = append(out.Sessions, NewSession(x, currentID))
	}
	for _, ev := range e.Events {
		out.Events = append(out.Events, ExportEvent{At: ev.At, Type: ev.Type, Method: ev.Method, Outcome: ev.Outcome,
			IP: ev.IP, UserAgent: ev.UserAgent, Data: ev.Data})
	}
	return out
}

// Cursor is the place of the last session of a page of GET /api/sessions.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// String encodes c as the opaque cursor of the API: base64url of
// "unix-microseconds.id" (the finest time either backend keeps).
func (c Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "." + c.ID))
}

// ParseCursor reads a cursor String made; ok is false for anything else.
func ParseCursor(v string) (c Cursor, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(raw) > 128 {
		return Cursor{}, false
	}
	ms, id, found := strings.Cut(string(raw), ".")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !found || err != nil || id == "" {
		return Cursor{}, false
	}
	return Cursor{time.UnixMicro(n), id}, true
}

// Notice is a security notice the member's sessions show (GET
// /api/session's "notices"). "passkey_probation": a passkey added through
// a weaker channel and on probation until until, which "This wasn't me"
// (POST /api/passkeys/{passkeyId}/wasnt-me) removes; every session but
// the one it concerns shows it. "support_recovery": support will move the
// account to another address (recovery), which any session may cancel
// (POST /api/account/support-recovery/cancel). Fields another kind does
// not have are left out.
type Notice struct {
	Kind      string     `json:"kind"`
	PasskeyID string     `json:"passkeyId,omitempty"`
	Name      string     `json:"name,omitempty"`
	Provider  string     `json:"provider,omitempty"`
	AddedAt   *time.Time `json:"addedAt,omitempty"`
	Until     *time.Time `json:"until,omitempty"`
	// Via is the sign-in method of the session that added the passkey.
	Via string `json:"via,omitempty"`
	// Recovery is the pending support recovery.
	Recovery *SupportRecovery `json:"recovery,omitempty"`
}

// SupportRecovery is a pending support recovery as a session sees it: the
// new address masked, and when its link goes out. Never the evidence or
// who asked: those are support's.
type SupportRecovery struct {
	ID      string    `json:"id"`
	To      string    `json:"to"`
	ReadyAt time.Time `json:"readyAt"`
}

// NewNotices is ps, and the pending support recovery sr (nil: none), as
// the API shows them: never null.
func NewNotices(ps []passkey.Probation, sr *SupportRecovery) []Notice {
	out := make([]Notice, 0, len(ps)+1)
	if sr != nil {
		out = append(out, Notice{Kind: "support_recovery", Recovery: sr})
	}
	for _, p := range ps {
		out = append(out, Notice{Kind: "passkey_probation", PasskeyID: p.PasskeyID, Name: p.Name, Provider: p.Provider,
			AddedAt: &p.AddedAt, Until: &p.Until, Via: string(p.Via)})
	}
	return out
}
