package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// A setting ties a YAML key to its environment variable and to how a raw
// string becomes a value in Config. The table is the one list of keys: the YAML
// reader, the environment reader and Problem messages all use it.
type setting struct {
	key  string // dotted YAML key
	env  string
	list bool // in YAML a sequence of strings, in the environment comma-separated
	set  func(c *Config, v string) error
}

var settings = []setting{
	{key: "listen", env: "KEYSHIFT_LISTEN", set: text(func(c *Config) *string { return &c.Listen })},
	{key: "origin", env: "KEYSHIFT_ORIGIN", set: text(func(c *Config) *string { return &c.Origin })},
	{key: "origins", env: "KEYSHIFT_ORIGINS", list: true, set: strList(func(c *Config) *[]string { return &c.Origins })},
	{key: "rp_id", env: "KEYSHIFT_RP_ID", set: text(func(c *Config) *string { return &c.RPID })},
	{key: "rp_name", env: "KEYSHIFT_RP_NAME", set: text(func(c *Config) *string { return &c.RPName })},
	{key: "database", env: "KEYSHIFT_DATABASE", set: text(func(c *Config) *string { return &c.Database })},
	{key: "smtp_url", env: "KEYSHIFT_SMTP_URL", set: strList(func(c *Config) *[]string { return &c.SMTPURLs })},
	{key: "smtp_ca_file", env: "KEYSHIFT_SMTP_CA_FILE", set: text(func(c *Config) *string { return &c.SMTPCAFile })},
	{key: "mail_from", env: "KEYSHIFT_MAIL_FROM", set: text(func(c *Config) *string { return &c.MailFrom })},
	{key: "admin_token", env: "KEYSHIFT_ADMIN_TOKEN", set: text(func(c *Config) *string { return &c.AdminToken })},
	{key: "dev", env: "KEYSHIFT_DEV", set: boolean(func(c *Config) *bool { return &c.Dev })},
	{key: "trusted_proxies", env: "KEYSHIFT_TRUSTED_PROXIES", list: true, set: prefixes(func(c *Config) *[]netip.Prefix { return &c.TrustedProxies })},
	{key: "trusted_proxies_allow_all", env: "KEYSHIFT_TRUSTED_PROXIES_ALLOW_ALL", set: boolean(func(c *Config) *bool { return &c.TrustedProxiesAllowAll })},
	{key: "mail", env: "KEYSHIFT_MAIL", set: text(func(c *Config) *string { return &c.Mail })},
	{key: "metrics_listen", env: "KEYSHIFT_METRICS_LISTEN", set: text(func(c *Config) *string { return &c.MetricsListen })},
	{key: "pepper", env: "KEYSHIFT_PEPPER", set: text(func(c *Config) *string { return &c.Pepper })},
	{key: "pepper_file", env: "KEYSHIFT_PEPPER_FILE", set: text(func(c *Config) *string { return &c.PepperFile })},
	{key: "previous_peppers", env: "KEYSHIFT_PREVIOUS_PEPPERS", list: true, set: strList(func(c *Config) *[]string { return &c.PreviousPeppers })},
	{key: "allowed_return_origins", env: "KEYSHIFT_ALLOWED_RETURN_ORIGINS", list: true, set: strList(func(c *Config) *[]string { return &c.AllowedReturnOrigins })},
	{key: "cookie_domain", env: "KEYSHIFT_COOKIE_DOMAIN", set: text(func(c *Config) *string { return &c.CookieDomain })},

	{key: "session.idle_timeout", env: "KEYSHIFT_SESSION_IDLE_TIMEOUT", set: duration(func(c *Config) *time.Duration { return &c.Session.IdleTimeout })},
	{key: "session.absolute_timeout", env: "KEYSHIFT_SESSION_ABSOLUTE_TIMEOUT", set: duration(func(c *Config) *time.Duration { return &c.Session.AbsoluteTimeout })},

	{key: "password.hash_concurrency", env: "KEYSHIFT_HASH_CONCURRENCY", set: number(func(c *Config) *int { return &c.Password.HashConcurrency })},
	{key: "password.hash_queue_timeout", env: "KEYSHIFT_HASH_QUEUE_TIMEOUT", set: duration(func(c *Config) *time.Duration { return &c.Password.HashQueueTimeout })},
	{key: "password.argon2_memory_kib", env: "KEYSHIFT_ARGON2_MEMORY_KIB", set: number(func(c *Config) *uint32 { return &c.Password.ArgonMemoryKiB })},
	{key: "password.argon2_iterations", env: "KEYSHIFT_ARGON2_ITERATIONS", set: number(func(c *Config) *uint32 { return &c.Password.ArgonIterations })},
	{key: "password.argon2_parallelism", env: "KEYSHIFT_ARGON2_PARALLELISM", set: number(func(c *Config) *uint8 { return &c.Password.ArgonParallelism })},
	{key: "password.failure_floor", env: "KEYSHIFT_PASSWORD_FAILURE_FLOOR", set: duration(func(c *Config) *time.Duration { return &c.Password.FailureFloor })},

	{key: "passkey.allow_roaming", env: "KEYSHIFT_PASSKEY_ALLOW_ROAMING", set: boolean(func(c *Config) *bool { return &c.Passkey.AllowRoaming })},
	{key: "passkey.aaguid_allow", env: "KEYSHIFT_PASSKEY_AAGUID_ALLOW", list: true, set: strList(func(c *Config) *[]string { return &c.Passkey.AAGUIDAllow })},
	{key: "passkey.aaguid_deny", env: "KEYSHIFT_PASSKEY_AAGUID_DENY", list: true, set: strList(func(c *Config) *[]string { return &c.Passkey.AAGUIDDeny })},
	{key: "passkey.device_bound_only", env: "KEYSHIFT_PASSKEY_DEVICE_BOUND_ONLY", set: boolean(func(c *Config) *bool { return &c.Passkey.DeviceBoundOnly })},
	{key: "passkey.attestation", env: "KEYSHIFT_PASSKEY_ATTESTATION", set: text(func(c *Config) *string { return &c.Passkey.Attestation })},
	{key: "passkey.metadata_file", env: "KEYSHIFT_PASSKEY_METADATA_FILE", set: text(func(c *Config) *string { return &c.Passkey.MetadataFile })},
	{key: "passkey.metadata_root", env: "KEYSHIFT_PASSKEY_METADATA_ROOT", set: text(func(c *Config) *string { return &c.Passkey.MetadataRoot })},
	{key: "passkey.algorithms", env: "KEYSHIFT_PASSKEY_ALGORITHMS", list: true, set: strList(func(c *Config) *[]string { return &c.Passkey.Algorithms })},
	{key: "passkey.challenge_timeout", env: "KEYSHIFT_PASSKEY_CHALLENGE_TIMEOUT", set: duration(func(c *Config) *time.Duration { return &c.Passkey.ChallengeTimeout })},
	{key: "passkey.reauth_window", env: "KEYSHIFT_REAUTH_WINDOW", set: duration(func(c *Config) *time.Duration { return &c.Passkey.ReauthWindow })},

	{key: "oidc.clients_file", env: "KEYSHIFT_OIDC_CLIENTS_FILE", set: text(func(c *Config) *string { return &c.OIDC.ClientsFile })},
	{key: "notify.new_device", env: "KEYSHIFT_NOTIFY_NEW_DEVICE", set: boolean(func(c *Config) *bool { return &c.Notify.NewDevice })},
	{key: "email_signin.passkey_accounts", env: "KEYSHIFT_EMAIL_SIGNIN_PASSKEY_ACCOUNTS", set: text(func(c *Config) *string { return &c.EmailSignin.PasskeyAccounts })},
	{key: "email_signin.probation", env: "KEYSHIFT_EMAIL_SIGNIN_PROBATION", set: duration(func(c *Config) *time.Duration { return &c.EmailSignin.Probation })},
	{key: "email_change.link_timeout", env: "KEYSHIFT_EMAIL_CHANGE_TIMEOUT", set: duration(func(c *Config) *time.Duration { return &c.EmailChange.LinkTimeout })},
	{key: "support_recovery.wait", env: "KEYSHIFT_SUPPORT_RECOVERY_WAIT", set: duration(func(c *Config) *time.Duration { return &c.SupportRecovery.Wait })},
	{key: "support_recovery.link_timeout", env: "KEYSHIFT_SUPPORT_RECOVERY_LINK_TIMEOUT", set: duration(func(c *Config) *time.Duration { return &c.SupportRecovery.LinkTimeout })},

	{key: "rollout.passkey_success_min", env: "KEYSHIFT_ROLLOUT_PASSKEY_SUCCESS_MIN", set: number(func(c *Config) *int { return &c.Rollout.PasskeySuccessMin })},
	{key: "rollout.passkey_window", env: "KEYSHIFT_ROLLOUT_PASSKEY_WINDOW", set: number(func(c *Config) *int { return &c.Rollout.PasskeyWindow })},
	{key: "rollout.recovery_rise_max", env: "KEYSHIFT_ROLLOUT_RECOVERY_RISE_MAX", set: number(func(c *Config) *int { return &c.Rollout.RecoveryRiseMax })},
	{key: "rollout.recovery_min_uses", env: "KEYSHIFT_ROLLOUT_RECOVERY_MIN_USES", set: number(func(c *Config) *int { return &c.Rollout.RecoveryMinUses })},
	{key: "rollout.duplicates_per_hour_max", env: "KEYSHIFT_ROLLOUT_DUPLICATES_PER_HOUR_MAX", set: number(func(c *Config) *int { return &c.Rollout.DuplicatesPerHourMax })},
	{key: "rollout.hold", env: "KEYSHIFT_ROLLOUT_HOLD", set: boolean(func(c *Config) *bool { return &c.Rollout.Hold })},
	{key: "telemetry.retention_days", env: "KEYSHIFT_TELEMETRY_RETENTION_DAYS", set: number(func(c *Config) *int { return &c.Telemetry.RetentionDays })},
	{key: "rollout.retire_after_days", env: "KEYSHIFT_ROLLOUT_RETIRE_AFTER_DAYS", set: number(func(c *Config) *int { return &c.Rollout.RetireAfterDays })},

	{key: "signup.open", env: "KEYSHIFT_SIGNUP_OPEN", set: boolean(func(c *Config) *bool { return &c.Signup.Open })},
	{key: "signup.methods", env: "KEYSHIFT_SIGNUP_METHODS", list: true, set: strList(func(c *Config) *[]string { return &c.Signup.Methods })},

	{key: "log.level", env: "KEYSHIFT_LOG_LEVEL", set: text(func(c *Config) *string { return &c.Log.Level })},
	{key: "log.format", env: "KEYSHIFT_LOG_FORMAT", set: text(func(c *Config) *string { return &c.Log.Format })},
}

