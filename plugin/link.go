package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ip"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/cnigate/cnigate/plugin/ipam"
)

// hostVethName derives the host end's name from the attachment, so DEL, CHECK
// and GC find it without the pod netns and without stored state.
func hostVethName(a ipam.Attachment) string {
	sum := sha256.Sum256([]byte(a.ContainerID + "/" + a.IfName))
	return "pn" + hex.EncodeToString(sum[:6])
}

// ensureBridge returns the bridge, creating it when absent, and makes sure it
// is up and holds the gateway address. Concurrent ADDs may race to create it:
// whoever loses finds the winner's bridge.
func ensureBridge(n *NetConf) (*netlink.Bridge, error) {
	br, err := bridgeByName(n.Bridge)
	if errors.As(err, &netlink.LinkNotFoundError{}) {
		attrs := netlink.NewLinkAttrs()
		attrs.Name = n.Bridge
		attrs.MTU = n.MTU
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("creating bridge %q: %w", n.Bridge, err)
		}
		if br, err = bridgeByName(n.Bridge); err == nil {
			// Pin the random MAC the kernel gave the bridge: otherwise it takes
			// the lowest port's MAC and the gateway's MAC changes as pods come
			// and go, leaving stale ARP entries in the other pods.
			err = netlink.LinkSetHardwareAddr(br, br.HardwareAddr)
		}
	}
	if err != nil {
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
// default route via the gateway; the host end up and enslaved to br.
func setupVeth(netns ns.NetNS, br *netlink.Bridge, n *NetConf, a ipam.Attachment, addr *net.IPNet) (host, cont *current.Interface, err error) {
	hostName := hostVethName(a)
	// A host end by this name can only be left over from a crashed ADD of this
	// very attachment, whose reservation we now hold: remove it.
	if err := ip.DelLinkByName(hostName); err != nil && !errors.Is(err, ip.ErrLinkNotFound) {
		return nil, nil, err
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
		if err := ip.AddDefaultRoute(n.pool.Gateway, link); err != nil {
			return fmt.Errorf("adding default route via %s: %w", n.pool.Gateway, err)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	hostLink, err := netlinksafe.LinkByName(hostName)
	if err != nil {
		return nil, nil, err
	}
	if err := netlink.LinkSetMaster(hostLink, br); err != nil {
		return nil, nil, fmt.Errorf("attaching %q to bridge %q: %w", hostName, br.Name, err)
	}
	return host, cont, nil
}

// teardownVeth removes both ends of the attachment's veth pair, tolerating a
// missing or empty netns and links that are already gone.
func teardownVeth(netnsPath string, a ipam.Attachment) error {
	if netnsPath != "" {
		err := ns.WithNetNSPath(netnsPath, func(ns.NetNS) error {
			if err := ip.DelLinkByName(a.IfName); err != nil && !errors.Is(err, ip.ErrLinkNotFound) {
				return err
			}
			return nil
		})
		var notExist ns.NSPathNotExistErr
		var notNS ns.NSPathNotNSErr
		if err != nil && !errors.As(err, &notExist) && !errors.As(err, &notNS) {
			return err
		}
	}
	// Deleting one end of a veth removes its peer, so this is usually a no-op;
	// it matters when the netns is gone or the pod's interface was renamed.
	if err := ip.DelLinkByName(hostVethName(a)); err != nil && !errors.Is(err, ip.ErrLinkNotFound) {
		return err
	}
	return nil
}
