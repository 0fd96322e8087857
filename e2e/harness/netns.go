package harness

import (
	"context"
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/ns"
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
	pid, err := ContainerPID(ctx, container)
	if err != nil {
		return err
	}
	netns, err := ns.GetNS(NetNSPath(pid))
	if err != nil {
		return fmt.Errorf("container %s: %w", container, err)
	}
	defer netns.Close()
	return netns.Do(func(ns.NetNS) error {
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

// PodSubnetRoutes returns, for one node, a route to every other node's pod
// subnet via that node's InternalIP.
func PodSubnetRoutes(self string, nodes []NodeInfo) ([]Route, error) {
	var out []Route
	for _, n := range nodes {
		if n.Name == self {
			continue
		}
		_, dst, err := net.ParseCIDR(n.PodCIDR)
		if err != nil {
			return nil, fmt.Errorf("node %s podCIDR %q: %w", n.Name, n.PodCIDR, err)
		}
		gw := net.ParseIP(n.InternalIP)
		if gw == nil || gw.To4() == nil {
			return nil, fmt.Errorf("node %s: InternalIP %q is not IPv4", n.Name, n.InternalIP)
		}
		out = append(out, Route{Dst: dst, Gw: gw})
	}
	return out, nil
}
