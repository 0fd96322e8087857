package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// The few link, route and sysctl steps podnet needs, on vishvananda/netlink
// directly rather than through containernetworking/plugins' pkg/ip: that
// package links pkg/utils, hence knftables and ethtool, whose package init
// alone cost ~0.3 ms of CPU in every podnet process (GODEBUG=inittrace=1,
// docs/measurements/2026-12-06-podnet-phases.md), and its helpers look a link
// up again before each step where podnet already holds it.

// perRequest is a handle without a socket of its own: like netlink's
// package-level functions, it opens one per request, in the calling
// thread's netns (for the commands that make one or two requests).
var perRequest = netlinksafe.Handle{Handle: &netlink.Handle{}}

// errLinkNotFound is delLinkByName's "there was no such link".
var errLinkNotFound = errors.New("link not found")

// delLinkByName deletes the link name of the calling thread's netns in one
// netlink round trip (RTM_DELLINK naming it, instead of a lookup and a
// delete by index). A missing link is errLinkNotFound.
func delLinkByName(name string) error {
	req := nl.NewNetlinkRequest(unix.RTM_DELLINK, unix.NLM_F_ACK)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
	_, err := req.Execute(unix.NETLINK_ROUTE, 0)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENODEV):
		return errLinkNotFound
	}
	return fmt.Errorf("failed to delete %q: %w", name, err)
}

// enableForward turns forwarding on (a /proc/sys file to "1") unless it is
// on already: reading is cheaper than writing, and the write is what a
// read-only /proc would refuse.
func enableForward(ipv6 bool) error {
	file := "/proc/sys/net/ipv4/ip_forward"
	if ipv6 {
		file = "/proc/sys/net/ipv6/conf/all/forwarding"
	}
	if content, err := os.ReadFile(file); err == nil && bytes.Equal(bytes.TrimSpace(content), []byte("1")) {
		return nil
	}
	return os.WriteFile(file, []byte("1"), 0o644)
}

// addDefaultRoute adds, through h, the default route of gw's family via gw
// on dev.
func addDefaultRoute(h netlinksafe.Handle, gw net.IP, dev netlink.Link) error {
	dst := &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
	if gw.To4() != nil {
		dst = &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
	}
	return h.RouteAdd(&netlink.Route{LinkIndex: dev.Attrs().Index, Scope: netlink.SCOPE_UNIVERSE, Dst: dst, Gw: gw})
}

// isIPNetZero reports whether ipnet is a default destination (nil,
// 0.0.0.0/0 or ::/0; netlink reports a nil Dst as a zero prefix).
func isIPNetZero(ipnet *net.IPNet) bool {
	if ipnet == nil {
		return true
	}
	if ones, _ := ipnet.Mask.Size(); ones != 0 {
		return false
	}
	return ipnet.IP.Equal(net.IPv4zero) || ipnet.IP.Equal(net.IPv6zero)
}

// makeVeth creates, through h (a handle of the pod netns), the veth pair:
// contName there, its peer hostName created straight in the host netns
// (hostNSFd), and returns the pod end with its index and MAC. The MAC is
// chosen here, random and locally administered as the kernel would choose
// it, so that the pod end need not be looked up again for it (the index
// comes back with the creation). It does not retry with another name:
// hostName is podnet's by construction. An existing name is unix.EEXIST.
func makeVeth(h netlinksafe.Handle, contName, hostName string, mtu int, hostNSFd int) (netlink.Link, error) {
	mac := make(net.HardwareAddr, 6)
	// getrandom(2) directly: crypto/rand would link six more packages.
	n, err := unix.Getrandom(mac, 0)
	if err != nil {
		return nil, fmt.Errorf("choosing a MAC: %w", err)
	}
	if n != len(mac) {
		return nil, fmt.Errorf("choosing a MAC: %d random bytes of %d", n, len(mac))
	}
	mac[0] = mac[0]&^0x01 | 0x02 // unicast, locally administered
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU, attrs.HardwareAddr = contName, mtu, mac
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: hostName, PeerNamespace: netlink.NsFd(hostNSFd)}
	if err := h.LinkAdd(veth); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("container veth name (%q) peer provided (%q) already exists: %w", contName, hostName, err)
		}
		return nil, fmt.Errorf("failed to make veth pair: %w", err)
	}
	if veth.Index == 0 { // LinkAdd looks the new link up for its index
		_ = h.LinkDel(veth)
		return nil, fmt.Errorf("veth %q made but not found", contName)
	}
	return veth, nil
}

// checkPodAddresses fails unless every address of ips is on the pod
// interface link and has its subnet route in the calling thread's netns.
func checkPodAddresses(link netlink.Link, ips []*current.IPConfig) error {
	addrs, err := netlinksafe.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("cannot list the addresses of %s: %w", link.Attrs().Name, err)
	}
	for _, want := range ips {
		ours := netlink.Addr{IPNet: &want.Address}
		found := false
		for _, a := range addrs {
			if a.Equal(ours) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("failed to match addr %v on interface %v", ours, link.Attrs().Name)
		}
		prefix := &net.IPNet{IP: want.Address.IP.Mask(want.Address.Mask), Mask: want.Address.Mask}
		family := netlink.FAMILY_V6
		if want.Address.IP.To4() != nil {
			family = netlink.FAMILY_V4
		}
		routes, err := netlinksafe.RouteListFiltered(family, &netlink.Route{Dst: prefix}, netlink.RT_FILTER_DST)
		if err != nil {
			return fmt.Errorf("error %w trying to find the subnet route of %v for interface %v", err, want.Address, link.Attrs().Name)
		}
		if len(routes) == 0 {
			return fmt.Errorf("failed to find the subnet route of %v for interface %v", want.Address, link.Attrs().Name)
		}
	}
	return nil
}

// routeExists reports whether the calling thread's netns has route r (a
// default route matched by gateway only, as netlink reports its Dst nil).
func routeExists(r *types.Route) (bool, error) {
	find := &netlink.Route{Dst: &r.Dst, Gw: r.GW}
	filter := netlink.RT_FILTER_DST
	if r.GW != nil {
		filter |= netlink.RT_FILTER_GW
	}
	family := netlink.FAMILY_V6
	if r.Dst.IP.To4() != nil {
		family = netlink.FAMILY_V4
	} else if len(r.Dst.IP) != net.IPv6len {
		return false, fmt.Errorf("invalid route %v", r)
	}
	if isIPNetZero(&r.Dst) {
		find, filter = &netlink.Route{Gw: r.GW}, netlink.RT_FILTER_DST
	}
	found, err := netlinksafe.RouteListFiltered(family, find, filter)
	return len(found) > 0, err
}
