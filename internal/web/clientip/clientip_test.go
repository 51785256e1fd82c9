package clientip

import (
	"net/netip"
	"strings"
	"testing"
)

func TestOf(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name, remote string
		xff          []string
		trusted      []netip.Prefix
		want, badHop string
	}{
		{"takes the peer when it is no proxy", "192.0.2.1:5000", []string{"198.51.100.4"}, loopback, "192.0.2.1", ""},
		{"takes the peer when nothing is trusted", "127.0.0.1:5000", []string{"198.51.100.4"}, nil, "127.0.0.1", ""},
		{"takes the peer when the proxy sends no header", "127.0.0.1:5000", nil, loopback, "127.0.0.1", ""},
		{"unmaps an IPv4-mapped peer", "[::ffff:192.0.2.9]:5000", nil, nil, "192.0.2.9", ""},
		{"keeps a peer that is no address by its text", "@pipe", nil, loopback, "@pipe", ""},
		{"believes a trusted proxy", "127.0.0.1:5000", []string{"198.51.100.4"}, loopback, "198.51.100.4", ""},
		{"drops a hop's port", "127.0.0.1:5000", []string{"198.51.100.4:5678"}, loopback, "198.51.100.4", ""},
		{"drops the brackets and port of an IPv6 hop", "127.0.0.1:5000", []string{"[2001:db8::1]:443"}, loopback, "2001:db8::1", ""},
		{"drops the brackets of an IPv6 hop without a port", "127.0.0.1:5000", []string{"[2001:db8::2]"}, loopback, "2001:db8::2", ""},
		{"drops a zone", "127.0.0.1:5000", []string{"fe80::1%eth0"}, loopback, "fe80::1", ""},
		{"drops an escaped zone with a port", "127.0.0.1:5000", []string{"[fe80::2%25eth0]:80"}, loopback, "fe80::2", ""},
		{"unmaps an IPv4-mapped hop", "127.0.0.1:5000", []string{"::ffff:192.0.2.7"}, loopback, "192.0.2.7", ""},
		{"takes the nearest hop that is no proxy", "127.0.0.1:5000", []string{"203.0.113.9, 198.51.100.77:1234"}, loopback, "198.51.100.77", ""},
		{"walks back over a chain of proxies", "127.0.0.1:5000", []string{"203.0.113.9, 10.1.2.3", "10.4.5.6"}, append(loopback, proxies...), "203.0.113.9", ""},
		{"takes the last proxy when every hop is one", "127.0.0.1:5000", []string{"10.1.2.3"}, append(loopback, proxies...), "10.1.2.3", ""},
		{"skips empty hops", "127.0.0.1:5000", []string{"198.51.100.4, , "}, loopback, "198.51.100.4", ""},
		{"keys a hop that is no address by its text", "127.0.0.1:5000", []string{"unknown"}, loopback, "hop:unknown", "127.0.0.1"},
		{"keys an obfuscated hop by its text", "127.0.0.1:5000", []string{"_hidden-client"}, loopback, "hop:_hidden-client", "127.0.0.1"},
		{"names the proxy that sent a bad hop", "127.0.0.1:5000", []string{"junk, 10.1.2.3"}, append(loopback, proxies...), "hop:junk", "10.1.2.3"},
		{"replaces what a key may not hold", "127.0.0.1:5000", []string{"a\x00b\tc é"}, loopback, "hop:a?b?c???", "127.0.0.1"},
		{"cuts a long hop to 64 bytes", "127.0.0.1:5000", []string{strings.Repeat("x", 500)}, loopback, "hop:" + strings.Repeat("x", 64), "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, bad := Of(tt.remote, tt.xff, tt.trusted)
			if got != tt.want || bad != tt.badHop {
				t.Errorf("Of(%q, %q) = %q, %q; want %q, %q", tt.remote, tt.xff, got, bad, tt.want, tt.badHop)
			}
		})
	}
}

func TestPeerTrusted(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.4.11/32"), netip.MustParsePrefix("2001:db8::/64")}
	for _, tc := range []struct {
		peer string
		want bool
	}{
		{"10.0.4.11:5000", true},
		{"[::ffff:10.0.4.11]:5000", true}, // IPv4-mapped, as a dual-stack listener reports it
		{"[2001:db8::7]:443", true},
		{"10.0.4.12:5000", false},
		{"[2001:db8:1::7]:443", false},
		{"not-an-address:80", false},
		{"", false},
	} {
		if got := PeerTrusted(tc.peer, trusted); got != tc.want {
			t.Errorf("PeerTrusted(%q) = %v, want %v", tc.peer, got, tc.want)
		}
	}
	if PeerTrusted("10.0.4.11:5000", nil) {
		t.Error("a peer is trusted with no proxies configured")
	}
}
