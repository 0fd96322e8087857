package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/utils/sysctl"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/cnigate/cnigate/plugin/ipam"
)

// hostVethName derives the host end's name from the network and the
// attachment, so DEL, CHECK and GC find it without the pod netns and without
// stored state, and one container ID and interface name in two networks get
// two host veths. Neither the network name nor a container ID can contain
// '/', so the hashed text is unambiguous.
func hostVethName(n *NetConf, a ipam.Attachment) string {
	sum := sha256.Sum256([]byte(n.Name + "/" + a.ContainerID + "/" + a.IfName))
	return "pn" + hex.EncodeToString(sum[:6])
}

// bridgePinnedFile, in the network's store, records the bridge whose MAC
// podnet pinned (boot, netns, ifindex), so it is pinned once, not on every ADD.
const bridgePinnedFile = "bridge.pinned"

// ensureBridge returns the bridge, creating it when absent, and makes sure it
// is up, holds the gateway address and has a pinned MAC. Concurrent ADDs may
// race to create it: whoever loses finds the winner's bridge. found is the
// bridge checkBridgeName saw (nil: none then), so an existing bridge costs no
// second lookup; one deleted since fails the steps below, and ADD rolls back.
func ensureBridge(h netlinksafe.Handle, n *NetConf, store *ipam.Store, found *netlink.Bridge) (*netlink.Bridge, error) {
	br, err := found, error(nil)
	if br == nil {
		br, err = bridgeByName(h, n.Bridge)
	}
	if errors.As(err, &netlink.LinkNotFoundError{}) {
		attrs := netlink.NewLinkAttrs()
		attrs.Name = n.Bridge
		attrs.MTU = n.MTU
		if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("creating bridge %q: %w", n.Bridge, err)
		}
		br, err = bridgeByName(h, n.Bridge)
	}
	if err != nil {
		return nil, err
	}
	if err := pinBridgeMAC(h, br, store); err != nil {
		return nil, err
	}
	if br.Flags&net.FlagUp == 0 { // as looked up: once up, a bridge needs no second LinkSetUp
		if err := h.LinkSetUp(br); err != nil {
			return nil, fmt.Errorf("setting bridge %q up: %w", n.Bridge, err)
		}
	}
	for _, f := range n.families {
		if err := addGateway(h, br, f); err != nil {
			return nil, err
		}
	}
	return br, nil
}

// addGateway gives the bridge f's gateway address unless it holds it
// already (hasGateway), and enables forwarding for f. An IPv6 gateway is
// added without duplicate address detection (IFA_F_NODAD): it is usable at
// once instead of after a second or more of DAD, and it is unique by
// construction (the first host of this node's subnet6, on podnet's own
// bridge). Enabling IPv6 forwarding on a node makes its interfaces stop
// accepting router advertisements unless accept_ra is 2, as with upstream
// bridge.
func addGateway(h netlinksafe.Handle, br *netlink.Bridge, f family) error {
	if !hasGateway(h, br, f) {
		addr := &netlink.Addr{IPNet: gatewayNet(f)}
		if f.ipv6 {
			if err := enableIPv6(br.Name); err != nil {
				return err
			}
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := h.AddrAdd(br, addr); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("adding gateway %s to bridge %q: %w", addr.IPNet, br.Name, err)
		}
	}
	if err := enableForward(f.ipv6); err != nil {
		return fmt.Errorf("enabling %s forwarding: %w", f.name(), err)
	}
	return nil
}

