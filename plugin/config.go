package main

import (
	"encoding/json"
	"fmt"
	"net"
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
)

// NetConf is podnet's network configuration.
type NetConf struct {
	types.NetConf

	// Network is the whole pod network of the cluster (all nodes' subnets).
	Network string `json:"network"`
	// Subnet is this node's share of Network; its first host is the gateway.
	Subnet  string `json:"subnet"`
	Bridge  string `json:"bridge"`
	MTU     int    `json:"mtu"`
	IPMasq  *bool  `json:"ipMasq"`
	DataDir string `json:"dataDir"`
	LogFile string `json:"logFile"`

	// Attachments is what libcni sends with GC besides the spec's
	// cni.dev/valid-attachments (containernetworking/cni#1101).
	Attachments []types.GCAttachment `json:"cni.dev/attachments,omitempty"`

	network *net.IPNet
	pool    ipam.Pool
}

// masquerade reports whether podnet manages the FORWARD/MASQUERADE rules.
func (n *NetConf) masquerade() bool { return n.IPMasq == nil || *n.IPMasq }

// loadNetConf parses and validates stdin, filling defaults. Every problem is a
// CNI error (code 7, or 6 when the JSON does not decode) naming the field.
func loadNetConf(stdin []byte) (*NetConf, string, error) {
	n := &NetConf{Bridge: defaultBridge, MTU: defaultMTU, DataDir: defaultDataDir}
	if err := json.Unmarshal(stdin, n); err != nil {
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
	// The network name becomes a directory under dataDir.
	if n.Name == "" || n.Name == "." || n.Name == ".." || strings.ContainsAny(n.Name, "/\x00") {
		return invalid("name", "%q cannot be used as a directory name", n.Name)
	}
	if n.IPAM.Type != "" {
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
	if n.DataDir == "" || !strings.HasPrefix(n.DataDir, "/") {
		return invalid("dataDir", "%q must be an absolute path", n.DataDir)
	}
	if n.LogFile != "" && !strings.HasPrefix(n.LogFile, "/") {
		return invalid("logFile", "%q must be an absolute path", n.LogFile)
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
