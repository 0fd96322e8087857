package nodenet

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/coreos/go-iptables/iptables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/cnigate/cnigate/internal/iptsave"
)

// What a node's CNI owns, read and tampered with from the host inside a kind
// node's network namespace (netlink and go-iptables, never `ip`): the
// healing cells check that the CNI's node agent puts it back.

// RouteVia returns, for each destination prefix, the gateway of the node's
// main-table route to it ("" when there is none).
func RouteVia(ctx context.Context, container string, dsts []string) (map[string]string, error) {
	out := map[string]string{}
	err := InContainerNetNS(ctx, container, func() error {
		for _, d := range dsts {
			_, dst, err := net.ParseCIDR(d)
			if err != nil {
				return err
			}
			out[d] = ""
			routes, err := netlink.RouteListFiltered(familyOf(dst), &netlink.Route{Dst: dst, Table: unix.RT_TABLE_MAIN},
				netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
			if err != nil {
				return fmt.Errorf("container %s: routes to %s: %w", container, d, err)
			}
			for _, r := range routes {
				if r.Gw != nil {
					out[d] = r.Gw.String()
				} else if len(r.MultiPath) == 0 {
					out[d] = "dev" // on-link (the node's own subnet on its bridge)
				}
			}
		}
		return nil
	})
	return out, err
}

// DeleteRoutes deletes the node's main-table routes to dsts (missing ones
// are not an error).
func DeleteRoutes(ctx context.Context, container string, dsts []string) error {
	return InContainerNetNS(ctx, container, func() error {
		for _, d := range dsts {
			_, dst, err := net.ParseCIDR(d)
			if err != nil {
				return err
			}
			routes, err := netlink.RouteListFiltered(familyOf(dst), &netlink.Route{Dst: dst, Table: unix.RT_TABLE_MAIN},
				netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
			if err != nil {
				return err
			}
			for i := range routes {
				if err := netlink.RouteDel(&routes[i]); err != nil {
					return fmt.Errorf("container %s: delete route %s: %w", container, d, err)
				}
			}
		}
		return nil
	})
}

func familyOf(n *net.IPNet) int {
	if n.IP.To4() != nil {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

// Chains the healing cells look at: where podnet's rules live (and where
// any CNI's FORWARD and masquerade rules usually do).
var ruleChains = [][2]string{{"filter", "FORWARD"}, {"nat", "POSTROUTING"}}

// RulesWithComment lists the node's rules (iptables, or ip6tables with v6) of
// filter FORWARD and nat POSTROUTING that carry comment, as "table rule-spec".
func RulesWithComment(ctx context.Context, container, comment string, v6 bool) ([]string, error) {
	var out []string
	err := InContainerNetNS(ctx, container, func() error {
		ipt, err := iptablesFor(v6)
		if err != nil {
			return err
		}
		for _, tc := range ruleChains {
			rules, err := ipt.List(tc[0], tc[1])
			if err != nil {
				return fmt.Errorf("container %s: list %s %s: %w", container, tc[0], tc[1], err)
			}
			for _, r := range rules {
				if strings.Contains(r, `--comment "`+comment+`"`) || strings.Contains(r, "--comment "+comment+" ") {
					out = append(out, tc[0]+" "+r)
				}
			}
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

// DeleteRulesWithComment deletes what RulesWithComment lists and returns how
// many rules it deleted.
func DeleteRulesWithComment(ctx context.Context, container, comment string, v6 bool) (int, error) {
	listed, err := RulesWithComment(ctx, container, comment, v6)
	if err != nil {
		return 0, err
	}
	n := 0
	err = InContainerNetNS(ctx, container, func() error {
		ipt, err := iptablesFor(v6)
		if err != nil {
			return err
		}
		for _, l := range listed {
			table, line, _ := strings.Cut(l, " ")
			chain, spec, ok := iptsave.ParseRuleLine(line)
			if !ok {
				return fmt.Errorf("container %s: unexpected rule %q", container, l)
			}
			if err := ipt.Delete(table, chain, spec...); err != nil {
				return fmt.Errorf("container %s: delete %s: %w", container, l, err)
			}
			n++
		}
		return nil
	})
	return n, err
}

func iptablesFor(v6 bool) (*iptables.IPTables, error) {
	if v6 {
		return iptables.NewWithProtocol(iptables.ProtocolIPv6)
	}
	return iptables.NewWithProtocol(iptables.ProtocolIPv4)
}

// RoutesOfProtocol lists the destinations of the node's main-table routes
// (both families) whose rtnetlink protocol is proto: a CNI agent's own
// routes, when it marks them (podnet's agent: deploy.RouteProtocol).
func RoutesOfProtocol(ctx context.Context, container string, proto int) ([]string, error) {
	var out []string
	err := InContainerNetNS(ctx, container, func() error {
		routes, err := netlink.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_MAIN, Protocol: netlink.RouteProtocol(proto)},
			netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
		if err != nil {
			return fmt.Errorf("container %s: routes of protocol %d: %w", container, proto, err)
		}
		for _, r := range routes {
			if r.Dst != nil {
				out = append(out, r.Dst.String())
			}
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

// AddUnreachableRoutes adds "unreachable" routes to dsts in the node (a
// foreign route for the healing cells to check nobody touches).
func AddUnreachableRoutes(ctx context.Context, container string, dsts []string) error {
	var routes []Route
	for _, d := range dsts {
		_, dst, err := net.ParseCIDR(d)
		if err != nil {
			return err
		}
		routes = append(routes, Route{Dst: dst, Unreachable: true})
	}
	return ReplaceRoutesInContainer(ctx, container, routes)
}
