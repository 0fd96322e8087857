package cnitest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/coreos/go-iptables/iptables"
	"github.com/vishvananda/netlink"
)

// Snapshot is the observable state a CNI plugin can change: per netns its
// links, addresses, routes (every table), iptables rules (filter, nat,
// mangle, raw) and IPv4 forwarding, and per directory every entry with its
// type, mode, size and content hash. Each fact is one line, so two
// snapshots compare as sets and a difference reads as what changed.
type Snapshot map[string][]string

// iptablesTables are the tables a plugin (or a chained plugin) writes to.
var iptablesTables = []string{"filter", "nat", "mangle", "raw"}

// TakeSnapshot records the state of each named netns and each named
// directory (an absent directory is recorded as absent). It first waits for
// every IPv6 address of a netns to finish duplicate address detection: the
// kernel adds an address's local and anycast routes only then, and those
// must not read as a change made by the call between two snapshots.
func TakeSnapshot(netnses map[string]ns.NetNS, dirs map[string]string) (Snapshot, error) {
	s := Snapshot{}
	for label, netns := range netnses {
		if err := WaitIPv6Settled(netns, 5*time.Second); err != nil {
			return nil, fmt.Errorf("snapshot of netns %s: %w", label, err)
		}
		facts, err := netnsFacts(netns)
		if err != nil {
			return nil, fmt.Errorf("snapshot of netns %s: %w", label, err)
		}
		s[label] = facts
	}
	for label, dir := range dirs {
		facts, err := dirFacts(dir)
		if err != nil {
			return nil, fmt.Errorf("snapshot of %s (%s): %w", label, dir, err)
		}
		s[label] = facts
	}
	return s, nil
}

// Diff lists what changed from s to later, one line per fact: "+ host: ..."
// for a fact that appeared, "- pod: ..." for one that went away. Empty
// means nothing observable changed.
func (s Snapshot) Diff(later Snapshot) []string {
	labels := map[string]bool{}
	for l := range s {
		labels[l] = true
	}
	for l := range later {
		labels[l] = true
	}
	var out []string
	for l := range labels {
		before, after := toSet(s[l]), toSet(later[l])
		for f := range after {
			if !before[f] {
				out = append(out, "+ "+l+": "+f)
			}
		}
		for f := range before {
			if !after[f] {
				out = append(out, "- "+l+": "+f)
			}
		}
	}
	sort.Strings(out)
	return out
}

func toSet(facts []string) map[string]bool {
	set := make(map[string]bool, len(facts))
	for _, f := range facts {
		set[f] = true
	}
	return set
}

func netnsFacts(netns ns.NetNS) ([]string, error) {
	var facts []string
	err := netns.Do(func(ns.NetNS) error {
		links, err := netlinksafe.LinkList()
		if err != nil {
			return err
		}
		names := map[int]string{}
		for _, l := range links {
			names[l.Attrs().Index] = l.Attrs().Name
		}
		for _, l := range links {
			fact, err := linkFact(l, names)
			if err != nil {
				return err
			}
			facts = append(facts, fact)
			addrs, err := netlinksafe.AddrList(l, netlink.FAMILY_ALL)
			if err != nil {
				return fmt.Errorf("addresses of %s: %w", l.Attrs().Name, err)
			}
			for _, a := range addrs {
				if autoconfigured(a.IPNet) {
					continue
				}
				facts = append(facts, fmt.Sprintf("addr %s on %s", a.IPNet, l.Attrs().Name))
			}
		}
		routes, err := netlinksafe.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: 0}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return fmt.Errorf("routes: %w", err)
		}
		for _, r := range routes {
			if autoconfigured(r.Dst) {
				continue
			}
			facts = append(facts, fmt.Sprintf("route table %d dst %v gw %v dev %s scope %d src %v",
				r.Table, r.Dst, r.Gw, names[r.LinkIndex], r.Scope, r.Src))
		}
		rules, err := iptablesFacts()
		if err != nil {
			return err
		}
		facts = append(facts, rules...)
		forward, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
		if err != nil {
			return err
		}
		facts = append(facts, "sysctl net.ipv4.ip_forward="+strings.TrimSpace(string(forward)))
		return nil
	})
	sort.Strings(facts)
	return facts, err
}

// autoconfigured reports IPv6 link-local and multicast prefixes, which the
// kernel adds by itself some time after a link comes up (not the plugin's
// doing, and not deterministic).
func autoconfigured(prefix *net.IPNet) bool {
	return prefix != nil && prefix.IP.To4() == nil && (prefix.IP.IsLinkLocalUnicast() || prefix.IP.IsMulticast())
}

func linkFact(l netlink.Link, names map[int]string) (string, error) {
	a := l.Attrs()
	// Without FlagRunning: carrier comes and goes on its own after a link is set up.
	fact := fmt.Sprintf("link %s type %s mtu %d mac %s flags %s", a.Name, l.Type(), a.MTU, a.HardwareAddr, a.Flags&^net.FlagRunning)
	if a.MasterIndex != 0 {
		fact += " master " + names[a.MasterIndex]
		if _, onBridge := l.(*netlink.Bridge); !onBridge {
			hairpin, err := bridgePortHairpin(l)
			if err != nil {
				return "", err
			}
			fact += fmt.Sprintf(" hairpin %t", hairpin)
		}
	}
	return fact, nil
}

// bridgePortHairpin reads the hairpin flag of a bridge port (false for a
// port of a master that is not a bridge).
func bridgePortHairpin(l netlink.Link) (bool, error) {
	pi, err := netlinksafe.LinkGetProtinfo(l)
	if err != nil {
		return false, fmt.Errorf("bridge port flags of %s: %w", l.Attrs().Name, err)
	}
	return pi.Hairpin, nil
}

// iptablesFacts lists every rule and chain of the IPv4 and the IPv6 tables,
// read with go-iptables in the current netns.
func iptablesFacts() ([]string, error) {
	var facts []string
	for _, tool := range []struct {
		name  string
		proto iptables.Protocol
	}{{"iptables", iptables.ProtocolIPv4}, {"ip6tables", iptables.ProtocolIPv6}} {
		ipt, err := iptables.New(iptables.IPFamily(tool.proto))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tool.name, err)
		}
		for _, table := range iptablesTables {
			chains, err := ipt.ListChains(table)
			if err != nil {
				return nil, fmt.Errorf("%s -t %s: %w", tool.name, table, err)
			}
			for _, chain := range chains {
				rules, err := ipt.List(table, chain)
				if err != nil {
					return nil, fmt.Errorf("%s -t %s -S %s: %w", tool.name, table, chain, err)
				}
				for _, r := range rules {
					facts = append(facts, tool.name+" -t "+table+" "+r)
				}
			}
		}
	}
	return facts, nil
}

// dirFacts describes every entry under dir without following symlinks.
func dirFacts(dir string) ([]string, error) {
	var facts []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == dir {
				facts = append(facts, "absent")
				return nil
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		fact := fmt.Sprintf("%s %s", rel, info.Mode())
		switch {
		case info.Mode().IsRegular():
			sum, err := fileHash(path)
			if err != nil {
				return err
			}
			fact += fmt.Sprintf(" size %d sha256 %s", info.Size(), sum)
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			fact += " -> " + target
		}
		facts = append(facts, fact)
		return nil
	})
	sort.Strings(facts)
	return facts, err
}

func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