// hasGateway reports whether br holds f's gateway address with the
// subnet's prefix, as the FIB says (RTM_GETROUTE with RTM_F_FIB_MATCH):
// the gateway's own local route and the subnet's connected route, both on
// br. Every ADD asks, so that a gateway removed by hand is added back;
// asking this way takes no RTNL lock, where adding the address again
// (EEXIST) took it on every ADD, and in a burst of ADDs every ADD of the
// node queued behind it (docs/measurements/2026-12-07-bench-tmpfs.md). It
// is a shortcut only: any doubt (a lookup error, e.g. EINVAL or EACCES
// where a blackhole or prohibit route covers a subnet without its
// gateway) answers false, and the address is added as before.
func hasGateway(h netlinksafe.Handle, br *netlink.Bridge, f family) bool {
	onBridge := func(dst net.IP, want func(r netlink.Route) bool) bool {
		routes, err := h.RouteGetWithOptions(dst, &netlink.RouteGetOptions{FIBMatch: true})
		return err == nil && slices.ContainsFunc(routes, func(r netlink.Route) bool {
			return r.LinkIndex == br.Index && r.Dst != nil && want(r)
		})
	}
	gateway := onBridge(f.pool.Gateway, func(r netlink.Route) bool {
		ones, bits := r.Dst.Mask.Size()
		return r.Type == unix.RTN_LOCAL && ones == bits && r.Dst.IP.Equal(f.pool.Gateway) // not a local prefix covering it
	})
	// The first pod address is routed by the subnet's connected route, which
	// only the gateway with the subnet's prefix makes.
	return gateway && onBridge(f.pool.First(), func(r netlink.Route) bool {
		return r.Type == unix.RTN_UNICAST && r.Dst.String() == f.pool.Subnet.String()
	})
}

// enableIPv6 turns IPv6 on for the interface ifName of the calling thread's
// netns when it is off (disable_ipv6, which a node or a new netns may
// default to): the kernel refuses IPv6 addresses on it otherwise.
func enableIPv6(ifName string) error {
	key := fmt.Sprintf("net/ipv6/conf/%s/disable_ipv6", ifName)
	value, err := sysctl.Sysctl(key)
	if err != nil {
		return fmt.Errorf("IPv6 on %q: %w", ifName, err)
	}
	if value == "0" {
		return nil
	}
	if err := setSysctl(key, "0"); err != nil {
		return fmt.Errorf("enabling IPv6 on %q: %w", ifName, err)
	}
	return nil
}

// setSysctl writes value to the sysctl key (net/ipv6/...) of the calling
// thread's netns; unlike plugins' sysctl.Sysctl it does not read the value
// back (an open, read and close more).
func setSysctl(key, value string) error {
	return os.WriteFile("/proc/sys/"+key, []byte(value), 0o644)
}

// pinBridgeMAC sets the bridge's MAC to its current value, as upstream bridge
// does. A bridge whose MAC was never set takes the lowest port's MAC, so the
// gateway's MAC would change as pods come and go, leaving stale ARP entries in
// the other pods; once set, the kernel keeps it. A MAC the administrator set
// stays as it is (setting it to itself changes nothing). Setting it also
// flushes the bridge's neighbour entries, so it is done once per bridge
// (creation or adoption), recorded in the store, not on every ADD.
func pinBridgeMAC(h netlinksafe.Handle, br *netlink.Bridge, store *ipam.Store) error {
	stamp := bridgeStamp(br)
	if stamp != "" {
		if seen, err := store.ReadFile(bridgePinnedFile); err == nil && string(seen) == stamp {
			return nil
		}
	}
	if err := h.LinkSetHardwareAddr(br, br.HardwareAddr); err != nil {
		return fmt.Errorf("pinning the MAC of bridge %q: %w", br.Name, err)
	}
	if stamp != "" {
		_ = store.WriteFile(bridgePinnedFile, []byte(stamp)) // a failure only means pinning again
	}
	return nil
}

// bridgeStamp identifies this very bridge: this boot, this netns (its cookie,
// never reused within a boot) and its ifindex. "" when unknown.
func bridgeStamp(br *netlink.Bridge) string {
	where := bootAndNetNS()
	if where == "" {
		return ""
	}
	return fmt.Sprintf("%s bridge %s ifindex %d\n", where, br.Name, br.Index)
}

// bootAndNetNS names this boot and the calling thread's netns, or "".
func bootAndNetNS() string {
	boot, err := bootID()
	if err != nil {
		return ""
	}
	cookie, err := netnsCookie()
	if err != nil {
		return ""
	}
	return fmt.Sprintf("boot %s netns %d", boot, cookie)
}

