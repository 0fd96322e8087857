package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/cnigate/cnigate/plugin/confcheck"
	"github.com/cnigate/cnigate/plugin/ipam"
	"github.com/cnigate/cnigate/plugin/netconf"
)

// NetConf is podnet's network configuration: the CNI's common keys, podnet's
// own (netconf.Podnet, the wire struct the agent writes too) and the keys
// podnet reads raw.
type NetConf struct {
	types.NetConf
	netconf.Podnet

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
		list, err := parseGCList(field, raw)
		if err != nil {
			return nil, err
		}
		for _, a := range list {
			keep[a] = true
		}
	}
	return keep, nil
}

// loadNetConf parses and validates stdin, filling defaults. Every problem is a
// CNI error (code 7, or 6 when the JSON does not decode) naming the field.
func loadNetConf(stdin []byte) (*NetConf, string, error) {
	n := &NetConf{Podnet: netconf.Podnet{Bridge: netconf.DefaultBridge, MTU: netconf.DefaultMTU, DataDir: netconf.DefaultDataDir}}
	if err := checkKeys(stdin); err != nil {
		return nil, "", err
	}
	if err := json.Unmarshal(stdin, n); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			// encoding/json names a field of an embedded struct by the
			// struct's Go name first ("Podnet.mtu"); the key is the rest.
			field := strings.TrimPrefix(strings.TrimPrefix(typeErr.Field, "NetConf."), "Podnet.")
			return nil, "", invalid(field, "a JSON %s cannot be a %s", typeErr.Value, typeErr.Type)
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
	if err := confcheck.Name(n.Name); err != nil {
		return invalid("name", "%v", err)
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
	if err := confcheck.MTU(n.MTU); err != nil {
		return invalid("mtu", "%v", err)
	}
	if err := confcheck.IfName(n.Bridge); err != nil {
		return invalid("bridge", "%v", err)
	}
	if err := confcheck.Path(n.DataDir); err != nil {
		return invalid("dataDir", "%v", err)
	}
	if n.LogFile != "" {
		if err := confcheck.Path(n.LogFile); err != nil {
			return invalid("logFile", "%v", err)
		}
	}
	return nil
}

// parseFamily validates one family's network and subnet ("network" and
// "subnet", or "network6" and "subnet6").
func parseFamily(network, subnet string, ipv6 bool) (family, error) {
	netField, subField := "network", "subnet"
	netExample, subExample := "10.244.0.0/16", "10.244.1.0/24"
	if ipv6 {
		netField, subField = "network6", "subnet6"
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
	if f.network, err = confcheck.CIDR(network, ipv6); err != nil {
		return f, invalid(netField, "%v", err)
	}
	if err := confcheck.Network(f.network, ipv6); err != nil {
		return f, invalid(netField, "%v", err)
	}
	sub, err := confcheck.CIDR(subnet, ipv6)
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
