package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"

	"github.com/containernetworking/plugins/pkg/ip"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func main() {
	// One P, as podnet runs (plugin/main.go): the floor is the kernel work
	// with the least a Go process adds to it, and a second P only adds the
	// scheduler's spinning threads.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
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
	// addr6 and gateway6 are the IPv6 side of a dual-stack pod (nil when
	// FLOOR_ADDRESS6 is unset).
	addr6    *net.IPNet
	gateway6 net.IP
	mtu      int
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
	if os.Getenv("FLOOR_ADDRESS6") == "" {
		return a, nil
	}
	addr6, ipn6, err := net.ParseCIDR(os.Getenv("FLOOR_ADDRESS6"))
	if err != nil || addr6.To4() != nil {
		return a, fmt.Errorf("FLOOR_ADDRESS6 %q is not an IPv6 address with a prefix", os.Getenv("FLOOR_ADDRESS6"))
	}
	a.addr6 = &net.IPNet{IP: addr6, Mask: ipn6.Mask}
	if a.gateway6 = net.ParseIP(os.Getenv("FLOOR_GATEWAY6")); a.gateway6 == nil || a.gateway6.To4() != nil {
		return a, fmt.Errorf("FLOOR_GATEWAY6 %q is not an IPv6 address", os.Getenv("FLOOR_GATEWAY6"))
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
		// No DAD, as podnet and upstream bridge do: the address works at once;
		// and kept when the interface goes down, as podnet and upstream do for
		// a dual-stack pod (a per-interface sysctl, written here inside the
		// pod netns this floor is in anyway).
		if a.addr6 != nil {
			// Written, not read back (plugins' sysctl.Sysctl would), as podnet does.
			if err := os.WriteFile(fmt.Sprintf("/proc/sys/net/ipv6/conf/%s/keep_addr_on_down", a.ifName), []byte("1"), 0o644); err != nil {
				return fmt.Errorf("keep_addr_on_down: %w", err)
			}
			if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: a.addr6, Flags: unix.IFA_F_NODAD}); err != nil {
				return fmt.Errorf("adding %s: %w", a.addr6, err)
			}
		}
		if err := netlink.LinkSetUp(link); err != nil {
			return err
		}
		if err := ip.AddDefaultRoute(a.gateway, link); err != nil {
			return err
		}
		if a.gateway6 != nil {
			return ip.AddDefaultRoute(a.gateway6, link)
		}
		return nil
	})
	if err != nil {
		return err
	}
	host, err := netlinksafe.LinkByName(a.hostVeth)
	if err != nil {
		return err
	}
	if err := netlink.LinkSetMaster(host, br); err != nil {
		return err
	}
	// Hairpin mode on the bridge port, as podnet's bench config has it (its
	// hairpinMode defaults to true: a pod reaching itself through a Service).
	return netlink.LinkSetHairpin(host, true)
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
	gws := []*netlink.Addr{{IPNet: &net.IPNet{IP: a.gateway, Mask: a.addr.Mask}}}
	if a.gateway6 != nil {
		gws = append(gws, &netlink.Addr{IPNet: &net.IPNet{IP: a.gateway6, Mask: a.addr6.Mask}, Flags: unix.IFA_F_NODAD})
	}
	for _, gw := range gws {
		if err := netlink.AddrAdd(br, gw); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, err
		}
	}
	// A node routes its pods' traffic: forwarding on, per family, as every
	// bridge plugin does. IPv6 forwarding is not free: with it on, each veth
	// the node later deletes costs the kernel ~15 ms more on this VM (the
	// interface was a router's: its router multicast and anycast go too), a
	// cost a dual-stack plugin's DEL carries and so its floor must too.
	if err := ip.EnableIP4Forward(); err != nil {
		return nil, err
	}
	if a.gateway6 != nil {
		if err := ip.EnableIP6Forward(); err != nil {
			return nil, err
		}
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
