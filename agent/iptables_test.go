package agent

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/cnigate/cnigate/internal/iptsave"
	"github.com/cnigate/cnigate/plugin/rules"
)

func TestDesiredRules(t *testing.T) {
	subnets := map[bool]netip.Prefix{false: netip.MustParsePrefix("10.244.1.0/24"), true: netip.MustParsePrefix("fd00:10:244:1::/64")}
	dual := mustConfig(t, `{"name":"net","network":"10.244.0.0/16","network6":"fd00:10:244::/56","bridge":"br0"}`)
	got := DesiredRules(dual, subnets)
	want := rules.Masquerade("net", "br0", []rules.Family{
		{Network: prefixToIPNet(netip.MustParsePrefix("10.244.0.0/16")), Subnet: prefixToIPNet(subnets[false])},
		{IPv6: true, Network: prefixToIPNet(netip.MustParsePrefix("fd00:10:244::/56")), Subnet: prefixToIPNet(subnets[true])},
	})
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != 6 {
		t.Fatalf("got %v\nwant the plugin's shapes %v", got, want)
	}
	if r := DesiredRules(mustConfig(t, `{"network":"10.244.0.0/16","ipMasq":false}`), subnets); r != nil {
		t.Fatalf("ipMasq off: %v", r)
	}
	// A family the node has no subnet of has no rules.
	if r := DesiredRules(dual, map[bool]netip.Prefix{false: subnets[false]}); len(r) != 3 || r[0].IPv6 {
		t.Fatalf("IPv4-only node: %v", r)
	}
}

func TestDiffRules(t *testing.T) {
	desired := DesiredRules(mustConfig(t, `{"name":"net","network":"10.244.0.0/16"}`),
		map[bool]netip.Prefix{false: netip.MustParsePrefix("10.244.1.0/24")})
	listed := func(lines ...string) []rules.Rule {
		var out []rules.Rule
		for _, l := range lines {
			chain, spec, ok := iptsave.ParseRuleLine(l)
			if !ok {
				t.Fatalf("bad line %s", l)
			}
			table := "filter"
			if chain == "POSTROUTING" {
				table = "nat"
			}
			out = append(out, rules.Rule{Table: table, Chain: chain, Spec: spec})
		}
		return out
	}
	fwdS := `-A FORWARD -s 10.244.0.0/16 -m comment --comment "podnet: net" -j ACCEPT`
	fwdD := `-A FORWARD -d 10.244.0.0/16 -m comment --comment "podnet: net" -j ACCEPT`
	masq := `-A POSTROUTING -s 10.244.1.0/24 ! -d 10.244.0.0/16 ! -o cni0 -m comment --comment "podnet: net" -j MASQUERADE`
	oldMasq := `-A POSTROUTING -s 10.244.7.0/24 ! -d 10.244.0.0/16 ! -o cni0 -m comment --comment "podnet: net" -j MASQUERADE`
	otherNet := `-A FORWARD -s 10.99.0.0/16 -m comment --comment "podnet: other" -j ACCEPT`
	kube := `-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD`
	tests := []struct {
		name        string
		listed      []rules.Rule
		add, delete int
	}{
		{"empty chains", nil, 3, 0},
		{"all in place", listed(kube, fwdS, fwdD, masq), 0, 0},
		{"one missing", listed(fwdS, masq), 1, 0},
		{"stale subnet", listed(fwdS, fwdD, oldMasq), 1, 1},
		{"duplicate", listed(fwdS, fwdD, masq, masq), 0, 1},
		{"other networks' and others' rules untouched", listed(otherNet, kube), 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DiffRules("net", desired, tt.listed)
			if len(p.Add) != tt.add || len(p.Delete) != tt.delete {
				t.Fatalf("add %v delete %v; want %d and %d", p.Add, p.Delete, tt.add, tt.delete)
			}
			for _, r := range p.Delete {
				if !hasComment(r.Spec, "net") {
					t.Fatalf("deletes a rule that is not the network's: %v", r)
				}
			}
		})
	}
	// Nothing desired (uninstall, ipMasq off): every rule of the network goes, no other.
	p := DiffRules("net", nil, listed(fwdS, fwdD, masq, otherNet, kube))
	if len(p.Add) != 0 || len(p.Delete) != 3 {
		t.Fatalf("nothing desired: %+v", p)
	}
}
