// Package clientip finds the address of the client behind keyshift's
// trusted reverse proxies, the key of every per-IP throttle and the address
// sessions and audit events record.
package clientip

import (
	"net"
	"net/netip"
	"strings"
)

// Of returns the address of the client of a request from remoteAddr that
// carries the X-Forwarded-For values forwardedFor: the peer, or, when the
// peer is one of trusted, the nearest address in X-Forwarded-For that is
// not. Believing the header from anyone else would let an attacker pick a
// fresh IP for every guess and escape per-IP throttling.
//
// A hop may come as ip, ip:port or [ipv6]:port, with or without a zone
// (proxies differ). A hop that is none of these is the client's key by its
// own text, and badHopFrom is the trusted peer that sent it (for the log;
// "" when every hop was an address): falling back to the proxy's address
// would put every client behind that proxy on one throttle key.
func Of(remoteAddr string, forwardedFor []string, trusted []netip.Prefix) (client, badHopFrom string) {
	peer, host, err := peerAddr(remoteAddr)
	if err != nil {
		return host, ""
	}
	if !isTrusted(trusted, peer) {
		return peer.String(), ""
	}
	hops := strings.Split(strings.Join(forwardedFor, ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		raw := strings.TrimSpace(hops[i])
		if raw == "" {
			continue
		}
		a, ok := parseHop(raw)
		if !ok {
			return hopKey(raw), peer.String()
		}
		if !isTrusted(trusted, a) {
			return a.String(), ""
		}
		peer = a
	}
	return peer.String(), ""
}

// PeerTrusted reports whether the TCP peer remoteAddr is one of trusted:
// only then may what a proxy says about the request (the client's address,
// the URL it was asked for) be believed.
func PeerTrusted(remoteAddr string, trusted []netip.Prefix) bool {
	peer, _, err := peerAddr(remoteAddr)
	return err == nil && isTrusted(trusted, peer)
}

// peerAddr reads net/http's RemoteAddr, ip:port (or a bare ip), and
// returns its host part too, for a peer that is no address.
func peerAddr(remoteAddr string) (netip.Addr, string, error) {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), host, err
}

// parseHop reads one X-Forwarded-For entry: an IP address, ip:port or
// [ipv6]:port (or [ipv6]), dropping an IPv6 zone and unmapping IPv4-mapped
// addresses.
func parseHop(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().WithZone("").Unmap(), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

// hopKey turns a hop that is no address into a key fit for the throttle
// table, the session list and the audit log: printable ASCII, at most 64
// bytes, marked so it is never taken for an address.
func hopKey(raw string) string {
	var b strings.Builder
	b.WriteString("hop:")
	for i := 0; i < len(raw) && b.Len() < 68; i++ {
		if c := raw[i]; c > ' ' && c < 0x7f {
			b.WriteByte(c)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}

func isTrusted(trusted []netip.Prefix, a netip.Addr) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
