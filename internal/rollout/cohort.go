package rollout

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strings"
)

// Buckets is how finely the ramp divides members: a member falls in one of
// 10,000 buckets, so a percentage is a whole number of buckets (1 % = 100).
const Buckets = 10000

// Bucket returns the stable bucket, in [0, Buckets), that subject falls in
// under the install's salt. Subject is account.AddressRampSubject for a
// visitor who has no account yet and for the account made from that
// address (User.RampSubject), else the member's id. The salt keeps one
// install's ramp from predicting another's, and keeps members from working
// out their bucket from their id.
func Bucket(salt []byte, subject string) int {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte("keyshift rollout ramp\x00"))
	m.Write([]byte(subject))
	sum := m.Sum(nil)
	return int(binary.BigEndian.Uint64(sum[:8]) % Buckets)
}

// InRamp reports whether subject is within the first percent of the ramp.
// Raising percent never takes anyone out: a bucket below p*100 is below
// every larger p*100 too.
func InRamp(salt []byte, subject string, percent int) bool {
	return Bucket(salt, subject) < percent*(Buckets/100)
}

// Internal is the internal (dogfood) cohort: whole email domains and single
// addresses, both kept as canonical, lower-case keys.
type Internal struct {
	Domains []string `json:"domains"`
	Emails  []string `json:"emails"`
}

// Contains reports whether the address whose canonical key is emailKey
// belongs to the internal cohort: listed itself, or at a listed domain
// (exactly that domain; a subdomain is listed on its own).
func (in Internal) Contains(emailKey string) bool {
	if emailKey == "" {
		return false
	}
	if slices.Contains(in.Emails, emailKey) {
		return true
	}
	at := strings.LastIndexByte(emailKey, '@')
	return at >= 0 && slices.Contains(in.Domains, emailKey[at+1:])
}

// normalized returns in with domains and addresses lower-cased, trimmed,
// stripped of a leading "@" on domains, sorted and without repeats, so that
// two equal cohorts compare equal and the document reads the same every
// time.
func (in Internal) normalized() Internal {
	clean := func(xs []string, trimAt bool) []string {
		out := make([]string, 0, len(xs))
		for _, x := range xs {
			x = strings.ToLower(strings.TrimSpace(x))
			if trimAt {
				x = strings.TrimPrefix(x, "@")
			}
			if x != "" {
				out = append(out, x)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return Internal{Domains: clean(in.Domains, true), Emails: clean(in.Emails, false)}
}
