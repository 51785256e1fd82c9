package throttle

import (
	"strings"
	"testing"
	"time"
)

func TestPerIP(t *testing.T) {
	t.Parallel()
	p := Policy{Name: "pw-ip", Free: 30, Base: time.Second, Max: time.Minute, Forget: time.Hour}
	tests := []struct {
		name string
		ip   string
		want []string // keys
	}{
		{"keys an IPv4 address by itself", "192.0.2.7", []string{"pw-ip:192.0.2.7"}},
		{"keys an IPv4-mapped IPv6 address as IPv4", "::ffff:192.0.2.7", []string{"pw-ip:192.0.2.7"}},
		{"keys an IPv6 address by its /64 and its /48", "2001:db8:1:2:3:4:5:6", []string{"pw-ip:2001:db8:1:2::/64", "pw-ip:2001:db8:1::/48"}},
		{"gives two addresses of one /64 the same keys", "2001:db8:1:2:ffff::1", []string{"pw-ip:2001:db8:1:2::/64", "pw-ip:2001:db8:1::/48"}},
		{"drops an IPv6 zone", "fe80::1%eth0", []string{"pw-ip:fe80::/64", "pw-ip:fe80::/48"}},
		{"keys loopback IPv6 by its /64", "::1", []string{"pw-ip:::/64", "pw-ip:::/48"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := PerIP(p, tt.ip)
			var got []string
			for _, c := range checks {
				got = append(got, c.Key())
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("keys %q, want %q", got, tt.want)
			}
			if checks[0].Policy != p {
				t.Errorf("the narrow key has policy %+v, want %+v", checks[0].Policy, p)
			}
			if len(checks) == 2 {
				w := checks[1].Policy
				if w.Free != WideFactor*p.Free || w.Name != p.Name || w.Base != p.Base || w.Max != p.Max || w.Forget != p.Forget {
					t.Errorf("the /48 policy is %+v: want %d free, the rest as %+v", w, WideFactor*p.Free, p)
				}
			}
		})
	}
	t.Run("keys text that is not an address by a short hash of it", func(t *testing.T) {
		a, b := IPSubject("junk; DROP TABLE throttles"), IPSubject(strings.Repeat("x", 5000))
		if !strings.HasPrefix(a, "?") || len(a) != 17 || len(b) != 17 || a == b {
			t.Errorf("subjects %q and %q, want distinct ?+16 hex digits", a, b)
		}
		if len(PerIP(p, "junk")) != 1 {
			t.Errorf("text that is not an address gets more than one key")
		}
	})
}
