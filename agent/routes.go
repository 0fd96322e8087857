package agent

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
)

// Route is a route to a pod subnet: the dst prefix via gateway Gw. Protocol
// is the route's rtnetlink protocol (RouteProtocol for the agent's).
type Route struct {
	Dst      netip.Prefix
	Gw       netip.Addr
	Protocol int
	// Type is the rtnetlink route type (unix.RTN_BLACKHOLE, ...) of a route
	// that is not unicast; 0 for unicast, the only type the agent makes.
	Type int
	Node string // the node the route leads to (desired routes only)
}

// ours reports whether r is one of the agent's routes: unicast with
// RouteProtocol. A blackhole someone made with that protocol is not.
func (r Route) ours() bool { return r.Protocol == RouteProtocol && r.Type == 0 }

func (r Route) String() string {
	s := r.Dst.String() + " via " + r.Gw.String()
	if r.Type != 0 {
		s = routeTypeName(r.Type) + " " + r.Dst.String()
	}
	if r.Node != "" {
		s += " (node " + r.Node + ")"
	}
	return s
}

// DesiredRoutes are the routes this node (self) needs: to every other node's
// podCIDR of a configured family, inside that family's network, via the
// node's first InternalIP of the same family. A node without an InternalIP
// of a family gets no route of that family; nodes are skipped, never
// failed, so one bad Node cannot take the others' routes away. The result is
// sorted by dst.
func DesiredRoutes(c *Config, self string, nodes []*v1.Node) []Route {
	if c.Routes != RoutesNode || defects.dropRoutes {
		return nil
	}
	nodes = slices.Clone(nodes)
	slices.SortFunc(nodes, func(a, b *v1.Node) int { return strings.Compare(a.Name, b.Name) })
	var routes []Route
	for _, n := range nodes {
		if n.Name == self || n.DeletionTimestamp != nil {
			continue
		}
		subnets, err := NodeSubnets(c, n)
		if err != nil {
			continue
		}
		for ipv6, dst := range subnets {
			gw, ok := internalIP(n, ipv6)
			if !ok {
				continue
			}
			routes = append(routes, Route{Dst: dst, Gw: gw, Protocol: RouteProtocol, Node: n.Name})
		}
	}
	slices.SortStableFunc(routes, func(a, b Route) int { return comparePrefix(a.Dst, b.Dst) })
	return routes
}

