package agent

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func route(dst, gw string, proto int) Route {
	return Route{Dst: netip.MustParsePrefix(dst), Gw: netip.MustParseAddr(gw), Protocol: proto}
}

// typed is a route of a type other than unicast (no gateway).
func typed(dst string, proto, typ int) Route {
	return Route{Dst: netip.MustParsePrefix(dst), Protocol: proto, Type: typ}
}

func routeList(rs []Route) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Dst.String()+" via "+r.Gw.String())
	}
	return strings.Join(s, ", ")
}

func TestDesiredRoutes(t *testing.T) {
	const dual = `{"network":"10.244.0.0/16","network6":"fd00:10:244::/56"}`
	deleting := node("n5", []string{"10.244.5.0/24"}, "192.168.0.5")
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
	external := node("n6", []string{"10.244.6.0/24"})
	external.Status.Addresses = []v1.NodeAddress{{Type: v1.NodeExternalIP, Address: "203.0.113.6"}}
	tests := []struct {
		name, conf string
		nodes      []*v1.Node
		want       string
	}{
		{"other nodes, self skipped", dual, []*v1.Node{
			node("self", []string{"10.244.0.0/24", "fd00:10:244::/64"}, "192.168.0.1", "fd00:1::1"),
			node("n2", []string{"10.244.2.0/24", "fd00:10:244:2::/64"}, "192.168.0.2", "fd00:1::2"),
			node("n1", []string{"10.244.1.0/24"}, "192.168.0.1"),
		}, "10.244.1.0/24 via 192.168.0.1, 10.244.2.0/24 via 192.168.0.2, fd00:10:244:2::/64 via fd00:1::2"},
		{"node with no InternalIP of a family", dual, []*v1.Node{
			node("n1", []string{"10.244.1.0/24", "fd00:10:244:1::/64"}, "192.168.0.1"),
			node("n2", []string{"10.244.2.0/24", "fd00:10:244:2::/64"}, "fd00:1::2"),
		}, "10.244.1.0/24 via 192.168.0.1, fd00:10:244:2::/64 via fd00:1::2"},
		{"first InternalIP of the family", dual, []*v1.Node{
			node("n1", []string{"10.244.1.0/24"}, "fd00:1::1", "192.168.0.1", "192.168.0.99"),
		}, "10.244.1.0/24 via 192.168.0.1"},
		{"only ExternalIP", dual, []*v1.Node{external}, ""},
		{"no podCIDR, outside network, being deleted", dual, []*v1.Node{
			node("n3", nil, "192.168.0.3"),
			node("n4", []string{"10.99.4.0/24"}, "192.168.0.4"),
			deleting,
		}, ""},
		{"two nodes with one podCIDR: the first by name", dual, []*v1.Node{
			node("n9", []string{"10.244.1.0/24"}, "192.168.0.9"),
			node("n1", []string{"10.244.1.0/24"}, "192.168.0.1"),
		}, "10.244.1.0/24 via 192.168.0.1, 10.244.1.0/24 via 192.168.0.9"},
		{"routes none", `{"network":"10.244.0.0/16","routes":"none"}`, []*v1.Node{
			node("n1", []string{"10.244.1.0/24"}, "192.168.0.1"),
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DesiredRoutes(mustConfig(t, tt.conf), "self", tt.nodes)
			if routeList(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", routeList(got), tt.want)
			}
			for _, r := range got {
				if r.Protocol != RouteProtocol || r.Node == "" {
					t.Fatalf("route %v: protocol %d, node %q", r, r.Protocol, r.Node)
				}
			}
		})
	}
}

