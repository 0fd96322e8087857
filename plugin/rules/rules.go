// Package rules holds the node-level state podnet and podnet-agent share, so
// that each shape exists once: the iptables rules of a network (the plugin
// installs them on ADD, the agent keeps them in place, STATUS checks them)
// and the files by which the agent tells the plugin about the node.
package rules

import (
	"net"
	"path/filepath"
	"strings"
)

// Family is one configured address family of a network on this node: the
// cluster's pod network and the node's subnet in it.
type Family struct {
	IPv6    bool
	Network *net.IPNet
	Subnet  *net.IPNet
}

// Rule is one iptables (IPv6 false) or ip6tables (IPv6 true) rule podnet owns.
type Rule struct {
	IPv6         bool
	Table, Chain string
	Spec         []string
}

func (r Rule) String() string { return r.Table + "/" + r.Chain + " " + strings.Join(r.Spec, " ") }

// Command is the binary the rule belongs to.
func (r Rule) Command() string { return Command(r.IPv6) }

// Command is the iptables binary of a family.
func Command(ipv6 bool) string {
	if ipv6 {
		return "ip6tables"
	}
	return "iptables"
}

// Comment is the comment every rule of network name carries; uninstall
// finds the rules by it.
func Comment(name string) string { return "podnet: " + name }

// Chains are the (table, chain) pairs the rules live in.
var Chains = [][2]string{{"filter", "FORWARD"}, {"nat", "POSTROUTING"}}

// Masquerade returns the node-wide rules of network name with bridge, the
// same shapes in each family: forward everything to and from the pod
// network, and masquerade pod traffic that leaves it (except what goes back
// out through the bridge: pod to pod on this node). Traffic between pods of
// different nodes keeps its pod source address.
func Masquerade(name, bridge string, families []Family) []Rule {
	comment := []string{"-m", "comment", "--comment", Comment(name)}
	var rules []Rule
	for _, f := range families {
		network, subnet := f.Network.String(), f.Subnet.String()
		rules = append(rules,
			Rule{f.IPv6, "filter", "FORWARD", join([]string{"-s", network}, comment, []string{"-j", "ACCEPT"})},
			Rule{f.IPv6, "filter", "FORWARD", join([]string{"-d", network}, comment, []string{"-j", "ACCEPT"})},
			Rule{f.IPv6, "nat", "POSTROUTING", join([]string{"-s", subnet, "!", "-d", network, "!", "-o", bridge}, comment, []string{"-j", "MASQUERADE"})},
		)
	}
	return rules
}

func join(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// IsMasquerade reports whether r is the MASQUERADE rule of its family.
func (r Rule) IsMasquerade() bool {
	return len(r.Spec) > 0 && r.Spec[len(r.Spec)-1] == "MASQUERADE"
}

// The agent's state lives in AgentDir under podnet's data directory:
const (
	// ReadyFile exists once the agent has put the node's routes, rules,
	// binaries and conf in place; a conf with "nodeAgent": true makes
	// STATUS fail without it. Uninstall removes it.
	ReadyFile = "ready"
	// DefectFile names the defect a podnet_defects build injects (issue 19);
	// a release build never reads or writes it.
	DefectFile = "defect"
)

// AgentDir is the agent's state directory under podnet's dataDir.
func AgentDir(dataDir string) string { return filepath.Join(dataDir, "agent") }
