package throttle

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
)

// WideFactor is how many times a policy's free attempts an IPv6 /48 gets
// beside the /64 inside it (PerIP).
const WideFactor = 4

// PerIP returns the checks of one attempt from the client address ip under
// p. An IPv4 address is its own subject. An IPv6 client is counted by its
// /64 — what one subscriber is usually given, so rotating addresses inside
// it gains nothing — and, beside it, by its /48 under p with WideFactor
// times the free attempts, since a site often holds a /48 and can rotate
// /64s. Text that is not an address is its own subject (IPSubject).
func PerIP(p Policy, ip string) []Check {
	narrow, wide := ipSubjects(ip)
	checks := []Check{{Policy: p, Subject: narrow}}
	if wide != "" {
		w := p
		w.Free *= WideFactor
		checks = append(checks, Check{Policy: w, Subject: wide})
	}
	return checks
}

// IPSubject returns the subject that stands for the client address ip in
// per-IP keys and counts: the IPv4 address, the IPv6 /64 (for example
// "2001:db8:1:2::/64"), or, for text that is not an address, "?" and a
// hash of it — bounded and free of odd characters whatever a proxy sent.
func IPSubject(ip string) string {
	narrow, _ := ipSubjects(ip)
	return narrow
}

// ipSubjects returns ip's narrow subject and, for IPv6, its /48 ("" else).
func ipSubjects(ip string) (narrow, wide string) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		sum := sha256.Sum256([]byte(ip))
		return "?" + hex.EncodeToString(sum[:8]), ""
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String(), ""
	}
	return netip.PrefixFrom(a, 64).Masked().String(), netip.PrefixFrom(a, 48).Masked().String()
}
