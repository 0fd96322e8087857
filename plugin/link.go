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
	"github.com/containernetworking/plugins/pkg/ip"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
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
// race to create it: whoever loses finds the winner's bridge.
func ensureBridge(n *NetConf, store *ipam.Store) (*netlink.Bridge, error) {
	br, err := bridgeByName(n.Bridge)
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
	if err := netlink.LinkSetUp(br); err != nil {
		return nil, fmt.Errorf("setting bridge %q up: %w", n.Bridge, err)
	}
	gw := &netlink.Addr{IPNet: gatewayNet(n)}
	if err := netlink.AddrAdd(br, gw); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("adding gateway %s to bridge %q: %w", gw.IPNet, n.Bridge, err)
	}
	if err := ip.EnableIP4Forward(); err != nil {
		return nil, fmt.Errorf("enabling IPv4 forwarding: %w", err)
	}
	return br, nil
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

// gatewayNet is the gateway address with the subnet's prefix, as on the bridge.
func gatewayNet(n *NetConf) *net.IPNet {
	return &net.IPNet{IP: n.pool.Gateway, Mask: n.pool.Subnet.Mask}
}

// setupVeth creates the veth pair: ifName in the pod netns with addr, up, and a
// default route via the gateway unless the pod already has one (a second
// interface); the host end up, enslaved to br, in hairpin mode if configured.
// routeAdded says whether the default route is podnet's.
func setupVeth(netns ns.NetNS, br *netlink.Bridge, n *NetConf, a ipam.Attachment, addr *net.IPNet) (host, cont *current.Interface, routeAdded bool, err error) {
	hostName := hostVethName(n, a)
	// A host end by this name can only be left over from a crashed ADD of this
	// very attachment, whose reservation we now hold: remove it.
	if err := ip.DelLinkByName(hostName); err != nil && !errors.Is(err, ip.ErrLinkNotFound) {
		return nil, nil, false, err
	}
	host, cont = &current.Interface{}, &current.Interface{}
	err = netns.Do(func(hostNS ns.NetNS) error {
		hostVeth, contVeth, err := ip.SetupVethWithName(a.IfName, hostName, n.MTU, "", hostNS)
		if err != nil {
			return err
		}
		host.Name, host.Mac, host.Mtu = hostVeth.Name, hostVeth.HardwareAddr.String(), hostVeth.MTU
		cont.Name, cont.Mac, cont.Mtu, cont.Sandbox = contVeth.Name, contVeth.HardwareAddr.String(), contVeth.MTU, netns.Path()

		link, err := netlinksafe.LinkByName(a.IfName)
		if err != nil {
			return err
		}
		if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: addr}); err != nil {
			return fmt.Errorf("adding %s to %q: %w", addr, a.IfName, err)
		}
		if err := netlink.LinkSetUp(link); err != nil {
			return fmt.Errorf("setting %q up: %w", a.IfName, err)
		}
		routeAdded, err = addDefaultRouteIfNone(n, link)
		return err
	})
	if err != nil {
		return nil, nil, false, err
	}
	hostLink, err := netlinksafe.LinkByName(hostName)
	if err != nil {
		return nil, nil, false, err
	}
	if err := netlink.LinkSetMaster(hostLink, br); err != nil {
		return nil, nil, false, fmt.Errorf("attaching %q to bridge %q: %w", hostName, br.Name, err)
	}
	// A new bridge port is not in hairpin mode: set it only when wanted.
	if n.hairpin() {
		if err := netlink.LinkSetHairpin(hostLink, true); err != nil {
			return nil, nil, false, fmt.Errorf("setting hairpin mode on %q: %w", hostName, err)
		}
	}
	return host, cont, routeAdded, nil
}

// addDefaultRouteIfNone adds the default route via the gateway on link unless
// the pod (the current netns) already has an IPv4 default route, e.g. from
// its first interface. A concurrent ADD of another interface that added one
// first counts as "already has one".
func addDefaultRouteIfNone(n *NetConf, link netlink.Link) (bool, error) {
	has, err := hasDefaultRoute()
	if err != nil || has {
		return false, err
	}
	if err := ip.AddDefaultRoute(n.pool.Gateway, link); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return false, nil
		}
		return false, fmt.Errorf("adding default route via %s: %w", n.pool.Gateway, err)
	}
	return true, nil
}

// hasDefaultRoute reports whether the current netns's main table has an IPv4
// default route.
func hasDefaultRoute() (bool, error) {
	routes, err := netlinksafe.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return false, fmt.Errorf("listing the pod's routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst == nil || ip.IsIPNetZero(r.Dst) {
			return true, nil
		}
	}
	return false, nil
}