// bootID is this boot's ID, read once per process (the bridge pin and the
// rules stamp both name the boot).
var bootID = sync.OnceValues(func() (string, error) {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return strings.TrimSpace(string(boot)), err
})

// netnsCookie returns the calling thread's netns cookie (SO_NETNS_COOKIE,
// Linux 5.14+), unique within a boot.
func netnsCookie() (uint64, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer func() { _ = unix.Close(fd) }()
	return unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_NETNS_COOKIE)
}

func bridgeByName(h netlinksafe.Handle, name string) (*netlink.Bridge, error) {
	l, err := h.LinkByName(name)
	if err != nil {
		return nil, err
	}
	br, ok := l.(*netlink.Bridge)
	if !ok {
		return nil, fmt.Errorf("%q exists but is a %s, not a bridge", name, l.Type())
	}
	return br, nil
}

// gatewayNet is f's gateway address with the subnet's prefix, as on the bridge.
func gatewayNet(f family) *net.IPNet {
	return &net.IPNet{IP: f.pool.Gateway, Mask: f.pool.Subnet.Mask}
}

// defaultDst is f's default route destination, 0.0.0.0/0 or ::/0.
func defaultDst(f family) net.IPNet {
	if f.ipv6 {
		return net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
	}
	return net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
}

// setupVeth creates the veth pair: ifName in the pod netns with addrs (one
// per family of n, in order), up, and per family a default route via that
// family's gateway unless the pod already has one in that family (a second
// interface); the host end up, enslaved to br, in hairpin mode if
// configured. routesAdded says, per family, whether the default route is
// podnet's. The pod's side goes through podH, a handle of the pod netns,
// and the host's through a handle opened here: no netns switch, but for
// the IPv6 sysctls of the pod interface (/proc/sys is the calling thread's
// netns).
func setupVeth(netns ns.NetNS, hostH, podH netlinksafe.Handle, br *netlink.Bridge, n *NetConf, a ipam.Attachment, addrs []*net.IPNet) (host, cont *current.Interface, routesAdded []bool, err error) {
	hostName := hostVethName(n, a)
	// The host netns (every thread's but a locked one inside ns.Do), where
	// the peer is created.
	hostNS, err := ns.GetCurrentNS()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("opening the host netns: %w", err)
	}
	defer func() { _ = hostNS.Close() }()
	link, err := makeVeth(podH, a.IfName, hostName, n.MTU, int(hostNS.Fd()))
	if errors.Is(err, unix.EEXIST) {
		// CNI_IFNAME is free (checked), so the host end exists: it can only
		// be left over from a crashed ADD of this very attachment, whose
		// reservation we now hold. Removed, and the pair made again. (Not
		// removed up front: that would cost every ADD a request.)
		if derr := delLinkByName(hostName); derr != nil {
			err = errors.Join(err, fmt.Errorf("removing the leftover host end %q: %w", hostName, derr))
		} else {
			link, err = makeVeth(podH, a.IfName, hostName, n.MTU, int(hostNS.Fd()))
		}
	}
	if err != nil {
		return nil, nil, nil, err
	}
	cont = &current.Interface{Name: link.Attrs().Name, Mac: link.Attrs().HardwareAddr.String(), Mtu: link.Attrs().MTU, Sandbox: netns.Path()}
	// The host end up first: the pod end has a carrier only once its peer is
	// up, and the kernel installs the pod's IPv6 local route (asynchronously)
	// only after that, so a host end set up last would leave the pod's IPv6
	// address unusable for a moment after ADD returns.
	hostLink, err := hostH.LinkByName(hostName)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("failed to lookup %q: %w", hostName, err)
	}
	if err := hostH.LinkSetUp(hostLink); err != nil {
		return nil, nil, nil, fmt.Errorf("failed to set %q up: %w", hostName, err)
	}
	if slices.ContainsFunc(n.families, func(f family) bool { return f.ipv6 }) {
		if err := netns.Do(func(ns.NetNS) error { return podIPv6Sysctls(a.IfName) }); err != nil {
			return nil, nil, nil, err
		}
	}
	for i, f := range n.families {
		addr := &netlink.Addr{IPNet: addrs[i]}
		if f.ipv6 {
			// Without DAD the address works at once (a tentative one cannot
			// be a source for a second or more); the IPAM lock makes it
			// unique on the bridge. See addGateway.
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := podH.AddrAdd(link, addr); err != nil {
			return nil, nil, nil, fmt.Errorf("adding %s to %q: %w", addrs[i], a.IfName, err)
		}
	}
	if err := podH.LinkSetUp(link); err != nil {
		return nil, nil, nil, fmt.Errorf("setting %q up: %w", a.IfName, err)
	}
	routesAdded = make([]bool, len(n.families))
	for i, f := range n.families {
		if routesAdded[i], err = addDefaultRouteIfNone(podH, f, link); err != nil {
			return nil, nil, nil, err
		}
	}
	// The host end's IPv6 router advertisements are off, as upstream's veth
	// setup does (podnet owns its routes); /proc/sys/net is the calling
	// thread's netns, the host's here.
	_ = setSysctl(fmt.Sprintf("net/ipv6/conf/%s/accept_ra", hostName), "0")
	// The host end as looked up above (no second lookup), onto the bridge.
	if err := hostH.LinkSetMaster(hostLink, br); err != nil {
		return nil, nil, nil, fmt.Errorf("attaching %q to bridge %q: %w", hostName, br.Name, err)
	}
	host = &current.Interface{Name: hostName, Mac: hostLink.Attrs().HardwareAddr.String(), Mtu: hostLink.Attrs().MTU}
	// A new bridge port is not in hairpin mode: set it only when wanted.
	if n.hairpin() {
		if err := hostH.LinkSetHairpin(hostLink, true); err != nil {
			return nil, nil, nil, fmt.Errorf("setting hairpin mode on %q: %w", hostName, err)
		}
	}
	return host, cont, routesAdded, nil
}