func routeTypeName(t int) string {
	switch t {
	case unix.RTN_BLACKHOLE:
		return "blackhole"
	case unix.RTN_UNREACHABLE:
		return "unreachable"
	case unix.RTN_PROHIBIT:
		return "prohibit"
	case unix.RTN_THROW:
		return "throw"
	}
	return fmt.Sprintf("type %d", t)
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// internalIP is the node's first InternalIP address of a family.
func internalIP(n *v1.Node, ipv6 bool) (netip.Addr, bool) {
	for _, a := range n.Status.Addresses {
		if a.Type != v1.NodeInternalIP {
			continue
		}
		ip, err := netip.ParseAddr(a.Address)
		if err != nil {
			continue
		}
		ip = ip.Unmap()
		if ip.Is6() == ipv6 {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

// RoutePlan is what reconciling the routes changes.
type RoutePlan struct {
	// Replace are desired routes that are missing or differ (another
	// gateway): added, or replaced in place.
	Replace []Route
	// Delete are the agent's routes that no node needs any more.
	Delete []Route
	// Conflicts are desired routes whose dst another route (not the
	// agent's) already holds: left alone, reported.
	Conflicts []Route
}

// Empty reports whether the plan changes nothing.
func (p RoutePlan) Empty() bool { return len(p.Replace) == 0 && len(p.Delete) == 0 }

// DiffRoutes compares the desired routes with the current routes of the
// routing table (every protocol and type): only the agent's routes (see
// ours) are ever replaced or deleted; a desired dst held by any other route,
// a blackhole, unreachable or prohibit route included, is a conflict, not a
// change. Two desired routes for one dst (two nodes given
// the same podCIDR) keep the first, by node name order of the input.
func DiffRoutes(desired, current []Route) RoutePlan {
	ours := map[netip.Prefix]Route{}
	foreign := map[netip.Prefix]bool{}
	for _, r := range current {
		if r.ours() {
			ours[r.Dst] = r
		} else {
			foreign[r.Dst] = true
		}
	}
	var plan RoutePlan
	wanted := map[netip.Prefix]bool{}
	for _, d := range desired {
		if wanted[d.Dst] {
			continue
		}
		wanted[d.Dst] = true
		cur, have := ours[d.Dst]
		switch {
		case have && cur.Gw == d.Gw:
		case !have && foreign[d.Dst]:
			plan.Conflicts = append(plan.Conflicts, d)
		default:
			plan.Replace = append(plan.Replace, d)
		}
	}
	for _, r := range current {
		if r.ours() && !wanted[r.Dst] {
			plan.Delete = append(plan.Delete, r)
		}
	}
	return plan
}

// routeTable reads and changes the main routing table of one netns.
type routeTable struct {
	h netlinksafe.Handle
}

// list returns the main table's routes with a dst, of both families and
// every type: a blackhole, unreachable or prohibit route holds its dst as
// much as a unicast one does. A multipath route has no single gateway and
// only counts as holding its dst.
func (t routeTable) list() ([]Route, error) {
	var out []Route
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		rs, err := t.h.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return nil, fmt.Errorf("listing %s routes: %w", familyName(fam == unix.AF_INET6), err)
		}
		for _, r := range rs {
			if r.Dst == nil {
				continue
			}
			dst, ok := prefixOf(r.Dst)
			if !ok {
				continue
			}
			gw, _ := netip.AddrFromSlice(r.Gw)
			typ := r.Type
			if typ == unix.RTN_UNICAST {
				typ = 0
			}
			out = append(out, Route{Dst: dst, Gw: gw.Unmap(), Protocol: int(r.Protocol), Type: typ})
		}
	}
	return out, nil
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones).Masked(), true
}

func (t routeTable) nlRoute(r Route) *netlink.Route {
	return &netlink.Route{
		Dst:      prefixToIPNet(r.Dst),
		Gw:       r.Gw.AsSlice(),
		Protocol: netlink.RouteProtocol(RouteProtocol),
		Table:    unix.RT_TABLE_MAIN,
		Type:     unix.RTN_UNICAST,
		Scope:    netlink.SCOPE_UNIVERSE,
	}
}

// apply carries out a plan: every change is tried, the failures returned
// together (one unreachable gateway does not hold back the other routes).
func (t routeTable) apply(plan RoutePlan) error {
	var errs []error
	for _, r := range plan.Delete {
		if err := t.h.RouteDel(t.nlRoute(r)); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("deleting route %s: %w", r, err))
		}
	}
	for _, r := range plan.Replace {
		if err := t.h.RouteReplace(t.nlRoute(r)); err != nil {
			errs = append(errs, fmt.Errorf("adding route %s: %w", r, err))
		}
	}
	if len(plan.Conflicts) > 0 {
		var cs []string
		for _, r := range plan.Conflicts {
			cs = append(cs, r.String())
		}
		errs = append(errs, fmt.Errorf("routes not added because another route (not podnet-agent's) holds the destination: %s", strings.Join(cs, ", ")))
	}
	return errors.Join(errs...)
}

// deleteOurs removes every route with RouteProtocol (uninstall).
func (t routeTable) deleteOurs() (int, error) {
	current, err := t.list()
	if err != nil {
		return 0, err
	}
	plan := DiffRoutes(nil, current)
	return len(plan.Delete), t.apply(plan)
}

// countOurs counts the agent's routes per family (for the metrics).
func countOurs(current []Route) (v4, v6 int) {
	for _, r := range current {
		if !r.ours() {
			continue
		}
		if r.Dst.Addr().Is6() {
			v6++
		} else {
			v4++
		}
	}
	return v4, v6
}
