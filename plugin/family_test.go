package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/cnigate/cnigate/plugin/ipam"
)

// familyConfs are the tutorial's network in IPv4, IPv6 only and dual-stack.
var familyConfs = []struct {
	name, extra string
	v4, v6      bool
}{
	{"ipv4", ``, true, false},
	{"ipv6", `,"network6":"fd00:97::/56","subnet6":"fd00:97:0:1::/64"`, false, true},
	{"dual", `,"network6":"fd00:97::/56","subnet6":"fd00:97:0:1::/64"`, true, true},
}

// familyConf is newTestConf in family f: IPv6-only drops network and subnet.
func familyConf(t *testing.T, extra string, v4 bool) testConf {
	c := newTestConf(t)
	c.extra = extra
	if !v4 {
		c.network, c.subnet = "", ""
	}
	return c
}

func (c testConf) jsonFamilies() []byte {
	if c.network != "" {
		return c.json()
	}
	return fmt.Appendf(nil, `{"cniVersion":"1.1.0","name":%q,"type":"podnet","bridge":%q,"dataDir":%q%s}`,
		c.name, c.bridge, c.dataDir, c.extra)
}

// TestAddInEachFamily: ADD gives one address and one default route per
// family, IPv6 usable at once (a TCP connection from the pod to the gateway
// right after ADD), the rules of every family; CHECK compares every family;
// DEL releases every address.
func TestAddInEachFamily(t *testing.T) {
	for _, fc := range familyConfs {
		t.Run(fc.name, func(t *testing.T) {
			c := familyConf(t, fc.extra, fc.v4)
			pod := podNetNS(t)
			inHostNetNS(t, func() error {
				conf := c.jsonFamilies()
				n, _, err := loadNetConf(conf)
				if err != nil {
					return err
				}
				printed, err := call(cmdAdd, conf, pod.Path(), "c1", "eth0")
				if err != nil {
					return err
				}
				r, err := addResult(printed)
				if err != nil {
					return err
				}
				if err := expectResult(r, n); err != nil {
					return err
				}
				for _, f := range n.families {
					if err := expectForwarding(f); err != nil {
						return err
					}
					if err := expectConnect(pod, f.pool.Gateway); err != nil {
						return err
					}
				}
				if err := expectNoDAD(pod, c.bridge, fc.v6); err != nil {
					return err
				}
				if missing, err := missingRules(n); err != nil || len(missing) != 0 || len(masqueradeRules(n)) != 3*len(n.families) {
					return fmt.Errorf("rules missing after ADD: %v, %w", missing, err)
				}
				check := conf[:len(conf)-1]
				check = append(check, `,"prevResult":`+printed+`}`...)
				if _, err := call(cmdCheck, check, pod.Path(), "c1", "eth0"); err != nil {
					return fmt.Errorf("CHECK after ADD: %w", err)
				}
				if fc.v6 {
					if err := expectCheckSeesIPv6Damage(t, c, n, check, pod, r); err != nil {
						return err
					}
				}
				if _, err := call(cmdDel, conf, pod.Path(), "c1", "eth0"); err != nil {
					return err
				}
				for _, ipc := range r.IPs {
					if _, err := os.Lstat(filepath.Join(c.dataDir, c.name, ipc.Address.IP.String())); !errors.Is(err, os.ErrNotExist) {
						return fmt.Errorf("DEL left the reservation of %s: %w", ipc.Address.IP, err)
					}
				}
				_, err = call(cmdStatus, conf, "", "", "")
				return err
			})
		})
	}
}

// expectResult checks the ADD result: per family, in order, an address of
// the subnet on the pod interface with the family's gateway, and the
// family's default route via that gateway.
func expectResult(r *current.Result, n *NetConf) error {
	if len(r.IPs) != len(n.families) || len(r.Routes) != len(n.families) {
		return fmt.Errorf("result has IPs %v and routes %v, want one of each per family (%d)", r.IPs, r.Routes, len(n.families))
	}
	for i, f := range n.families {
		ipc, route := r.IPs[i], r.Routes[i]
		switch {
		case !f.pool.Contains(ipc.Address.IP) || ipc.Address.Mask.String() != f.pool.Subnet.Mask.String():
			return fmt.Errorf("%s address %s is not in %s", f.name(), &ipc.Address, f.pool.Subnet)
		case !ipc.Gateway.Equal(f.pool.Gateway) || ipc.Interface == nil || *ipc.Interface != 2:
			return fmt.Errorf("%s address %v: wrong gateway or interface", f.name(), ipc)
		case route.Dst.String() != (&net.IPNet{IP: defaultDst(f).IP, Mask: defaultDst(f).Mask}).String() || !route.GW.Equal(f.pool.Gateway):
			return fmt.Errorf("%s route %v, want the default route via %s", f.name(), route, f.pool.Gateway)
		}
	}
	return nil
}