// podIPv6Sysctls readies the pod interface ifName of the calling thread's
// netns for its IPv6 address: IPv6 on (disable_ipv6 may default to 1), and,
// as upstream does, the address kept when the interface goes down (the
// kernel drops an interface's IPv6 addresses, not its IPv4 ones, on down, so
// a pod that cycles its interface would lose it).
func podIPv6Sysctls(ifName string) error {
	if err := enableIPv6(ifName); err != nil {
		return err
	}
	if err := setSysctl(fmt.Sprintf("net/ipv6/conf/%s/keep_addr_on_down", ifName), "1"); err != nil {
		return fmt.Errorf("keeping the IPv6 address of %q on down: %w", ifName, err)
	}
	return nil
}

// addDefaultRouteIfNone adds f's default route via f's gateway on link, in
// h's netns, unless the pod already has a default route in that family,
// e.g. from its first interface. A concurrent ADD of another interface that
// added one first counts as "already has one".
func addDefaultRouteIfNone(h netlinksafe.Handle, f family, link netlink.Link) (bool, error) {
	has, err := hasDefaultRoute(h, f)
	if err != nil || has {
		return false, err
	}
	if err := addDefaultRoute(h, f.pool.Gateway, link); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return false, nil
		}
		return false, fmt.Errorf("adding default route via %s: %w", f.pool.Gateway, err)
	}
	return true, nil
}

// netlinkFamily is f's netlink address family.
func netlinkFamily(f family) int {
	if f.ipv6 {
		return netlink.FAMILY_V6
	}
	return netlink.FAMILY_V4
}

// hasDefaultRoute reports whether the main table of h's netns has a
// default route of f's family.
func hasDefaultRoute(h netlinksafe.Handle, f family) (bool, error) {
	routes, err := h.RouteListFiltered(netlinkFamily(f), &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return false, fmt.Errorf("listing the pod's routes: %w", err)
	}
	for _, r := range routes {
		if isIPNetZero(r.Dst) {
			return true, nil
		}
	}
	return false, nil
}