func TestDiffRoutes(t *testing.T) {
	const ours, static, kernel = RouteProtocol, 4, 2
	d := func(dst, gw string) Route { return route(dst, gw, ours) }
	tests := []struct {
		name                       string
		desired, current           []Route
		replace, delete, conflicts string
	}{
		{"add", []Route{d("10.244.1.0/24", "192.168.0.1")}, nil, "10.244.1.0/24 via 192.168.0.1", "", ""},
		{"in place", []Route{d("10.244.1.0/24", "192.168.0.1")}, []Route{d("10.244.1.0/24", "192.168.0.1")}, "", "", ""},
		{"change gateway", []Route{d("10.244.1.0/24", "192.168.0.7")}, []Route{d("10.244.1.0/24", "192.168.0.1")},
			"10.244.1.0/24 via 192.168.0.7", "", ""},
		{"delete stale", []Route{d("10.244.1.0/24", "192.168.0.1")},
			[]Route{d("10.244.1.0/24", "192.168.0.1"), d("10.244.9.0/24", "192.168.0.9"), d("fd00:10:244:9::/64", "fd00:1::9")},
			"", "10.244.9.0/24 via 192.168.0.9, fd00:10:244:9::/64 via fd00:1::9", ""},
		{"foreign routes ignored", nil,
			[]Route{route("10.200.0.0/24", "192.168.0.200", static), route("192.168.0.0/24", "0.0.0.0", kernel)}, "", "", ""},
		{"foreign route on a desired dst: a conflict, left alone", []Route{d("10.244.1.0/24", "192.168.0.1")},
			[]Route{route("10.244.1.0/24", "192.168.0.250", static)}, "", "", "10.244.1.0/24 via 192.168.0.1"},
		{"ours and foreign on one dst: ours kept", []Route{d("10.244.1.0/24", "192.168.0.1")},
			[]Route{route("10.244.1.0/24", "192.168.0.250", static), d("10.244.1.0/24", "192.168.0.1")}, "", "", ""},
		{"duplicate dst: the first wins", []Route{d("10.244.1.0/24", "192.168.0.1"), d("10.244.1.0/24", "192.168.0.9")}, nil,
			"10.244.1.0/24 via 192.168.0.1", "", ""},
		// Not unicast: holds its dst whatever its protocol, never replaced.
		{"foreign blackhole on a desired dst: a conflict", []Route{d("10.244.1.0/24", "192.168.0.1")},
			[]Route{typed("10.244.1.0/24", static, unix.RTN_BLACKHOLE)}, "", "", "10.244.1.0/24 via 192.168.0.1"},
		{"foreign unreachable on a desired IPv6 dst: a conflict", []Route{d("fd00:10:244:1::/64", "fd00:1::1")},
			[]Route{typed("fd00:10:244:1::/64", kernel, unix.RTN_UNREACHABLE)}, "", "", "fd00:10:244:1::/64 via fd00:1::1"},
		{"prohibit with our protocol: not ours, a conflict", []Route{d("10.244.1.0/24", "192.168.0.1")},
			[]Route{typed("10.244.1.0/24", ours, unix.RTN_PROHIBIT)}, "", "", "10.244.1.0/24 via 192.168.0.1"},
		{"blackhole with our protocol, not desired: not deleted", nil,
			[]Route{typed("10.244.1.0/24", ours, unix.RTN_BLACKHOLE)}, "", "", ""},
		{"nothing desired: ours go", nil, []Route{d("10.244.1.0/24", "192.168.0.1"), route("10.200.0.0/24", "192.168.0.200", static)},
			"", "10.244.1.0/24 via 192.168.0.1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DiffRoutes(tt.desired, tt.current)
			got := fmt.Sprintf("replace [%s] delete [%s] conflicts [%s]", routeList(p.Replace), routeList(p.Delete), routeList(p.Conflicts))
			want := fmt.Sprintf("replace [%s] delete [%s] conflicts [%s]", tt.replace, tt.delete, tt.conflicts)
			if got != want {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
			for _, r := range p.Delete {
				if r.Protocol != RouteProtocol {
					t.Fatalf("plan deletes a foreign route %v", r)
				}
			}
			if p.Empty() != (tt.replace == "" && tt.delete == "") {
				t.Fatalf("Empty() = %v", p.Empty())
			}
		})
	}
}
