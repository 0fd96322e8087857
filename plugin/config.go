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

// unusableRanges cannot hold a pod network: traffic to them never goes
// through a bridge and a default route.
var unusableRanges = []struct {
	cidr *net.IPNet
	what string
}{
	{mustCIDR("0.0.0.0/8"), "the \"this network\" range 0.0.0.0/8"},
	{mustCIDR("127.0.0.0/8"), "the loopback range 127.0.0.0/8"},
	{mustCIDR("169.254.0.0/16"), "the link-local range 169.254.0.0/16"},
	{mustCIDR("224.0.0.0/4"), "the multicast range 224.0.0.0/4"},
	{mustCIDR("240.0.0.0/4"), "the reserved range 240.0.0.0/4 (with the broadcast address)"},
}

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

	// Network is the whole pod network of the cluster (all nodes' subnets).
	Network string `json:"network"`
	// Subnet is this node's share of Network; its first host is the gateway.
	Subnet      string `json:"subnet"`
	Bridge      string `json:"bridge"`
	MTU         int    `json:"mtu"`
	IPMasq      *bool  `json:"ipMasq"`
	HairpinMode *bool  `json:"hairpinMode"`
	DataDir     string `json:"dataDir"`
	LogFile     string `json:"logFile"`

	// RawIPAM shadows types.NetConf's IPAM so that an "ipam" section is seen
	// even when it has no "type".
	RawIPAM json.RawMessage `json:"ipam,omitempty"`
	// The GC list, raw so that an absent key (refused) differs from an empty
	// list (release everything). libcni sends cni.dev/attachments besides the
	// spec's cni.dev/valid-attachments (containernetworking/cni#1101).
	RawValidAttachments json.RawMessage `json:"cni.dev/valid-attachments,omitempty"`
	RawAttachments      json.RawMessage `json:"cni.dev/attachments,omitempty"`

	network *net.IPNet
	pool    ipam.Pool
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
	if n.Network == "" {
		return invalid("network", "required (the cluster pod network, e.g. 10.244.0.0/16)")
	}
	if n.Subnet == "" {
		return invalid("subnet", "required (this node's pod subnet, e.g. 10.244.1.0/24)")
	}
	var err error
	if n.network, err = parseIPv4CIDR(n.Network); err != nil {
		return invalid("network", "%v", err)
	}
	if ones, _ := n.network.Mask.Size(); ones < minNetworkPrefix {
		return invalid("network", "%s is wider than /%d: its FORWARD ACCEPT rules would be catch-alls", n.network, minNetworkPrefix)
	}
	for _, r := range unusableRanges {
		if r.cidr.Contains(n.network.IP) || n.network.Contains(r.cidr.IP) {
			return invalid("network", "%s overlaps %s, which cannot hold pods", n.network, r.what)
		}
	}
	subnet, err := parseIPv4CIDR(n.Subnet)
	if err != nil {
		return invalid("subnet", "%v", err)
	}
	netOnes, _ := n.network.Mask.Size()
	subOnes, _ := subnet.Mask.Size()
	if !n.network.Contains(subnet.IP) || subOnes < netOnes {
		return invalid("subnet", "%s is not inside network %s", subnet, n.network)
	}
	if n.pool, err = ipam.NewPool(subnet); err != nil {
		return invalid("subnet", "%v", err)
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

// parseIPv4CIDR accepts only a network address with its prefix ("10.244.1.0/24",
// not "10.244.1.7/24"), so a typo cannot silently select another subnet.
func parseIPv4CIDR(s string) (*net.IPNet, error) {
	ip, ipn, err := net.ParseCIDR(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a CIDR", s)
	}
	if ip.To4() == nil {
		return nil, fmt.Errorf("%q is not IPv4 (podnet is IPv4 only)", s)
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
