package cnitest

import (
	"fmt"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// AddHostDevice creates name in hostNS as a plugin's host fixture (the
// master of macvlan, ipvlan or vlan, the device host-device moves): one end
// of a veth pair, both ends up. A veth, because the kernels this runs on may
// lack the dummy driver.
func AddHostDevice(hostNS ns.NetNS, name string) error {
	peer := name + "-p"
	if len(peer) > 15 {
		return fmt.Errorf("host fixture %q: name longer than 12 characters", name)
	}
	return InNS(hostNS, func() error {
		attrs := netlink.NewLinkAttrs()
		attrs.Name = name
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: peer}); err != nil {
			return fmt.Errorf("host fixture %s: %w", name, err)
		}
		for _, n := range []string{name, peer} {
			l, err := netlink.LinkByName(n)
			if err != nil {
				return err
			}
			if err := netlink.LinkSetUp(l); err != nil {
				return fmt.Errorf("host fixture %s up: %w", n, err)
			}
		}
		return nil
	})
}

// LinkKinds are the link kinds CanCreateLink probes, by name.
var LinkKinds = map[string]func(parent int) netlink.Link{
	"macvlan": func(parent int) netlink.Link {
		return &netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{Name: "probe0", ParentIndex: parent}, Mode: netlink.MACVLAN_MODE_BRIDGE}
	},
	"ipvlan": func(parent int) netlink.Link {
		return &netlink.IPVlan{LinkAttrs: netlink.LinkAttrs{Name: "probe0", ParentIndex: parent}, Mode: netlink.IPVLAN_MODE_L2}
	},
	"vlan": func(parent int) netlink.Link {
		return &netlink.Vlan{LinkAttrs: netlink.LinkAttrs{Name: "probe0", ParentIndex: parent}, VlanId: 100}
	},
}

// CanCreateLink checks the kernel can create a link of kind (macvlan,
// ipvlan, vlan) on a veth, in a throwaway netns, so a plugin that needs one
// is reported as unrunnable here rather than as failing every spec.
func CanCreateLink(kind string) error {
	newLink, ok := LinkKinds[kind]
	if !ok {
		return fmt.Errorf("unknown link kind %q", kind)
	}
	probe := NewNamespaces()
	netns, err := probe.New()
	if err != nil {
		return err
	}
	defer func() { _ = probe.Delete(netns) }()
	if err := AddHostDevice(netns, "parent0"); err != nil {
		return err
	}
	return InNS(netns, func() error {
		parent, err := netlink.LinkByName("parent0")
		if err != nil {
			return err
		}
		if err := netlink.LinkAdd(newLink(parent.Attrs().Index)); err != nil {
			return fmt.Errorf("the kernel cannot create %s links: %w (kernel config CONFIG_%s)", kind, err, map[string]string{"macvlan": "MACVLAN", "ipvlan": "IPVLAN", "vlan": "VLAN_8021Q"}[kind])
		}
		return nil
	})
}
