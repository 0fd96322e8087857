package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/containernetworking/plugins/pkg/ip"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func main() {
	var err error
	switch cmd := os.Getenv("CNI_COMMAND"); cmd {
	case "ADD":
		var args addArgs
		if args, err = addArgsFromEnv(); err != nil {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(2)
		}
		err = add(args)
	case "DEL":
		err = del(os.Getenv("CNI_NETNS"), os.Getenv("CNI_IFNAME"))
	default:
		fmt.Fprintf(os.Stderr, "floor: CNI_COMMAND %q: only ADD and DEL\n", cmd)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

type addArgs struct {
	netns, ifName, hostVeth, bridge string
	addr                            *net.IPNet
	gateway                         net.IP
	mtu                             int
}

func addArgsFromEnv() (addArgs, error) {
	a := addArgs{netns: os.Getenv("CNI_NETNS"), ifName: os.Getenv("CNI_IFNAME"), bridge: os.Getenv("FLOOR_BRIDGE")}
	if a.netns == "" || a.ifName == "" || a.bridge == "" || os.Getenv("CNI_CONTAINERID") == "" {
		return a, errors.New("CNI_NETNS, CNI_IFNAME, CNI_CONTAINERID and FLOOR_BRIDGE are required")
	}
	// Named from the attachment, like podnet's host ends, so names never clash.
	sum := sha256.Sum256([]byte(os.Getenv("CNI_CONTAINERID") + "/" + a.ifName))
	a.hostVeth = "fl" + hex.EncodeToString(sum[:6])
	addr, ipn, err := net.ParseCIDR(os.Getenv("FLOOR_ADDRESS"))
	if err != nil {
		return a, fmt.Errorf("FLOOR_ADDRESS: %w", err)
	}
	a.addr = &net.IPNet{IP: addr, Mask: ipn.Mask}
	if a.gateway = net.ParseIP(os.Getenv("FLOOR_GATEWAY")); a.gateway == nil {
		return a, fmt.Errorf("FLOOR_GATEWAY %q is not an IP address", os.Getenv("FLOOR_GATEWAY"))
	}
	if a.mtu, err = strconv.Atoi(os.Getenv("FLOOR_MTU")); err != nil {
		return a, fmt.Errorf("FLOOR_MTU: %w", err)
	}
	return a, nil
}

func add(a addArgs) error {
	br, err := bridge(a)
	if err != nil {
		return err
	}
	netns, err := ns.GetNS(a.netns)
	if err != nil {
		return err
	}
	defer func() { _ = netns.Close() }()
	err = netns.Do(func(hostNS ns.NetNS) error {
		if _, _, err := ip.SetupVethWithName(a.ifName, a.hostVeth, a.mtu, "", hostNS); err != nil {
			return err
		}
		link, err := netlinksafe.LinkByName(a.ifName)
		if err != nil {
			return err
		}
		if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: a.addr}); err != nil {
			return fmt.Errorf("adding %s: %w", a.addr, err)
		}
		if err := netlink.LinkSetUp(link); err != nil {
			return err
		}
		return ip.AddDefaultRoute(a.gateway, link)
	})
	if err != nil {
		return err
	}
	host, err := netlinksafe.LinkByName(a.hostVeth)
	if err != nil {
		return err
	}
	return netlink.LinkSetMaster(host, br)
}

// bridge returns the bridge, creating it (up, with the gateway address) when it
// is missing; concurrent first ADDs may race, and the loser uses the winner's.
func bridge(a addArgs) (netlink.Link, error) {
	br, err := netlinksafe.LinkByName(a.bridge)
	if err == nil || !errors.As(err, &netlink.LinkNotFoundError{}) {
		return br, err
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU = a.bridge, a.mtu
	if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, err
	}
	if br, err = netlinksafe.LinkByName(a.bridge); err != nil {
		return nil, err
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return nil, err
	}
	gw := &netlink.Addr{IPNet: &net.IPNet{IP: a.gateway, Mask: a.addr.Mask}}
	if err := netlink.AddrAdd(br, gw); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, err
	}
	return br, nil
}

func del(netnsPath, ifName string) error {
	if netnsPath == "" || ifName == "" {
		return errors.New("CNI_NETNS and CNI_IFNAME are required")
	}
	return ns.WithNetNSPath(netnsPath, func(ns.NetNS) error {
		if err := ip.DelLinkByName(ifName); err != nil && !errors.Is(err, ip.ErrLinkNotFound) {
			return err
		}
		return nil
	})
}
