package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/cnigate/cnigate/plugin/ipam"
)

// Defaults for the optional fields. They reproduce the bash-cni tutorial's
// node setup, so its config only needs "type" changed.
const (
	defaultBridge  = "cni0"
	defaultMTU     = 1500
	defaultDataDir = "/var/lib/cni/podnet"
	minMTU         = 68 // RFC 791: every IPv4 host must accept 68-byte datagrams
	maxMTU         = 65535

	// maxNameLen bounds the network name: it is a directory name under
	// dataDir and part of an iptables comment (at most 256 bytes).
	maxNameLen = 128
	// minNetworkPrefix is the shortest "network" prefix: a wider one turns
	// the FORWARD ACCEPT rules into catch-alls for a large part of the
	// Internet (0.0.0.0/0 accepts everything); /8 is the largest private block.
	minNetworkPrefix = 8
)

// networkNameRE is the CNI spec's rule for network names.
var networkNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`)

// unusableRange cannot hold a pod network: traffic to it never goes through
// a bridge and a default route.
type unusableRange struct {
	cidr *net.IPNet
	what string
}

var unusableRanges = []unusableRange{
	{mustCIDR("0.0.0.0/8"), "the \"this network\" range 0.0.0.0/8"},
	{mustCIDR("127.0.0.0/8"), "the loopback range 127.0.0.0/8"},
	{mustCIDR("169.254.0.0/16"), "the link-local range 169.254.0.0/16"},
	{mustCIDR("224.0.0.0/4"), "the multicast range 224.0.0.0/4"},
	{mustCIDR("240.0.0.0/4"), "the reserved range 240.0.0.0/4 (with the broadcast address)"},
}

// unusableRanges6 are IPv6's: ::/8 holds the unspecified and loopback
// addresses and the IPv4-mapped and -compatible ranges (and NAT64's
// 64:ff9b::/96), none of which a pod can be given.
var unusableRanges6 = []unusableRange{
	{mustCIDR("::/8"), "the reserved range ::/8 (unspecified, loopback ::1, IPv4-mapped ::ffff:0:0/96)"},
	{mustCIDR("fe80::/10"), "the link-local range fe80::/10"},
	{mustCIDR("ff00::/8"), "the multicast range ff00::/8"},
}

// minNetwork6Prefix is the shortest "network6" prefix, for the reason of
// minNetworkPrefix: fd00::/8, all locally assigned unique local addresses, is
// the largest block a cluster can take for itself.
const minNetwork6Prefix = 8

func mustCIDR(s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return n
}

// NetConf is podnet's network configuration.
type NetConf struct {
	types.NetConf

	// Network is the whole IPv4 pod network of the cluster (all nodes'
	// subnets), Network6 the IPv6 one; at least one family is configured.
	Network string `json:"network"`
	// Subnet is this node's share of Network; its first host is the gateway.
	Subnet string `json:"subnet"`
	// Network6 and Subnet6 are the IPv6 counterparts of Network and Subnet.
	Network6    string `json:"network6"`
	Subnet6     string `json:"subnet6"`
	Bridge      string `json:"bridge"`
	MTU         int    `json:"mtu"`
	IPMasq      *bool  `json:"ipMasq"`
	HairpinMode *bool  `json:"hairpinMode"`
	DataDir     string `json:"dataDir"`
	LogFile     string `json:"logFile"`
	// NodeAgent says podnet-agent owns this node's routes and rules: STATUS
	// then also requires the agent's ready stamp and (with ipMasq) the rules.
	NodeAgent bool `json:"nodeAgent"`

	// RawIPAM shadows types.NetConf's IPAM so that an "ipam" section is seen
	// even when it has no "type".
	RawIPAM json.RawMessage `json:"ipam,omitempty"`
	// The GC list, raw so that an absent key (refused) differs from an empty
	// list (release everything). libcni sends cni.dev/attachments besides the
	// spec's cni.dev/valid-attachments (containernetworking/cni#1101).
	RawValidAttachments json.RawMessage `json:"cni.dev/valid-attachments,omitempty"`
	RawAttachments      json.RawMessage `json:"cni.dev/attachments,omitempty"`

	// families are the configured address families, IPv4 first.
	families []family
}

// family is one configured address family: the cluster's pod network and
// this node's pool (subnet, gateway) in it.
type family struct {
	ipv6    bool
	network *net.IPNet
	pool    ipam.Pool
}

// name is the family as iptables and messages call it.
func (f family) name() string {
	if f.ipv6 {
		return "IPv6"
	}
	return "IPv4"
}

// pools returns the pools of n's families, in the order the store hands
// addresses out.
func (n *NetConf) pools() []ipam.Pool {
	pools := make([]ipam.Pool, len(n.families))
	for i, f := range n.families {
		pools[i] = f.pool
	}
	return pools
}

// masquerade reports whether podnet manages the FORWARD/MASQUERADE rules.
func (n *NetConf) masquerade() bool { return n.IPMasq == nil || *n.IPMasq }

// hairpin reports whether the host veth's bridge port is in hairpin mode.
func (n *NetConf) hairpin() bool { return n.HairpinMode == nil || *n.HairpinMode }

// gcKeep returns the attachments GC must keep: the union of both lists.
// Neither key present is an error: GC would otherwise release everything.
func (n *NetConf) gcKeep() (map[ipam.Attachment]bool, error) {
	if len(n.RawValidAttachments) == 0 && len(n.RawAttachments) == 0 {
		return nil, invalid("cni.dev/valid-attachments", "missing: GC without the list of valid attachments would release every address (send [] to release all)")
	}
	keep := map[ipam.Attachment]bool{}
	for field, raw := range map[string]json.RawMessage{"cni.dev/valid-attachments": n.RawValidAttachments, "cni.dev/attachments": n.RawAttachments} {
		if len(raw) == 0 {
			continue
		}
		var list []types.GCAttachment
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, invalid(field, "not a list of attachments: %v", err)
		}
		for _, v := range list {
			keep[ipam.Attachment{ContainerID: v.ContainerID, IfName: v.IfName}] = true
		}
	}
	return keep, nil
}

// loadNetConf parses and validates stdin, filling defaults. Every problem is a
// CNI error (code 7, or 6 when the JSON does not decode) naming the field.
func loadNetConf(stdin []byte) (*NetConf, string, error) {
	n := &NetConf{Bridge: defaultBridge, MTU: defaultMTU, DataDir: defaultDataDir}
	if err := checkKeys(stdin); err != nil {
		return nil, "", err
	}
	if err := json.Unmarshal(stdin, n); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return nil, "", invalid(typeErr.Field, "a JSON %s cannot be a %s", typeErr.Value, typeErr.Type)
		}
		return nil, "", types.NewError(types.ErrDecodingFailure, "failed to parse network configuration", err.Error())
	}
	if err := n.validate(); err != nil {
		return nil, "", err
	}
	if n.RawPrevResult != nil {
		if err := version.ParsePrevResult(&n.NetConf); err != nil {
			return nil, "", types.NewError(types.ErrDecodingFailure, "failed to parse prevResult", err.Error())
		}
	}
	return n, n.CNIVersion, nil
}

func invalid(field, format string, args ...any) *types.Error {
	return types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf("invalid %q: %s", field, fmt.Sprintf(format, args...)), "")
}

func (n *NetConf) validate() error {
	// The network name becomes a directory under dataDir and part of the
	// iptables comments and the host veth names.
	switch {
	case len(n.Name) > maxNameLen:
		return invalid("name", "%d characters, at most %d", len(n.Name), maxNameLen)
	case !networkNameRE.MatchString(n.Name):
		return invalid("name", "%q: a letter or digit, then letters, digits, '_', '.' or '-' (CNI spec)", n.Name)
	}
	if len(n.RawIPAM) > 0 {
		return types.NewError(types.ErrUnsupportedField, `unsupported field "ipam": podnet has its own IPAM, configure "subnet" instead`, "")
	}
	n.families = nil
	if n.Network != "" || n.Subnet != "" || (n.Network6 == "" && n.Subnet6 == "") {
		f, err := parseFamily(n.Network, n.Subnet, false)
		if err != nil {
			return err
		}
		n.families = append(n.families, f)
	}
	if n.Network6 != "" || n.Subnet6 != "" {
		f, err := parseFamily(n.Network6, n.Subnet6, true)
		if err != nil {
			return err
		}
		n.families = append(n.families, f)
	}
	if n.MTU < minMTU || n.MTU > maxMTU {
		return invalid("mtu", "%d is outside %d-%d", n.MTU, minMTU, maxMTU)
	}
	if err := validateIfName(n.Bridge); err != nil {
		return invalid("bridge", "%v", err)
	}
	if err := validatePath(n.DataDir); err != nil {
		return invalid("dataDir", "%v", err)
	}
	if n.LogFile != "" {
		if err := validatePath(n.LogFile); err != nil {
			return invalid("logFile", "%v", err)
		}
	}
	return nil
}

// parseFamily validates one family's network and subnet ("network" and
// "subnet", or "network6" and "subnet6").
func parseFamily(network, subnet string, ipv6 bool) (family, error) {
	netField, subField, minPrefix, unusable := "network", "subnet", minNetworkPrefix, unusableRanges
	netExample, subExample := "10.244.0.0/16", "10.244.1.0/24"
	if ipv6 {
		netField, subField, minPrefix, unusable = "network6", "subnet6", minNetwork6Prefix, unusableRanges6
		netExample, subExample = "fd00:10:244::/56", "fd00:10:244:1::/64"
	}
	f := family{ipv6: ipv6}
	switch {
	case network == "" && subnet == "":
		return f, invalid(netField, `required: "network" and "subnet" for IPv4, "network6" and "subnet6" for IPv6, or all four for dual-stack`)
	case network == "":
		return f, invalid(netField, "required with %q (the cluster pod network, e.g. %s)", subField, netExample)
	case subnet == "":
		return f, invalid(subField, "required with %q (this node's pod subnet, e.g. %s)", netField, subExample)
	}
	var err error
	if f.network, err = parseCIDR(network, ipv6); err != nil {
		return f, invalid(netField, "%v", err)
	}
	if ones, _ := f.network.Mask.Size(); ones < minPrefix {
		return f, invalid(netField, "%s is wider than /%d: its FORWARD ACCEPT rules would be catch-alls", f.network, minPrefix)
	}
	for _, r := range unusable {
		if r.cidr.Contains(f.network.IP) || f.network.Contains(r.cidr.IP) {
			return f, invalid(netField, "%s overlaps %s, which cannot hold pods", f.network, r.what)
		}
	}
	sub, err := parseCIDR(subnet, ipv6)
	if err != nil {
		return f, invalid(subField, "%v", err)
	}
	netOnes, _ := f.network.Mask.Size()
	subOnes, _ := sub.Mask.Size()
	if !f.network.Contains(sub.IP) || subOnes < netOnes {
		return f, invalid(subField, "%s is not inside %s %s", sub, netField, f.network)
	}
	if f.pool, err = ipam.NewPool(sub); err != nil {
		return f, invalid(subField, "%v", err)
	}
	return f, nil
}

// validatePath accepts only clean absolute paths, so the path podnet uses is
// the one a person reads ("/var/lib/../tmp" is refused, not reinterpreted).
func validatePath(p string) error {
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

// knownKeys are the exact JSON names of NetConf's fields.
var knownKeys = func() map[string]bool {
	keys := map[string]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
				keys[name] = true
			}
		}
	}
	walk(reflect.TypeFor[NetConf]())
	return keys
}()

// checkKeys refuses what encoding/json would silently reinterpret, so that
// what podnet uses is what a person reading the config sees: a key given
// twice (the last would win) and a key that differs from a field name only
// in case ("Subnet" would set "subnet").
func checkKeys(stdin []byte) error {
	dec := json.NewDecoder(bytes.NewReader(stdin))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return types.NewError(types.ErrDecodingFailure, "failed to parse network configuration", "not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return types.NewError(types.ErrDecodingFailure, "failed to parse network configuration", err.Error())
		}
		key, _ := tok.(string)
		if seen[key] {
			return invalid(key, "given twice")
		}
		seen[key] = true
		if !knownKeys[key] {
			for known := range knownKeys {
				if strings.EqualFold(key, known) {
					return invalid(key, "field names are case-sensitive: did you mean %q?", known)
				}
			}
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return types.NewError(types.ErrDecodingFailure, "failed to parse network configuration", err.Error())
		}
	}
	return nil
}

// parseCIDR accepts only a network address with its prefix ("10.244.1.0/24",
// not "10.244.1.7/24"), so a typo cannot silently select another subnet, of
// the family asked for. An IPv4 network written in IPv6 form
// ("::ffff:10.244.0.0/112") is neither.
func parseCIDR(s string, ipv6 bool) (*net.IPNet, error) {
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

// validateIfName applies the kernel's rules for interface names.
func validateIfName(name string) error {
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
