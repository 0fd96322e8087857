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