// settingByKey finds a setting by its dotted YAML key.
var settingByKey = func() map[string]*setting {
	m := make(map[string]*setting, len(settings))
	for i := range settings {
		m[settings[i].key] = &settings[i]
	}
	return m
}()

// applyEnv sets every KEYSHIFT_* variable that has a value. A variable set to
// "" (or blanks) counts as unset, because container tooling often cannot unset
// a variable, only empty it.
func (c *Config) applyEnv(getenv func(string) string) Problems {
	var ps Problems
	for _, s := range settings {
		v := strings.TrimSpace(getenv(s.env))
		if v != "" {
			ps.addParse(s.key, s.set(c, v), "from the environment")
		}
	}
	return ps
}

func text(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		*field(c) = v
		return nil
	}
}

func boolean(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*field(c) = b
		return nil
	}
}

func duration(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf(`%q is not a duration like "168h" or "30m" (units h, m, s, ms; there is no "d")`, v)
		}
		*field(c) = d
		return nil
	}
}

// number reads a base-10 integer that must fit in T; whether it is sensible
// (not negative, not zero) is Validate's business.
func number[T int | uint8 | uint32](field func(*Config) *T) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		if int64(T(n)) != n {
			return fmt.Errorf("%q is out of range (negative or too large)", v)
		}
		*field(c) = T(n)
		return nil
	}
}

func strList(field func(*Config) *[]string) func(*Config, string) error {
	return func(c *Config, v string) error {
		*field(c) = splitList(v)
		return nil
	}
}

func prefixes(field func(*Config) *[]netip.Prefix) func(*Config, string) error {
	return func(c *Config, v string) error {
		var ps []netip.Prefix
		var bad []string
		for _, s := range splitList(v) {
			p, err := parseProxy(s)
			if err != nil {
				bad = append(bad, strconv.Quote(s))
			}
			ps = append(ps, p)
		}
		if len(bad) > 0 {
			return fmt.Errorf("%s: not an IP address or CIDR like 192.0.2.1 or 10.0.0.0/8", strings.Join(bad, ", "))
		}
		*field(c) = ps
		return nil
	}
}

// splitList splits a comma-separated list, trimming blanks and dropping empty
// entries so that "a, b," means [a b].
func splitList(v string) []string {
	var out []string
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// parseProxy reads a CIDR or a bare IP, which stands for that one address.
// Host bits are masked off and IPv4-mapped IPv6 addresses unmapped, so the
// prefix matches the peer addresses net/http reports.
func parseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("IPv6 zones are not supported")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