func expectForwarding(f family) error {
	path := "/proc/sys/net/ipv4/ip_forward"
	if f.ipv6 {
		path = "/proc/sys/net/ipv6/conf/all/forwarding"
	}
	data, err := os.ReadFile(path)
	if err != nil || strings.TrimSpace(string(data)) != "1" {
		return fmt.Errorf("%s forwarding is %q, want 1: %w", f.name(), data, err)
	}
	return nil
}

// expectConnect connects from the pod to a listener on gw in the current
// (host) netns at once: an address still in DAD (tentative) could not be
// the connection's source and the connect would fail.
func expectConnect(pod ns.NetNS, gw net.IP) error {
	l, err := net.Listen("tcp", net.JoinHostPort(gw.String(), "0"))
	if err != nil {
		return err
	}
	defer func() { _ = l.Close() }()
	accepted := make(chan error, 1)
	go func() {
		conn, err := l.Accept()
		if err == nil {
			_, err = io.WriteString(conn, "hello")
			err = errors.Join(err, conn.Close())
		}
		accepted <- err
	}()
	err = pod.Do(func(ns.NetNS) error {
		conn, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			return fmt.Errorf("pod to gateway %s right after ADD: %w", gw, err)
		}
		defer func() { _ = conn.Close() }()
		got, err := io.ReadAll(conn)
		if err != nil || string(got) != "hello" {
			return fmt.Errorf("pod read %q from the gateway: %w", got, err)
		}
		return nil
	})
	if err != nil {
		_ = l.Close()
		return errors.Join(err, <-accepted)
	}
	return <-accepted
}

// expectNoDAD checks that no IPv6 address podnet added is tentative, on the
// pod interface or the bridge, and that they were added without DAD.
func expectNoDAD(pod ns.NetNS, bridge string, v6 bool) error {
	check := func(where, ifName string) error {
		link, err := netlinksafe.LinkByName(ifName)
		if err != nil {
			return err
		}
		addrs, err := netlinksafe.AddrList(link, netlink.FAMILY_V6)
		if err != nil {
			return err
		}
		global := 0
		for _, a := range addrs {
			if a.IP.IsLinkLocalUnicast() {
				continue
			}
			global++
			if a.Flags&unix.IFA_F_TENTATIVE != 0 || a.Flags&unix.IFA_F_NODAD == 0 {
				return fmt.Errorf("%s address %s has flags %#x: want usable at once, without DAD", where, a.IPNet, a.Flags)
			}
		}
		if want := map[bool]int{true: 1, false: 0}[v6]; global != want {
			return fmt.Errorf("%s has %d global IPv6 addresses, want %d", where, global, want)
		}
		return nil
	}
	if err := check("bridge", bridge); err != nil {
		return err
	}
	return pod.Do(func(ns.NetNS) error { return check("pod", "eth0") })
}

