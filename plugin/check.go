package main

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/cnigate/cnigate/plugin/ipam"
)

// cmdCheck compares the kernel and the IPAM store with prevResult and reports
// every difference it finds in one error.
func cmdCheck(args *skel.CmdArgs) (err error) {
	n, _, err := loadNetConf(args.StdinData)
	if err != nil {
		return err
	}
	op := startOp(n, "CHECK", args)
	defer func() { op.finish(err) }()

	netns, err := openPodNetNS(args.Netns)
	if err != nil {
		return err
	}
	defer func() { _ = netns.Close() }()
	if n.PrevResult == nil {
		return types.NewError(types.ErrInvalidNetworkConfig, "CHECK needs a prevResult", "")
	}
	prev, err := current.NewResultFromResult(n.PrevResult)
	if err != nil {
		return types.NewError(types.ErrDecodingFailure, "failed to convert prevResult", err.Error())
	}
	a := attachmentOf(args)
	podIPs := podIPsOf(prev, a.IfName)
	if len(podIPs) == 0 {
		return types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf("prevResult has no address for interface %q", a.IfName), "")
	}

	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if err := checkReservation(n, a, podIPs, report); err != nil {
		return err
	}
	checkHostSide(n, a, report)
	if err := netns.Do(func(ns.NetNS) error {
		checkPodSide(n, a, prev, podIPs, report)
		return nil
	}); err != nil {
		report("netns %q: %v", args.Netns, err)
	}
	if n.masquerade() {
		checkRules(n, report)
	}
	if len(problems) > 0 {
		return types.NewError(errCheckFailed, "CHECK failed: "+strings.Join(problems, "; "), "")
	}
	return nil
}

// podIPsOf returns the addresses prevResult gives the pod interface ifName.
func podIPsOf(r *current.Result, ifName string) []*current.IPConfig {
	var out []*current.IPConfig
	for _, ipc := range r.IPs {
		if ipc.Interface == nil || *ipc.Interface < 0 || *ipc.Interface >= len(r.Interfaces) {
			continue
		}
		if iface := r.Interfaces[*ipc.Interface]; iface.Name == ifName && iface.Sandbox != "" {
			out = append(out, ipc)
		}
	}
	return out
}

// checkReservation reports reservations that differ from want, the pod's
// addresses in prevResult (one per family). A store whose lock stays busy is
// not a difference: it fails CHECK with code 11.
func checkReservation(n *NetConf, a ipam.Attachment, want []*current.IPConfig, report func(string, ...any)) error {
	store, err := openExistingStore(n)
	if err != nil {
		report("IPAM store: %v", err)
		return nil
	}
	if store == nil {
		report("no IPAM reservation for %s (no store for network %q)", a, n.Name)
		return nil
	}
	defer func() { _ = store.Close() }()
	got, err := store.Lookup(a)
	switch {
	case errors.Is(err, ipam.ErrBusy):
		return storeError("IPAM store", err)
	case err != nil:
		report("IPAM store: %v", err)
		return nil
	case len(got) == 0:
		report("no IPAM reservation for %s", a)
		return nil
	}
	// Compared per family: a reservation of the family's pool against
	// prevResult's address of that family.
	for _, f := range n.families {
		held, prev := addrIn(f, got), ""
		for _, ipc := range want {
			if (ipc.Address.IP.To4() == nil) == f.ipv6 {
				prev = ipc.Address.IP.String()
			}
		}
		switch {
		case held == "" && prev != "":
			report("no IPAM reservation of %s for %s, prevResult says %s", f.name(), a, prev)
		case held != prev && prev == "":
			report("IPAM reservation of %s is %s, prevResult has no %s address", a, held, f.name())
		case held != prev:
			report("IPAM reservation of %s is %s, prevResult says %s", a, held, prev)
		}
	}
	return nil
}

// addrIn returns the address of ips that is in f's subnet, or "".
func addrIn(f family, ips []net.IP) string {
	for _, ip := range ips {
		if f.pool.Subnet.Contains(ip) && (ip.To4() == nil) == f.ipv6 {
			return ip.String()
		}
	}
	return ""
}

func checkHostSide(n *NetConf, a ipam.Attachment, report func(string, ...any)) {
	br, err := bridgeByName(perRequest, n.Bridge)
	if err != nil {
		report("bridge %q: %v", n.Bridge, err)
	} else {
		for _, f := range n.families {
			addrs, err := netlinksafe.AddrList(br, netlinkFamily(f))
			if err != nil {
				report("bridge %q addresses: %v", n.Bridge, err)
			} else if !hasAddr(addrs, gatewayNet(f).String()) {
				report("bridge %q lacks gateway address %s", n.Bridge, gatewayNet(f))
			}
		}
	}
	name := hostVethName(n, a)
	host, err := netlinksafe.LinkByName(name)
	if err != nil {
		report("host veth %q is missing", name)
		return
	}
	if host.Attrs().Flags&net.FlagUp == 0 {
		report("host veth %q is down", name)
	}
	if br != nil && host.Attrs().MasterIndex != br.Index {
		report("host veth %q is not attached to bridge %q", name, n.Bridge)
		return
	}
	port, err := netlinksafe.LinkGetProtinfo(host)
	switch {
	case err != nil:
		report("host veth %q bridge port settings: %v", name, err)
	case port.Hairpin != n.hairpin():
		report("host veth %q has hairpin mode %v, \"hairpinMode\" is %v", name, port.Hairpin, n.hairpin())
	}
}

func checkPodSide(n *NetConf, a ipam.Attachment, prev *current.Result, podIPs []*current.IPConfig, report func(string, ...any)) {
	link, err := netlinksafe.LinkByName(a.IfName)
	if err != nil {
		report("interface %q is missing from the pod netns", a.IfName)
		return
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		report("interface %q is down", a.IfName)
	}
	if link.Attrs().MTU != n.MTU {
		report("interface %q has MTU %d, want %d", a.IfName, link.Attrs().MTU, n.MTU)
	}
	if err := checkPodAddresses(link, podIPs); err != nil {
		report("interface %q address: %v", a.IfName, err)
	}
	for _, r := range prev.Routes {
		if ok, err := routeExists(r); err != nil || !ok {
			report("route to %s via %s is missing from the pod netns", &r.Dst, r.GW)
		}
	}
}

func checkRules(n *NetConf, report func(string, ...any)) {
	missing, err := missingRules(n)
	if err != nil {
		report("%v", err)
	}
	for _, r := range missing {
		report("%s rule missing: %s", r.Command(), r)
	}
}

func hasAddr(addrs []netlink.Addr, cidr string) bool {
	for _, a := range addrs {
		if a.IPNet.String() == cidr {
			return true
		}
	}
	return false
}
