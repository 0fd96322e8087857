package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	v1 "k8s.io/api/core/v1"

	"github.com/cnigate/cnigate/deploy"
	"github.com/cnigate/cnigate/plugin/confcheck"
	"github.com/cnigate/cnigate/plugin/ipam"
	"github.com/cnigate/cnigate/plugin/netconf"
)

// ConflistName is the file the agent writes in the CNI conf directory.
const ConflistName = deploy.ConflistName

// ErrNoPodCIDR means the node has no podCIDR of a configured family, so podnet
// has no subnet to hand out. The fix is in the control plane.
var ErrNoPodCIDR = errors.New("the node has no spec.podCIDRs of the configured pod network's families: " +
	"start kube-controller-manager with --allocate-node-cidrs --cluster-cidr=<network> (kubeadm: init --pod-network-cidr=<network>)")

// NodeSubnets returns the node's pod subnets per configured family (from
// spec.podCIDRs, or spec.podCIDR when the list is empty), each checked to
// lie inside its family's network. A podCIDR of an unconfigured family is
// left out (podnet runs single-stack on a dual-stack cluster if told so).
func NodeSubnets(c *Config, node *v1.Node) (map[bool]netip.Prefix, error) {
	cidrs := node.Spec.PodCIDRs
	if len(cidrs) == 0 && node.Spec.PodCIDR != "" {
		cidrs = []string{node.Spec.PodCIDR}
	}
	subnets := map[bool]netip.Prefix{}
	for _, s := range cidrs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("node %s: spec.podCIDRs entry %q is not a CIDR", node.Name, s)
		}
		p = p.Masked()
		ipv6 := p.Addr().Is6() && !p.Addr().Is4In6()
		network := c.networkOf(ipv6)
		if !network.IsValid() {
			continue
		}
		if p.Bits() < network.Bits() || !network.Contains(p.Addr()) {
			field := "network"
			if ipv6 {
				field = "network6"
			}
			return nil, fmt.Errorf("node %s: spec.podCIDRs entry %s is outside the configured %q %s (the cluster CIDR of kube-controller-manager and podnet-config must agree)", node.Name, p, field, network)
		}
		if _, dup := subnets[ipv6]; !dup {
			subnets[ipv6] = p
		}
	}
	if len(subnets) == 0 {
		return nil, fmt.Errorf("node %s: %w", node.Name, ErrNoPodCIDR)
	}
	return subnets, nil
}

// NodeMTU is the node's MTU: the annotation MTUAnnotation, else c.MTU.
func NodeMTU(c *Config, node *v1.Node) (int, error) {
	s, ok := node.Annotations[MTUAnnotation]
	if !ok {
		return c.MTU, nil
	}
	mtu, err := strconv.Atoi(s)
	if err == nil {
		err = confcheck.MTU(mtu)
	}
	if err != nil {
		return 0, fmt.Errorf("node %s: annotation %s=%q is not an MTU: %w", node.Name, MTUAnnotation, s, err)
	}
	return mtu, nil
}

type portmapConf struct {
	Type         string          `json:"type"`
	Capabilities map[string]bool `json:"capabilities"`
}

type conflist struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	Plugins    []any  `json:"plugins"`
}

// RenderConflist returns the node's conflist (podnet, then portmap when
// configured). It is a pure function of c and the node: the same inputs give
// the same bytes, so an unchanged conf is never rewritten.
func RenderConflist(c *Config, node *v1.Node) ([]byte, error) {
	subnets, err := NodeSubnets(c, node)
	if err != nil {
		return nil, err
	}
	mtu, err := NodeMTU(c, node)
	if err != nil {
		return nil, err
	}
	p := netconf.Entry{Type: netconf.Type, Podnet: netconf.Podnet{
		Bridge: c.Bridge, MTU: mtu, IPMasq: &c.IPMasq, HairpinMode: &c.HairpinMode,
		DataDir: c.DataDir, LogFile: c.LogFile, NodeAgent: true,
	}}
	for _, ipv6 := range c.families() {
		sub, ok := subnets[ipv6]
		if !ok {
			continue
		}
		sub = defects.confSubnet(sub)
		// podnet's own check, so a subnet it would refuse never reaches it.
		if _, err := ipam.NewPool(prefixToIPNet(sub)); err != nil {
			return nil, fmt.Errorf("node %s: podCIDR %s: %w", node.Name, sub, err)
		}
		if ipv6 {
			p.Network6, p.Subnet6 = c.network6.String(), sub.String()
		} else {
			p.Network, p.Subnet = c.network.String(), sub.String()
		}
	}
	list := conflist{CNIVersion: c.CNIVersion, Name: c.Name, Plugins: []any{p}}
	if c.Portmap {
		list.Plugins = append(list.Plugins, portmapConf{Type: "portmap", Capabilities: map[string]bool{"portMappings": true}})
	}
	out, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
