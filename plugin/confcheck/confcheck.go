// Package confcheck holds the checks of podnet's settings that podnet (its
// network config) and podnet-agent (its config.json, from which it writes
// podnet's) share, so both accept and refuse the same values with the same
// messages.
package confcheck

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
)

// Limits of the settings.
const (
	MinMTU = 68 // RFC 791: every IPv4 host must accept 68-byte datagrams
	MaxMTU = 65535

	// MaxNameLen bounds the network name: it is a directory name under
	// dataDir and part of an iptables comment (at most 256 bytes).
	MaxNameLen = 128
	// MinNetworkPrefix is the shortest "network" prefix: a wider one turns
	// the FORWARD ACCEPT rules into catch-alls for a large part of the
	// Internet (0.0.0.0/0 accepts everything); /8 is the largest private block.
	MinNetworkPrefix = 8
	// MinNetwork6Prefix is the shortest "network6" prefix, for the same
	// reason: fd00::/8, all locally assigned unique local addresses, is the
	// largest block a cluster can take for itself.
	MinNetwork6Prefix = 8
)

// validName is the CNI spec's rule for network names,
// ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$, written out: a package-level regexp would
// be compiled at every start of podnet (~0.05 ms of its process), whatever
// the command.
func validName(name string) bool {
	for i := range len(name) {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return name != ""
}

// Range is an address range that cannot hold a pod network: traffic to it
// never goes through a bridge and a default route.
type Range struct {
	CIDR *net.IPNet
	What string
}

// UnusableRanges are IPv4's; UnusableRanges6 IPv6's, where ::/8 holds the
// unspecified and loopback addresses and the IPv4-mapped and -compatible
// ranges (and NAT64's 64:ff9b::/96), none of which a pod can be given.
var (
	UnusableRanges = []Range{
		{mustCIDR("0.0.0.0/8"), "the \"this network\" range 0.0.0.0/8"},
		{mustCIDR("127.0.0.0/8"), "the loopback range 127.0.0.0/8"},
		{mustCIDR("169.254.0.0/16"), "the link-local range 169.254.0.0/16"},
		{mustCIDR("224.0.0.0/4"), "the multicast range 224.0.0.0/4"},
		{mustCIDR("240.0.0.0/4"), "the reserved range 240.0.0.0/4 (with the broadcast address)"},
	}
	UnusableRanges6 = []Range{
		{mustCIDR("::/8"), "the reserved range ::/8 (unspecified, loopback ::1, IPv4-mapped ::ffff:0:0/96)"},
		{mustCIDR("fe80::/10"), "the link-local range fe80::/10"},
		{mustCIDR("ff00::/8"), "the multicast range ff00::/8"},
	}
)

func mustCIDR(s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return n
}

// Name checks a network name.
func Name(name string) error {
	switch {
	case len(name) > MaxNameLen:
		return fmt.Errorf("%d characters, at most %d", len(name), MaxNameLen)
	case !validName(name):
		return fmt.Errorf("%q: a letter or digit, then letters, digits, '_', '.' or '-' (CNI spec)", name)
	}
	return nil
}

// MTU checks an MTU.
func MTU(mtu int) error {
	if mtu < MinMTU || mtu > MaxMTU {
		return fmt.Errorf("%d is outside %d-%d", mtu, MinMTU, MaxMTU)
	}
	return nil
}

// CIDR accepts only a network address with its prefix ("10.244.1.0/24",
// not "10.244.1.7/24"), so a typo cannot silently select another subnet, of
// the family asked for. An IPv4 network written in IPv6 form
// ("::ffff:10.244.0.0/112") is neither.
func CIDR(s string, ipv6 bool) (*net.IPNet, error) {
	ip, ipn, err := net.ParseCIDR(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a CIDR", s)
	}
	_, bits := ipn.Mask.Size()
	switch {
	case ipv6 && (bits != 128 || ip.To4() != nil):
		return nil, fmt.Errorf("%q is not IPv6 (the IPv4 side goes in \"network\" and \"subnet\")", s)
	case !ipv6 && (bits != 32 || strings.Contains(s, ":")):
		return nil, fmt.Errorf("%q is not IPv4 (the IPv6 side goes in \"network6\" and \"subnet6\")", s)
	}
	if !ip.Equal(ipn.IP) {
		return nil, fmt.Errorf("%q has host bits set (did you mean %s?)", s, ipn)
	}
	return ipn, nil
}

// Network checks a cluster pod network: not wider than the family's
// minimum prefix, and clear of the ranges that cannot hold pods.
func Network(n *net.IPNet, ipv6 bool) error {
	minPrefix, unusable := MinNetworkPrefix, UnusableRanges
	if ipv6 {
		minPrefix, unusable = MinNetwork6Prefix, UnusableRanges6
	}
	if ones, _ := n.Mask.Size(); ones < minPrefix {
		return fmt.Errorf("%s is wider than /%d: its FORWARD ACCEPT rules would be catch-alls", n, minPrefix)
	}
	for _, r := range unusable {
		if r.CIDR.Contains(n.IP) || n.Contains(r.CIDR.IP) {
			return fmt.Errorf("%s overlaps %s, which cannot hold pods", n, r.What)
		}
	}
	return nil
}

// Path accepts only clean absolute paths, so the path used is the one a
// person reads ("/var/lib/../tmp" is refused, not reinterpreted).
func Path(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q must be an absolute path", p)
	case filepath.Clean(p) != p || p == "/":
		return fmt.Errorf("%q is not a clean path to a file or directory (use %q)", p, filepath.Clean(p))
	case strings.ContainsRune(p, 0):
		return fmt.Errorf("%q contains a NUL byte", p)
	}
	return nil
}

// IfName applies the kernel's rules for interface names.
func IfName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty interface name")
	case len(name) > 15:
		return fmt.Errorf("%q is longer than 15 characters", name)
	case name == "." || name == "..":
		return fmt.Errorf("%q is not a valid interface name", name)
	case strings.ContainsAny(name, "/: \t\n\x00"):
		return fmt.Errorf("%q contains '/', ':' or whitespace", name)
	}
	return nil
}
