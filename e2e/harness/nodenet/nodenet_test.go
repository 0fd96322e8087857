package nodenet

import (
	"net"
	"slices"
	"strings"
	"testing"
)

func TestExternalHostReachesEitherFamily(t *testing.T) {
	_, v4, _ := net.ParseCIDR("172.18.0.0/16")
	_, v6, _ := net.ParseCIDR("fc00:f853:ccd:e793::/64")
	for _, c := range []struct {
		h    ExternalHost
		ip   string
		want bool
	}{
		{ExternalHost{Subnet: v4, Subnet6: v6}, "172.18.0.3", true},
		{ExternalHost{Subnet: v4, Subnet6: v6}, "fc00:f853:ccd:e793::3", true},
		{ExternalHost{Subnet: v4, Subnet6: v6}, "172.19.0.3", false},
		{ExternalHost{Subnet: v4, Subnet6: v6}, "fc00:1::3", false},
		{ExternalHost{Subnet: v4}, "fc00:f853:ccd:e793::3", false}, // IPv6 not asked for
		{ExternalHost{Subnet: v4, Subnet6: v6}, "", false},
	} {
		if got := c.h.Reaches(c.ip); got != c.want {
			t.Errorf("Reaches(%q) with %v %v = %v, want %v", c.ip, c.h.Subnet, c.h.Subnet6, got, c.want)
		}
	}
}

// TestPodSubnetRoutes: a node gets a route per other node's podCIDR via that
// node's address, in each family the nodes have; a node missing what its
// family needs (podCIDR, address of the family) is an error.
func TestPodSubnetRoutes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes []NodeInfo
		want  string
		bad   []NodeInfo // each, added to nodes, must be refused
	}{
		{
			name: "ipv4",
			nodes: []NodeInfo{
				{Name: "cp", InternalIP: "172.18.0.2", PodCIDR: "10.244.0.0/24"},
				{Name: "w1", InternalIP: "172.18.0.3", PodCIDR: "10.244.1.0/24"},
				{Name: "w2", InternalIP: "172.18.0.4", PodCIDR: "10.244.2.0/24"},
			},
			want: "10.244.0.0/24 via 172.18.0.2,10.244.2.0/24 via 172.18.0.4",
			bad:  []NodeInfo{{Name: "w3", InternalIP: "172.18.0.5"}}, // no podCIDR
		},
		{
			name: "ipv6 only",
			nodes: []NodeInfo{
				{Name: "cp", InternalIP6: "fc00::2", PodCIDR6: "fd00:10:244::/64"},
				{Name: "w1", InternalIP6: "fc00::3", PodCIDR6: "fd00:10:244:1::/64"},
				{Name: "w2", InternalIP6: "fc00::4", PodCIDR6: "fd00:10:244:2::/64"},
			},
			want: "fd00:10:244::/64 via fc00::2,fd00:10:244:2::/64 via fc00::4",
			bad: []NodeInfo{
				{Name: "w3", InternalIP6: "fc00::5"},                                                 // no podCIDR in either family
				{Name: "w3", InternalIP6: "fc00::5", PodCIDR: "fd00:10:244:3::/64"},                  // IPv6 CIDR as the IPv4 podCIDR
				{Name: "w3", InternalIP: "fc00::5", PodCIDR: "10.244.3.0/24", PodCIDR6: "fd00::/64"}, // IPv4 gateway not IPv4
			},
		},
		{
			name: "dual",
			nodes: []NodeInfo{
				{Name: "w1", InternalIP: "172.18.0.3", PodCIDR: "10.244.1.0/24", InternalIP6: "fc00::3", PodCIDR6: "fd00:10:244:1::/64"},
				{Name: "w2", InternalIP: "172.18.0.4", PodCIDR: "10.244.2.0/24", InternalIP6: "fc00::4", PodCIDR6: "fd00:10:244:2::/64"},
			},
			want: "10.244.2.0/24 via 172.18.0.4,fd00:10:244:2::/64 via fc00::4",
			bad: []NodeInfo{
				{Name: "w3", InternalIP: "172.18.0.5", PodCIDR: "10.244.3.0/24", PodCIDR6: "fd00:10:244:3::/64"},                            // no IPv6 InternalIP
				{Name: "w3", InternalIP: "172.18.0.5", PodCIDR: "10.244.3.0/24", InternalIP6: "fc00::5", PodCIDR6: "10.245.0.0/24"},         // not IPv6
				{Name: "w3", InternalIP: "172.18.0.5", PodCIDR: "10.244.3.0/24", InternalIP6: "172.18.0.5", PodCIDR6: "fd00:10:244:3::/64"}, // gateway not IPv6
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := PodSubnetRoutes("w1", tc.nodes)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rs {
				got = append(got, r.String())
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("routes %v, want %s", got, tc.want)
			}
			for _, bad := range tc.bad {
				if _, err := PodSubnetRoutes("w1", append(slices.Clone(tc.nodes), bad)); err == nil {
					t.Errorf("%+v: no error", bad)
				}
			}
		})
	}
}
