package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

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
func ensureBridge(n *NetConf, store *ipam.Store, found *netlink.Bridge) (*netlink.Bridge, error) {
	br, err := found, error(nil)
	if br == nil {
		br, err = bridgeByName(n.Bridge)
	}
	if errors.As(err, &netlink.LinkNotFoundError{}) {
		attrs := netlink.NewLinkAttrs()
		attrs.Name = n.Bridge
		attrs.MTU = n.MTU
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("creating bridge %q: %w", n.Bridge, err)
		}
		br, err = bridgeByName(n.Bridge)
	}
	if err != nil {
		return nil, err
	}
	if err := pinBridgeMAC(br, store); err != nil {
		return nil, err
	}
	if br.Flags&net.FlagUp == 0 { // as looked up: once up, a bridge needs no second LinkSetUp
		if err := netlink.LinkSetUp(br); err != nil {
			return nil, fmt.Errorf("setting bridge %q up: %w", n.Bridge, err)
		}
	}
	for _, f := range n.families {
		if err := addGateway(br, f); err != nil {
			return nil, err
		}
	}
	return br, nil
}

// addGateway gives the bridge f's gateway address and enables forwarding
// for f. An IPv6 gateway is added without duplicate address detection
// (IFA_F_NODAD): it is usable at once instead of after a second or more of
// DAD, and it is unique by construction (the first host of this node's
// subnet6, on podnet's own bridge). Enabling IPv6 forwarding on a node makes
// its interfaces stop accepting router advertisements unless accept_ra is 2,
// as with upstream bridge.
func addGateway(br *netlink.Bridge, f family) error {
	addr := &netlink.Addr{IPNet: gatewayNet(f)}
	if f.ipv6 {
		if err := enableIPv6(br.Name); err != nil {
			return err
		}
		addr.Flags = unix.IFA_F_NODAD
	}
	if err := netlink.AddrAdd(br, addr); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("adding gateway %s to bridge %q: %w", addr.IPNet, br.Name, err)
	}
	if err := enableForward(f.ipv6); err != nil {
		return fmt.Errorf("enabling %s forwarding: %w", f.name(), err)
	}
	return nil
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
	if _, err := sysctl.Sysctl(key, "0"); err != nil {
		return fmt.Errorf("enabling IPv6 on %q: %w", ifName, err)
	}
	return nil
}

