package bench

import (
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"

	"github.com/cnigate/cnigate/cnitest"
)

// ownNetwork applies the table entry's own IPv4 network and subnet, and
// checks the pods and the preload fit its pool.
func (s *spec) ownNetwork(e Contender, o Options) error {
	if e.Subnet != "" {
		_, subnet, err := net.ParseCIDR(e.Subnet)
		if err != nil {
			return fmt.Errorf("subnet: %w", err)
		}
		s.subnet, s.params.Network, s.params.Subnet = subnet, e.Network, e.Subnet
	}
	ones, bits := s.subnet.Mask.Size()
	usable := 1<<(bits-ones) - 3 // network, gateway, broadcast
	if s.preload != nil {
		if _, err := preloadAddresses(s.subnet, s.preload.Reservations); err != nil {
			return err
		}
		usable -= s.preload.Reservations
	}
	if need := max(o.N, o.Burst, o.RSSRuns); need > usable {
		return fmt.Errorf("n, burst and rss-runs (%d) must fit the %d free pod addresses of %s", need, usable, s.subnet)
	}
	return nil
}

// familyOf is "ipv4" or "ipv6".
func familyOf(ip net.IP) string {
	if ip.To4() != nil {
		return "ipv4"
	}
	return "ipv6"
}

// podAddrs is what the kernel shows on pod i's interface, by family: IPv4
// addresses in the contender's subnet and IPv6 global ones (not the
// kernel's own fe80::), and whether the interface exists at all.
func (c *contender) podAddrs(i int) (addrs map[string][]string, found bool, err error) {
	addrs = map[string][]string{}
	err = cnitest.InNS(c.pods[i], func() error {
		link, err := netlinksafe.LinkByName(ifName)
		if errors.As(err, &netlink.LinkNotFoundError{}) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		list, err := netlinksafe.AddrList(link, netlink.FAMILY_ALL)
		if err != nil {
			return fmt.Errorf("addresses of %s: %w", ifName, err)
		}
		for _, a := range list {
			ip := a.IP
			switch {
			case ip.To4() != nil && c.subnet.Contains(ip):
			case ip.To4() == nil && ip.IsGlobalUnicast():
			default:
				continue
			}
			addrs[familyOf(ip)] = append(addrs[familyOf(ip)], ip.String())
		}
		return nil
	})
	return addrs, found, err
}

// addrCheck is what checkAddresses found.
type addrCheck struct {
	// Duplicates: addresses held by more than one pod, or by a pod and a
	// preloaded reservation.
	Duplicates int
	// Unconfigured: pods without an address of one of the families.
	Unconfigured int
	// BadResults: successful ADDs whose result does not list exactly one
	// address per family, or lists other addresses than the pod has.
	BadResults int
}

// checkAddresses reads the addresses of pods [0, n) back from the kernel, per
// family, and counts them (countAddresses) against the ADD results resps (by
// pod; nil for the floor, which prints none) and taken, the preloaded
// addresses.
func (c *contender) checkAddresses(n int, resps []cnitest.Response, taken map[string]bool) (addrCheck, error) {
	pods := make([]map[string][]string, n)
	for i := range n {
		var err error
		if pods[i], _, err = c.podAddrs(i); err != nil {
			return addrCheck{}, err
		}
	}
	if c.tmpl == nil {
		resps = nil
	}
	found, problems := countAddresses(c.families, c.params.CNIVersion, pods, resps, taken)
	for _, p := range problems {
		c.note(p.what, p.resp)
	}
	return found, nil
}

// problem is a bad ADD result, for the contender's error list.
type problem struct {
	what string
	resp cnitest.Response
}

// countAddresses counts, over pods (the addresses of each pod's interface by
// family): addresses on more than one pod or in taken, pods missing one of
// families, and successful ADD results (resps[i], when there) that disagree
// with their pod.
func countAddresses(families []string, cniVersion string, pods []map[string][]string, resps []cnitest.Response, taken map[string]bool) (addrCheck, []problem) {
	var found addrCheck
	var problems []problem
	owner := map[string]bool{}
	for i, addrs := range pods {
		missing := false
		for _, f := range families {
			if len(addrs[f]) == 0 {
				missing = true
			}
			for _, a := range addrs[f] {
				if owner[a] || taken[a] {
					found.Duplicates++
				}
				owner[a] = true
			}
		}
		if missing {
			found.Unconfigured++
		}
		if i < len(resps) && !resps[i].Failed() {
			if err := resultMatches(families, cniVersion, resps[i], addrs); err != nil {
				found.BadResults++
				problems = append(problems, problem{fmt.Sprintf("ADD result of pod %d: %v", i, err), resps[i]})
			}
		}
	}
	return found, problems
}

// resultMatches checks an ADD result: exactly one address per family of the
// contender, none of another family, each the one the pod's interface has.
func resultMatches(families []string, cniVersion string, resp cnitest.Response, pod map[string][]string) error {
	res, err := resp.Result(cniVersion)
	if err != nil {
		return err
	}
	byFamily := map[string][]string{}
	for _, ipc := range res.IPs {
		f := familyOf(ipc.Address.IP)
		byFamily[f] = append(byFamily[f], ipc.Address.IP.String())
	}
	for f, ips := range byFamily {
		if !slices.Contains(families, f) {
			return fmt.Errorf("result lists %s address(es) %v, not a family of this contender", f, ips)
		}
	}
	for _, f := range families {
		switch ips := byFamily[f]; {
		case len(ips) != 1:
			return fmt.Errorf("result lists %d %s addresses %v, want 1", len(ips), f, ips)
		case !slices.Equal(ips, pod[f]):
			return fmt.Errorf("result's %s address %s, pod's interface has %v", f, ips[0], pod[f])
		}
	}
	return nil
}
