package nodenet

import (
	"context"
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/coreos/go-iptables/iptables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Route is a route to add inside a container's network namespace: Dst via Gw,
// or, with Unreachable, an "unreachable" route that makes Dst fail fast.
type Route struct {
	Dst         *net.IPNet
	Gw          net.IP
	Unreachable bool
}

func (r Route) String() string {
	if r.Unreachable {
		return "unreachable " + r.Dst.String()
	}
	return fmt.Sprintf("%s via %s", r.Dst, r.Gw)
}

// ReplaceRoutesInContainer enters the network namespace of a local container
// (from its pid, as `docker inspect` reports it) and adds or replaces routes
// with netlink. This is how the harness wires the kind nodes' pod subnets to
// each other, the job the tutorial does by hand with `ip route add`.
func ReplaceRoutesInContainer(ctx context.Context, container string, routes []Route) error {
	return InContainerNetNS(ctx, container, func() error {
		for _, r := range routes {
			nr := &netlink.Route{Dst: r.Dst, Gw: r.Gw}
			if r.Unreachable {
				nr = &netlink.Route{Dst: r.Dst, Type: unix.RTN_UNREACHABLE}
			}
			if err := netlink.RouteReplace(nr); err != nil {
				return fmt.Errorf("container %s: route %s: %w", container, r, err)
			}
		}
		return nil
	})
}

// InContainerNetNS runs f on a thread inside a local container's network
// namespace (found from its pid, as `docker inspect` reports it).
func InContainerNetNS(ctx context.Context, container string, f func() error) error {
	pid, err := ContainerPID(ctx, container)
	if err != nil {
		return err
	}
	netns, err := ns.GetNS(NetNSPath(pid))
	if err != nil {
		return fmt.Errorf("container %s: %w", container, err)
	}
	defer netns.Close()
	return netns.Do(func(ns.NetNS) error { return f() })
}

// BridgeMasquerade gives a kind node running the bridge CNI what podnet's
// ipMasq does: pod traffic leaving the pod network is masqueraded to the
// node's IP, pod-to-pod traffic across nodes keeps the pod's address. It runs
// go-iptables inside the node's network namespace.
// The IPv4 rule is added when podCIDR is set, the IPv6 one (ip6tables) when
// podCIDR6 is.
func BridgeMasquerade(ctx context.Context, container, podCIDR, network, podCIDR6, network6 string) error {
	return InContainerNetNS(ctx, container, func() error {
		type masq struct {
			proto    iptables.Protocol
			src, dst string
		}
		var rules []masq
		if podCIDR != "" {
			rules = append(rules, masq{iptables.ProtocolIPv4, podCIDR, network})
		}
		if podCIDR6 != "" {
			rules = append(rules, masq{iptables.ProtocolIPv6, podCIDR6, network6})
		}
		for _, r := range rules {
			ipt, err := iptables.NewWithProtocol(r.proto)
			if err != nil {
				return err
			}
			if err := ipt.AppendUnique("nat", "POSTROUTING", "-s", r.src, "!", "-d", r.dst,
				"-m", "comment", "--comment", "cnigate-e2e: masquerade for the bridge CNI", "-j", "MASQUERADE"); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetBridgePortsHairpin sets hairpin mode on every port of bridge inside a
// container's network namespace and returns how many ports it changed.
func SetBridgePortsHairpin(ctx context.Context, container, bridge string, on bool) (int, error) {
	n := 0
	err := InContainerNetNS(ctx, container, func() error {
		br, err := netlink.LinkByName(bridge)
		if err != nil {
			return fmt.Errorf("container %s: bridge %s: %w", container, bridge, err)
		}
		links, err := netlink.LinkList()
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Attrs().MasterIndex != br.Attrs().Index {
				continue
			}
			if err := netlink.LinkSetHairpin(l, on); err != nil {
				return fmt.Errorf("container %s: hairpin %v on %s: %w", container, on, l.Attrs().Name, err)
			}
			n++
		}
		return nil
	})
	return n, err
}

// PodSubnetRoutes returns, for one node, a route to every other node's pod
// subnet via that node's InternalIP, per family: a node's IPv4 podCIDR via
// its IPv4 InternalIP, its IPv6 podCIDR via its IPv6 InternalIP (an
// IPv6-only node has only the latter).
func PodSubnetRoutes(self string, nodes []NodeInfo) ([]Route, error) {
	var out []Route
	for _, n := range nodes {
		if n.Name == self {
			continue
		}
		if n.PodCIDR == "" && n.PodCIDR6 == "" {
			return nil, fmt.Errorf("node %s has no podCIDR in either family", n.Name)
		}
		if n.PodCIDR != "" {
			_, dst, err := net.ParseCIDR(n.PodCIDR)
			if err != nil || dst.IP.To4() == nil {
				return nil, fmt.Errorf("node %s podCIDR %q is not an IPv4 CIDR", n.Name, n.PodCIDR)
			}
			gw := net.ParseIP(n.InternalIP)
			if gw == nil || gw.To4() == nil {
				return nil, fmt.Errorf("node %s: InternalIP %q is not IPv4", n.Name, n.InternalIP)
			}
			out = append(out, Route{Dst: dst, Gw: gw})
		}
		if n.PodCIDR6 == "" {
			continue
		}
		_, dst6, err := net.ParseCIDR(n.PodCIDR6)
		if err != nil || dst6.IP.To4() != nil {
			return nil, fmt.Errorf("node %s IPv6 podCIDR %q is not an IPv6 CIDR", n.Name, n.PodCIDR6)
		}
		gw6 := net.ParseIP(n.InternalIP6)
		if gw6 == nil || gw6.To4() != nil {
			return nil, fmt.Errorf("node %s: IPv6 InternalIP %q is not IPv6", n.Name, n.InternalIP6)
		}
		out = append(out, Route{Dst: dst6, Gw: gw6})
	}
	return out, nil
}