// expectCheckSeesIPv6Damage breaks the IPv6 side in turn and expects CHECK
// to name each break, then repairs it.
func expectCheckSeesIPv6Damage(t *testing.T, c testConf, n *NetConf, check []byte, pod ns.NetNS, r *current.Result) error {
	t.Helper()
	v6 := r.IPs[len(r.IPs)-1]
	reservation := filepath.Join(c.dataDir, c.name, v6.Address.IP.String())
	saved, err := os.ReadFile(reservation)
	if err != nil {
		return err
	}
	steps := []struct {
		breakIt, repair func() error
		want            string
	}{
		{func() error { return os.Remove(reservation) }, func() error { return os.WriteFile(reservation, saved, 0o600) },
			"no IPAM reservation"},
		{func() error {
			return pod.Do(func(ns.NetNS) error {
				l, err := netlinksafe.LinkByName("eth0")
				if err != nil {
					return err
				}
				return netlink.AddrDel(l, &netlink.Addr{IPNet: &v6.Address})
			})
		}, nil, "address"},
		{func() error {
			br, err := netlinksafe.LinkByName(c.bridge)
			if err != nil {
				return err
			}
			return netlink.AddrDel(br, &netlink.Addr{IPNet: gatewayNet(n.families[len(n.families)-1])})
		}, nil, "lacks gateway address fd00:97:0:1::1/64"},
		{func() error {
			r := masqueradeRules(n)[len(masqueradeRules(n))-1]
			ipt, err := ruleTables{}.of(r)
			if err != nil {
				return err
			}
			return ipt.Delete(r.Table, r.Chain, r.Spec...)
		}, nil, "ip6tables rule missing: nat/POSTROUTING -s fd00:97:0:1::/64"},
	}
	for _, st := range steps {
		if err := st.breakIt(); err != nil {
			return err
		}
		_, err := call(cmdCheck, check, pod.Path(), "c1", "eth0")
		if err := wantCode(err, errCheckFailed, st.want); err != nil {
			return err
		}
		if st.repair != nil {
			if err := st.repair(); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestRouteOnlyWhereNone: a pod with an IPv4 default route from another
// plugin gets podnet's IPv6 default route and no second IPv4 one; a second
// interface gets none in either family.
func TestRouteOnlyWhereNone(t *testing.T) {
	c := familyConf(t, `,"ipMasq":false`+familyConfs[2].extra, true)
	pod := podNetNS(t)
	inHostNetNS(t, func() error {
		if err := pod.Do(func(ns.NetNS) error {
			up, err := addUpNonBridge("up0")
			if err != nil {
				return err
			}
			if err := netlink.AddrAdd(up, &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(192, 0, 2, 2), Mask: net.CIDRMask(24, 32)}}); err != nil {
				return err
			}
			return netlink.RouteAdd(&netlink.Route{LinkIndex: up.Attrs().Index, Gw: net.IPv4(192, 0, 2, 1)})
		}); err != nil {
			return err
		}
		n := mustConf(c)
		want := map[string]int{"eth0": 1, "net1": 0}
		for _, ifName := range []string{"eth0", "net1"} {
			printed, err := call(cmdAdd, c.json(), pod.Path(), "c1", ifName)
			if err != nil {
				return err
			}
			r, err := addResult(printed)
			if err != nil {
				return err
			}
			if len(r.Routes) != want[ifName] || (len(r.Routes) == 1 && !r.Routes[0].GW.Equal(n.families[1].pool.Gateway)) {
				return fmt.Errorf("%s: result routes %v, want %d (the IPv6 default)", ifName, r.Routes, want[ifName])
			}
		}
		return pod.Do(func(ns.NetNS) error {
			for _, f := range n.families {
				routes, err := netlinksafe.RouteListFiltered(netlinkFamily(f), &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
				if err != nil {
					return err
				}
				var gws []string
				for _, r := range routes {
					if r.Dst == nil || r.Dst.IP.IsUnspecified() {
						gws = append(gws, r.Gw.String())
					}
				}
				want := map[bool][]string{false: {"192.0.2.1"}, true: {n.families[1].pool.Gateway.String()}}[f.ipv6]
				if !slices.Equal(gws, want) {
					return fmt.Errorf("%s default routes via %v, want %v", f.name(), gws, want)
				}
			}
			return nil
		})
	})
}

// TestDualStackGCAndStatus: GC releases both addresses of a stale
// attachment; STATUS reports a full IPv6 pool; ipMasq needs ip6tables.
func TestDualStackGCAndStatus(t *testing.T) {
	c := familyConf(t, `,"ipMasq":false,"network6":"fd00:97::/56","subnet6":"fd00:97:0:1::/126"`, true)
	pod, third := podNetNS(t), podNetNS(t)
	inHostNetNS(t, func() error {
		for _, id := range []string{"keep", "stale"} {
			if _, err := call(cmdAdd, c.json(), pod.Path(), id, "eth"+id); err != nil {
				return err
			}
		}
		// The /126 holds two pods: full.
		_, err := call(cmdStatus, c.json(), "", "", "")
		if err := wantCode(err, errPluginUnavailable, "fd00:97:0:1::/126"); err != nil {
			return err
		}
		_, err = call(cmdAdd, c.json(), third.Path(), "third", "eth0")
		if err := wantCode(err, errPoolExhausted, "fd00:97:0:1::/126"); err != nil {
			return err
		}
		gc := c
		gc.extra += `,"cni.dev/valid-attachments":[{"containerID":"keep","ifname":"ethkeep"}]`
		if _, err := call(cmdGC, gc.json(), "", "", ""); err != nil {
			return err
		}
		store, err := ipam.Open(c.dataDir, c.name, mustConf(c).pools(), false)
		if err != nil {
			return err
		}
		defer func() { _ = store.Close() }()
		held, err := store.List()
		if err != nil {
			return err
		}
		if len(held) != 2 || held["10.97.1.2"].ContainerID != "keep" || held["fd00:97:0:1::2"].ContainerID != "keep" {
			return fmt.Errorf("after GC the store holds %v, want keep's two addresses", held)
		}
		if _, err := call(cmdStatus, c.json(), "", "", ""); err != nil {
			return fmt.Errorf("STATUS with a free IPv6 address: %w", err)
		}
		// ipMasq on: STATUS needs ip6tables as well as iptables.
		bin := t.TempDir()
		real, err := os.Readlink("/proc/self/exe") // any executable will do
		if err != nil {
			return err
		}
		if err := os.Symlink(real, filepath.Join(bin, "iptables")); err != nil {
			return err
		}
		t.Setenv("PATH", bin)
		masq := c
		masq.extra = `,"network6":"fd00:97::/56","subnet6":"fd00:97:0:1::/64"`
		_, err = call(cmdStatus, masq.json(), "", "", "")
		return wantCode(err, errPluginUnavailable, "ip6tables")
	})
}

// TestIPv6TurnedOnWhereOff: a node or pod netns whose new interfaces start
// with IPv6 disabled (disable_ipv6 in conf/default) still gets working IPv6:
// podnet turns it on for the bridge and the pod interface, and keeps the
// pod's address when the interface goes down and up.
func TestIPv6TurnedOnWhereOff(t *testing.T) {
	c := familyConf(t, `,"ipMasq":false`+familyConfs[1].extra, false)
	pod := podNetNS(t)
	inHostNetNS(t, func() error {
		disable := func() error {
			return os.WriteFile("/proc/sys/net/ipv6/conf/default/disable_ipv6", []byte("1"), 0o644)
		}
		if err := disable(); err != nil {
			return err
		}
		if err := pod.Do(func(ns.NetNS) error { return disable() }); err != nil {
			return err
		}
		if _, err := call(cmdAdd, c.jsonFamilies(), pod.Path(), "c1", "eth0"); err != nil {
			return err
		}
		if err := expectConnect(pod, mustFamilies(c).families[0].pool.Gateway); err != nil {
			return err
		}
		// The IPv6 address survives the pod cycling its interface.
		return pod.Do(func(ns.NetNS) error {
			l, err := netlinksafe.LinkByName("eth0")
			if err != nil {
				return err
			}
			if err := netlink.LinkSetDown(l); err != nil {
				return err
			}
			if err := netlink.LinkSetUp(l); err != nil {
				return err
			}
			addrs, err := netlinksafe.AddrList(l, netlink.FAMILY_V6)
			if err != nil {
				return err
			}
			for _, a := range addrs {
				if a.IP.String() == "fd00:97:0:1::2" {
					return nil
				}
			}
			return fmt.Errorf("after down and up eth0 has %v, not its IPv6 address", addrs)
		})
	})
}

func mustFamilies(c testConf) *NetConf {
	n, _, err := loadNetConf(c.jsonFamilies())
	if err != nil {
		panic(err)
	}
	return n
}

// TestGatewayHealedByNextAdd: every ADD asks the FIB whether the bridge
// holds each family's gateway (hasGateway) instead of adding it again, so
// the question must tell a held gateway from a missing one, and from the
// same address on another interface, covered by a local prefix or without
// the subnet's prefix; a lookup that fails (a blackhole or prohibit route
// over the network) means missing, not a failed ADD; and an ADD after the
// gateway was removed by hand puts it back.
func TestGatewayHealedByNextAdd(t *testing.T) {
	c := familyConf(t, `,"ipMasq":false`+familyConfs[2].extra, true)
	pod1, pod2 := podNetNS(t), podNetNS(t)
	inHostNetNS(t, func() error {
		conf := c.jsonFamilies()
		n, _, err := loadNetConf(conf)
		if err != nil {
			return err
		}
		if _, err := call(cmdAdd, conf, pod1.Path(), "c1", "eth0"); err != nil {
			return err
		}
		br, err := bridgeByName(perRequest, c.bridge)
		if err != nil {
			return err
		}
		otherLink, err := addUpNonBridge("other")
		if err != nil {
			return err
		}
		for _, f := range n.families {
			gw := &netlink.Addr{IPNet: gatewayNet(f), Flags: unix.IFA_F_NODAD}
			bits := 128
			if !f.ipv6 {
				bits = 32
			}
			hostOnly := &netlink.Addr{IPNet: &net.IPNet{IP: f.pool.Gateway, Mask: net.CIDRMask(bits, bits)}, Flags: unix.IFA_F_NODAD}
			covering := &netlink.Route{LinkIndex: br.Index, Dst: f.pool.Subnet, Type: unix.RTN_LOCAL, Table: unix.RT_TABLE_LOCAL, Scope: netlink.SCOPE_HOST}
			ones, _ := f.pool.Subnet.Mask.Size()
			wider := &net.IPNet{IP: f.pool.Subnet.IP.Mask(net.CIDRMask(ones-8, bits)), Mask: net.CIDRMask(ones-8, bits)}
			blackhole := &netlink.Route{Dst: wider, Type: unix.RTN_BLACKHOLE}
			prohibit := &netlink.Route{Dst: wider, Type: unix.RTN_PROHIBIT}
			for _, step := range []struct {
				what string
				act  func() error
				want bool
			}{
				{"after ADD", func() error { return nil }, true},
				{"removed by hand", func() error { return netlink.AddrDel(br, gw) }, false},
				{"on another interface", func() error { return netlink.AddrAdd(otherLink, gw) }, false},
				{"covered by a local route only", func() error {
					// A local route for the whole subnet on the bridge (ip route
					// add local SUBNET dev BRIDGE): the gateway is local, but
					// not the bridge's address.
					if err := netlink.AddrDel(otherLink, gw); err != nil {
						return err
					}
					return netlink.RouteAdd(covering)
				}, false},
				{"with the local route gone", func() error { return netlink.RouteDel(covering) }, false},
				{"with a full-length prefix (no subnet route)", func() error { return netlink.AddrAdd(br, hostOnly) }, false},
				{"missing under a blackhole route (the lookup fails: EINVAL)", func() error {
					if err := netlink.AddrDel(br, hostOnly); err != nil {
						return err
					}
					return netlink.RouteAdd(blackhole)
				}, false},
				{"missing under a prohibit route (EACCES), which stays for the next ADD", func() error {
					if err := netlink.RouteDel(blackhole); err != nil {
						return err
					}
					return netlink.RouteAdd(prohibit)
				}, false},
			} {
				if err := step.act(); err != nil {
					return fmt.Errorf("%s gateway %s: %w", f.name(), step.what, err)
				}
				if got := hasGateway(perRequest, br, f); got != step.want {
					return fmt.Errorf("%s gateway %s: hasGateway = %v, want %v", f.name(), step.what, got, step.want)
				}
			}
		}
		if _, err := call(cmdAdd, conf, pod2.Path(), "c2", "eth0"); err != nil {
			return err
		}
		for _, f := range n.families {
			if !hasGateway(perRequest, br, f) {
				return fmt.Errorf("%s gateway after the next ADD: hasGateway = false, want it back", f.name())
			}
			family := netlink.FAMILY_V4
			if f.ipv6 {
				family = netlink.FAMILY_V6
			}
			addrs, err := netlink.AddrList(br, family)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(addrs, func(a netlink.Addr) bool { return a.IPNet.String() == gatewayNet(f).String() }) {
				return fmt.Errorf("%s: bridge addresses %v lack the gateway %s after the next ADD", f.name(), addrs, gatewayNet(f))
			}
		}
		return nil
	})
}