// pinBridgeMAC sets the bridge's MAC to its current value, as upstream bridge
// does. A bridge whose MAC was never set takes the lowest port's MAC, so the
// gateway's MAC would change as pods come and go, leaving stale ARP entries in
// the other pods; once set, the kernel keeps it. A MAC the administrator set
// stays as it is (setting it to itself changes nothing). Setting it also
// flushes the bridge's neighbour entries, so it is done once per bridge
// (creation or adoption), recorded in the store, not on every ADD.
func pinBridgeMAC(br *netlink.Bridge, store *ipam.Store) error {
	stamp := bridgeStamp(br)
	if stamp != "" {
		if seen, err := store.ReadFile(bridgePinnedFile); err == nil && string(seen) == stamp {
			return nil
		}
	}
	if err := netlink.LinkSetHardwareAddr(br, br.HardwareAddr); err != nil {
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
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	cookie, err := netnsCookie()
	if err != nil {
		return ""
	}
	return fmt.Sprintf("boot %s netns %d", strings.TrimSpace(string(boot)), cookie)
}

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

func bridgeByName(name string) (*netlink.Bridge, error) {
	l, err := netlinksafe.LinkByName(name)
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
// podnet's.
func setupVeth(netns ns.NetNS, br *netlink.Bridge, n *NetConf, a ipam.Attachment, addrs []*net.IPNet) (host, cont *current.Interface, routesAdded []bool, err error) {
	hostName := hostVethName(n, a)
	// A host end by this name can only be left over from a crashed ADD of this
	// very attachment, whose reservation we now hold: remove it.
	if err := delLinkByName(hostName); err != nil && !errors.Is(err, errLinkNotFound) {
		return nil, nil, nil, err
	}
	// One netlink socket per netns for the steps below, instead of one per
	// request: hostH's was opened here, in the host netns, and stays there
	// whichever thread or netns uses it; podH's is opened in the pod's.
	hostH, err := netlinksafe.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("netlink: %w", err)
	}
	defer hostH.Close()
	cont = &current.Interface{}
	var hostLink netlink.Link
	err = netns.Do(func(hostNS ns.NetNS) error {
		podH, err := netlinksafe.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return fmt.Errorf("netlink in the pod netns: %w", err)
		}
		defer podH.Close()
		link, err := makeVeth(podH, a.IfName, hostName, n.MTU, int(hostNS.Fd()))
		if err != nil {
			return err
		}
		cont.Name, cont.Mac, cont.Mtu, cont.Sandbox = link.Attrs().Name, link.Attrs().HardwareAddr.String(), link.Attrs().MTU, netns.Path()
		// The host end up first (through the host netns's socket, no netns
		// switch): the pod end has a carrier only once its peer is up, and
		// the kernel installs the pod's IPv6 local route (asynchronously)
		// only after that, so a host end set up last would leave the pod's
		// IPv6 address unusable for a moment after ADD returns.
		if hostLink, err = hostH.LinkByName(hostName); err != nil {
			return fmt.Errorf("failed to lookup %q: %w", hostName, err)
		}
		if err := hostH.LinkSetUp(hostLink); err != nil {
			return fmt.Errorf("failed to set %q up: %w", hostName, err)
		}
		for i, f := range n.families {
			addr := &netlink.Addr{IPNet: addrs[i]}
			if f.ipv6 {
				// Without DAD the address works at once (a tentative one
				// cannot be a source for a second or more); the IPAM lock
				// makes it unique on the bridge. See addGateway.
				addr.Flags = unix.IFA_F_NODAD
				if err := enableIPv6(a.IfName); err != nil {
					return err
				}
				// As upstream does: the kernel drops an interface's IPv6
				// addresses (not its IPv4 ones) when it goes down, so a pod
				// that cycles its interface would lose its IPv6 address.
				if _, err := sysctl.Sysctl(fmt.Sprintf("net/ipv6/conf/%s/keep_addr_on_down", a.IfName), "1"); err != nil {
					return fmt.Errorf("keeping the IPv6 address of %q on down: %w", a.IfName, err)
				}
			}
			if err := podH.AddrAdd(link, addr); err != nil {
				return fmt.Errorf("adding %s to %q: %w", addrs[i], a.IfName, err)
			}
		}
		if err := podH.LinkSetUp(link); err != nil {
			return fmt.Errorf("setting %q up: %w", a.IfName, err)
		}
		routesAdded = make([]bool, len(n.families))
		for i, f := range n.families {
			if routesAdded[i], err = addDefaultRouteIfNone(f, link); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	// The host end's IPv6 router advertisements are off, as upstream's veth
	// setup does (podnet owns its routes); /proc/sys/net is the calling
	// thread's netns, the host's again here.
	_, _ = sysctl.Sysctl(fmt.Sprintf("net/ipv6/conf/%s/accept_ra", hostName), "0")
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

// addDefaultRouteIfNone adds f's default route via f's gateway on link unless
// the pod (the current netns) already has a default route in that family,
// e.g. from its first interface. A concurrent ADD of another interface that
// added one first counts as "already has one".
func addDefaultRouteIfNone(f family, link netlink.Link) (bool, error) {
	has, err := hasDefaultRoute(f)
	if err != nil || has {
		return false, err
	}
	if err := addDefaultRoute(f.pool.Gateway, link); err != nil {
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

// hasDefaultRoute reports whether the current netns's main table has a
// default route of f's family.
func hasDefaultRoute(f family) (bool, error) {
	routes, err := netlinksafe.RouteListFiltered(netlinkFamily(f), &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
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
