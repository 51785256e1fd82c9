// Package audit judges the ways into an account other than its passkeys —
// the recovery channels that become the front door once passwords are no
// longer the weakest link — for `keyshift audit`. What each channel
// bypasses and how it fails after passkeys is data here (channels.go); the
// figures come from the store; the findings are what an operator should
// act on, with a severity their CI can gate on.
package audit

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/readiness"
)

// Store is what the audit reads.
type Store interface {
	// ReadinessBuckets counts accounts by what they hold, with Passkeys
	// capped at 2 and RecoveryCodes at 1 (enough to tell the classes apart).
	ReadinessBuckets(ctx context.Context) (map[readiness.Holdings]int, error)
	// SigninsByMethod counts successful sign-ins since, by method and by
	// whether the member holds a passkey now.
	SigninsByMethod(ctx context.Context, since time.Time) ([]MethodCount, error)
	// PasswordFormats counts stored passwords by hash format.
	PasswordFormats(ctx context.Context) (map[string]int, error)
}

// MethodCount is one row of SigninsByMethod.
type MethodCount struct {
	Method         account.AuthMethod
	PasskeyHolders bool
	Count          int
}

// Settings is what the configuration says of the channels.
type Settings struct {
	// EmailSignin is whether mail can be sent (SMTP or the dev mailer): the
	// email link and code work for every member with an address.
	EmailSignin bool
	// EmailPasskeyAccounts is what an email sign-in gives a member who holds
	// a passkey (email_signin.passkey_accounts): "full" (a session like any
	// other; the finding email_full_sessions), "restricted" (an hour, and a
	// passkey it adds on probation) or "require_passkey" (none without a
	// passkey on the device).
	EmailPasskeyAccounts string
	// PasswordSignup is whether new members may choose a password.
	PasswordSignup bool
}

// Severity orders findings; High fails `keyshift audit --strict`.
type Severity string

const (
	High   Severity = "high"
	Medium Severity = "medium"
	Low    Severity = "low"
)

// Finding is one thing the operator should look at.
type Finding struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
}

// ChannelReport is a channel with its state and use.
type ChannelReport struct {
	Channel
	Enabled bool `json:"enabled"`
	// Uses7 and Uses30 are successful sign-ins through the channel in the
	// last 7 and 30 days; ByPasskeyHolders7 those of members holding a
	// passkey, for whom the channel went around it.
	Uses7             int `json:"uses7d"`
	Uses30            int `json:"uses30d"`
	ByPasskeyHolders7 int `json:"byPasskeyHolders7d"`
}

// Report is the whole audit.
type Report struct {
	At        time.Time               `json:"at"`
	Channels  []ChannelReport         `json:"channels"`
	Readiness map[readiness.Class]int `json:"readiness"`
	Accounts  int                     `json:"accounts"`
	Passwords map[string]int          `json:"passwordFormats"`
	Weak      map[string]int          `json:"weakPasswordFormats"`
	Findings  []Finding               `json:"findings"`
}

// High reports whether any finding is high.
func (r *Report) High() bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Severity == High })
}

// Run audits the store as of now.
func Run(ctx context.Context, st Store, s Settings, now time.Time) (*Report, error) {
	r := &Report{At: now, Readiness: map[readiness.Class]int{}, Weak: map[string]int{}}
	buckets, err := st.ReadinessBuckets(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: readiness: %w", err)
	}
	passkeyAccounts := 0
	for h, n := range buckets {
		r.Readiness[readiness.Of(h)] += n
		r.Accounts += n
		if h.Passkeys > 0 {
			passkeyAccounts += n
		}
	}
	week, month, err := uses(ctx, st, now)
	if err != nil {
		return nil, err
	}
	if r.Passwords, err = st.PasswordFormats(ctx); err != nil {
		return nil, fmt.Errorf("audit: password formats: %w", err)
	}
	for f, n := range r.Passwords {
		if weakFormat(f) {
			r.Weak[f] = n
		}
	}
	for _, c := range Channels {
		cr := ChannelReport{Channel: c, Enabled: c.enabled(s, r.Passwords)}
		for _, m := range c.Methods {
			cr.Uses7 += week[m].all
			cr.ByPasskeyHolders7 += week[m].holders
			cr.Uses30 += month[m].all
		}
		r.Channels = append(r.Channels, cr)
	}
	r.Findings = findings(r, s, passkeyAccounts)
	return r, nil
}

type useCount struct{ all, holders int }

// uses reads the sign-ins of the last 7 and 30 days by method.
func uses(ctx context.Context, st Store, now time.Time) (week, month map[account.AuthMethod]useCount, err error) {
	read := func(days int) (map[account.AuthMethod]useCount, error) {
		rows, err := st.SigninsByMethod(ctx, now.AddDate(0, 0, -days))
		if err != nil {
			return nil, fmt.Errorf("audit: sign-ins of the last %d days: %w", days, err)
		}
		m := map[account.AuthMethod]useCount{}
		for _, row := range rows {
			c := m[row.Method]
			c.all += row.Count
			if row.PasskeyHolders {
				c.holders += row.Count
			}
			m[row.Method] = c
		}
		return m, nil
	}
	if week, err = read(7); err != nil {
		return nil, nil, err
	}
	month, err = read(30)
	return week, month, err
}
