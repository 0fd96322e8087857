package cnitest

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Link is what the kernel says about one interface.
type Link struct {
	Name, Type  string
	Index, MTU  int
	MasterIndex int
	MAC         string
	Up          bool
	// Hairpin is the bridge port's hairpin flag (false when not a port).
	Hairpin bool
	Addrs   []string // CIDRs, IPv4
	// Addrs6 are the IPv6 CIDRs of global scope (not the kernel's own
	// link-local fe80::).
	Addrs6 []string
	// DefaultGateway is the gateway of the IPv4 default route through this
	// link, or nil; DefaultGateway6 the IPv6 one.
	DefaultGateway, DefaultGateway6 net.IP
}

// LinkIn reads interface name in netns; found is false when it is absent.
func LinkIn(netns ns.NetNS, name string) (link Link, found bool, err error) {
	err = netns.Do(func(ns.NetNS) error {
		l, err := netlinksafe.LinkByName(name)
		if errors.As(err, &netlink.LinkNotFoundError{}) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		link, err = describe(l)
		return err
	})
	return link, found, err
}

// LinksIn lists every interface of netns, sorted by name.
func LinksIn(netns ns.NetNS) ([]Link, error) {
	var links []Link
	err := netns.Do(func(ns.NetNS) error {
		all, err := netlinksafe.LinkList()
		if err != nil {
			return err
		}
		for _, l := range all {
			d, err := describe(l)
			if err != nil {
				// A link going away while it is read (a veth whose peer's
				// netns was just deleted) is simply not there any more.
				var notFound netlink.LinkNotFoundError
				if _, lookup := netlink.LinkByIndex(l.Attrs().Index); errors.As(lookup, &notFound) {
					continue
				}
				return err
			}
			links = append(links, d)
		}
		return nil
	})
	sort.Slice(links, func(i, j int) bool { return links[i].Name < links[j].Name })
	return links, err
}

// LinkNames lists the interface names of netns.
func LinkNames(netns ns.NetNS) ([]string, error) {
	links, err := LinksIn(netns)
	names := make([]string, len(links))
	for i, l := range links {
		names[i] = l.Name
	}
	return names, err
}

func describe(l netlink.Link) (Link, error) {
	a := l.Attrs()
	d := Link{
		Name: a.Name, Type: l.Type(), Index: a.Index, MTU: a.MTU, MasterIndex: a.MasterIndex,
		MAC: a.HardwareAddr.String(), Up: a.Flags&net.FlagUp != 0,
	}
	if a.MasterIndex != 0 {
		if _, isBridge := l.(*netlink.Bridge); !isBridge {
			var err error
			if d.Hairpin, err = bridgePortHairpin(l); err != nil {
				return d, err
			}
		}
	}
	addrs, err := netlinksafe.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return d, fmt.Errorf("addresses of %s: %w", a.Name, err)
	}
	for _, addr := range addrs {
		d.Addrs = append(d.Addrs, addr.IPNet.String())
	}
	routes, err := netlinksafe.RouteList(l, netlink.FAMILY_V4)
	if err != nil {
		return d, fmt.Errorf("routes of %s: %w", a.Name, err)
	}
	for _, r := range routes {
		if r.Dst == nil || r.Dst.String() == "0.0.0.0/0" {
			d.DefaultGateway = r.Gw
		}
	}
	addrs6, err := netlinksafe.AddrList(l, netlink.FAMILY_V6)
	if err != nil {
		return d, fmt.Errorf("IPv6 addresses of %s: %w", a.Name, err)
	}
	for _, addr := range addrs6 {
		if addr.Scope == int(netlink.SCOPE_UNIVERSE) && !addr.IP.IsLinkLocalUnicast() {
			d.Addrs6 = append(d.Addrs6, addr.IPNet.String())
		}
	}
	routes6, err := netlinksafe.RouteList(l, netlink.FAMILY_V6)
	if err != nil {
		return d, fmt.Errorf("IPv6 routes of %s: %w", a.Name, err)
	}
	for _, r := range routes6 {
		if r.Dst == nil || r.Dst.String() == "::/0" {
			d.DefaultGateway6 = r.Gw
		}
	}
	return d, nil
}

// InNS runs f inside netns (tampering with a pod's network in a spec).
func InNS(netns ns.NetNS, f func() error) error {
	return netns.Do(func(ns.NetNS) error { return f() })
}

// WaitIPv6Settled waits up to timeout until no global IPv6 address in
// netns is tentative (in duplicate address detection); an address whose DAD
// failed counts as settled, and link-local ones are not waited for (a veth
// whose peer is down keeps its fe80:: tentative for ever).
func WaitIPv6Settled(netns ns.NetNS, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var tentative []string
		err := netns.Do(func(ns.NetNS) error {
			addrs, err := netlinksafe.AddrList(nil, netlink.FAMILY_V6)
			if err != nil {
				return err
			}
			for _, a := range addrs {
				if a.Flags&unix.IFA_F_TENTATIVE != 0 && a.Flags&unix.IFA_F_DADFAILED == 0 && !a.IP.IsLinkLocalUnicast() {
					tentative = append(tentative, a.IPNet.String())
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("IPv6 addresses: %w", err)
		}
		if len(tentative) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("IPv6 addresses still in duplicate address detection after %s: %v", timeout, tentative)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
