package rules

import (
	"net"
	"strings"
	"testing"
)

func cidr(s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return n
}

func TestMasquerade(t *testing.T) {
	v4 := Family{Network: cidr("10.244.0.0/16"), Subnet: cidr("10.244.1.0/24")}
	v6 := Family{IPv6: true, Network: cidr("fd00:10:244::/56"), Subnet: cidr("fd00:10:244:1::/64")}
	tests := []struct {
		name     string
		families []Family
		want     []string
	}{
		{"none", nil, nil},
		{"ipv4", []Family{v4}, []string{
			"iptables filter/FORWARD -s 10.244.0.0/16 -m comment --comment podnet: net -j ACCEPT",
			"iptables filter/FORWARD -d 10.244.0.0/16 -m comment --comment podnet: net -j ACCEPT",
			"iptables nat/POSTROUTING -s 10.244.1.0/24 ! -d 10.244.0.0/16 ! -o br0 -m comment --comment podnet: net -j MASQUERADE",
		}},
		{"dual", []Family{v4, v6}, []string{
			"iptables filter/FORWARD -s 10.244.0.0/16 -m comment --comment podnet: net -j ACCEPT",
			"iptables filter/FORWARD -d 10.244.0.0/16 -m comment --comment podnet: net -j ACCEPT",
			"iptables nat/POSTROUTING -s 10.244.1.0/24 ! -d 10.244.0.0/16 ! -o br0 -m comment --comment podnet: net -j MASQUERADE",
			"ip6tables filter/FORWARD -s fd00:10:244::/56 -m comment --comment podnet: net -j ACCEPT",
			"ip6tables filter/FORWARD -d fd00:10:244::/56 -m comment --comment podnet: net -j ACCEPT",
			"ip6tables nat/POSTROUTING -s fd00:10:244:1::/64 ! -d fd00:10:244::/56 ! -o br0 -m comment --comment podnet: net -j MASQUERADE",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Masquerade("net", "br0", tt.families)
			var lines []string
			for _, r := range got {
				lines = append(lines, r.Command()+" "+r.String())
			}
			if strings.Join(lines, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(tt.want, "\n"))
			}
			for i, r := range got {
				if r.IsMasquerade() != (i%3 == 2) {
					t.Fatalf("rule %d %s: IsMasquerade %v", i, r, r.IsMasquerade())
				}
			}
		})
	}
}
