package audit

import (
	"fmt"
	"slices"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/password/legacy"
	"github.com/keyshift/keyshift/internal/readiness"
)

// Channel is a way into an account, judged as the migration playbook's
// threat-model table judges it once members have passkeys.
type Channel struct {
	Name string `json:"name"`
	// Offered is false for channels keyshift does not have (and says why
	// in Weakness): they are listed so the operator sees they were
	// considered.
	Offered bool `json:"offered"`
	// Bypasses is what an attacker holding the channel gets around.
	Bypasses string `json:"bypasses"`
	// Weakness is how the channel is attacked once passwords are gone.
	Weakness string `json:"weakness"`
	// Methods are the sign-in methods the channel's uses are counted by.
	Methods []account.AuthMethod `json:"-"`
}

// Channels is the table, strongest last.
var Channels = []Channel{
	{Name: "email_link", Offered: true, Methods: []account.AuthMethod{account.MethodEmailLink},
		Bypasses: "every passkey and the password: whoever reads the mailbox signs in",
		Weakness: "mailbox takeover (reused mail password, expired domain re-registered, forwarding rule) becomes account takeover; the link can be phished"},
	{Name: "email_code", Offered: true, Methods: []account.AuthMethod{account.MethodEmailCode},
		Bypasses: "every passkey and the password: whoever reads the mailbox signs in",
		Weakness: "as the link, and the code can be relayed by a phishing page in real time (it is not bound to the origin)"},
	{Name: "password", Offered: true, Methods: []account.AuthMethod{account.MethodPassword},
		Bypasses: "every passkey, while the account keeps a password",
		Weakness: "phishing, credential stuffing from other sites' breaches, and offline cracking of weak legacy hashes"},
	{Name: "recovery_code", Offered: true, Methods: []account.AuthMethod{account.MethodRecoveryCode},
		Bypasses: "every passkey and the mailbox, once per code",
		Weakness: "a printout or file stolen or photographed; codes can be phished one at a time"},
	{Name: "support_recovery", Offered: true, Methods: []account.AuthMethod{account.MethodSupportRecovery},
		Bypasses: "everything: support moves the account to a new address and removes every credential",
		Weakness: "social engineering of support staff; the waiting period and the notices to every known address and session are the owner's chance to cancel"},
	{Name: "sms", Offered: false,
		Bypasses: "every passkey",
		Weakness: "SIM swap and SS7 interception; keyshift does not offer SMS"},
	{Name: "trusted_contact", Offered: false,
		Bypasses: "every passkey, with one contact's help",
		Weakness: "the contact's account or judgement; not offered"},
	{Name: "second_passkey", Offered: true,
		Bypasses: "nothing: it is a passkey",
		Weakness: "none beyond the device it lives on; the best recovery there is"},
}

// enabled says whether c works on this deployment now.
func (c Channel) enabled(s Settings, passwords map[string]int) bool {
	switch c.Name {
	case "email_link", "email_code":
		return s.EmailSignin
	case "password":
		return s.PasswordSignup || len(passwords) > 0
	default:
		return c.Offered
	}
}

// weakFormats are hash formats an attacker with a database copy cracks
// fast: unsalted or salted digests, and the iterated-MD5 schemes. The
// slow formats (bcrypt, scrypt, PBKDF2, SHA-crypt, Argon2) are not listed
// even when their cost is low; they are re-hashed at the next sign-in.
var weakFormats = []legacy.Format{legacy.MD5, legacy.SHA1, legacy.SHA256,
	legacy.SaltedMD5Prefix, legacy.SaltedMD5Suffix, legacy.SaltedSHA1Prefix, legacy.SaltedSHA1Suffix,
	legacy.SaltedSHA256Prefix, legacy.SaltedSHA256Suffix, legacy.PHPass, legacy.MD5Crypt}

func weakFormat(f string) bool { return slices.Contains(weakFormats, legacy.Format(f)) }

// findings are what r says the operator should act on.
func findings(r *Report, s Settings, passkeyAccounts int) []Finding {
	var out []Finding
	add := func(sev Severity, code, format string, args ...any) {
		out = append(out, Finding{Severity: sev, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	if s.EmailSignin && s.EmailPasskeyAccounts == "full" && passkeyAccounts > 0 {
		add(High, "email_full_sessions", "email sign-in gives full sessions to %d passkey accounts: whoever takes over a member's mailbox gets around the passkey", passkeyAccounts)
	}
	weak := 0
	for _, n := range r.Weak {
		weak += n
	}
	if weak > 0 {
		add(High, "weak_password_hashes", "%d imported passwords are stored in fast hash formats (%s); a copy of the database cracks them quickly. They become Argon2id at each member's next sign-in", weak, formatList(r.Weak))
	}
	if n := r.Readiness[readiness.AtRisk]; n > 0 {
		add(Medium, "accounts_at_risk", "%d accounts have one device-bound passkey and nothing else: losing that device leaves only email", n)
	}
	for _, c := range r.Channels {
		if c.Name == "recovery_code" && c.ByPasskeyHolders7 > 0 {
			add(Low, "recovery_codes_used", "recovery codes were used %d times by passkey members in the last 7 days", c.ByPasskeyHolders7)
		}
		// Each one handed an account to a new address on support's word:
		// the operator should see every one, and check it was expected.
		if c.Name == "support_recovery" && c.Uses7 > 0 {
			add(Low, "support_recovery_used", "support recovery moved %d accounts to a new address in the last 7 days: check each against your support tickets (keyshift admin recover --list --all)", c.Uses7)
		}
		if (c.Name == "email_link" || c.Name == "email_code") && c.ByPasskeyHolders7 > 0 {
			add(Low, "email_used_by_passkey_members", "%s was used %d times by members who hold a passkey in the last 7 days", c.Name, c.ByPasskeyHolders7)
		}
	}
	if n := r.Readiness[readiness.Weak]; n > 0 {
		add(Low, "accounts_without_passkey", "%d accounts have no passkey (email or password only)", n)
	}
	return out
}

// formatList is "md5: 3, sha1: 1" in the order of legacy.Formats.
func formatList(m map[string]int) string {
	s := ""
	for _, f := range legacy.Formats {
		if n, ok := m[string(f)]; ok {
			if s != "" {
				s += ", "
			}
			s += fmt.Sprintf("%s: %d", f, n)
		}
	}
	return s
}
