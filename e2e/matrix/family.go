package matrix

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/cnigate/cnigate/e2e/harness/nodenet"
	kindconfig "github.com/cnigate/cnigate/kind-config"
)

// ipFamily is the address family of one pass of the matrix (kindconfig.IPv4
// or kindconfig.IPv6). The passes run one after another; each hands its
// family to the rows' cell builders and through them to the checks, as an
// argument (as cilium-cli's ForEachIPFamily hands its actions theirs), so
// nothing reads a "family under way" from shared state.
type ipFamily string

// v6 reports whether f is IPv6.
func (f ipFamily) v6() bool { return f == kindconfig.IPv6 }

// pickIP is the address of ips in family f ("" when none is).
func (f ipFamily) pickIP(ips ...string) string {
	for _, ip := range ips {
		if ip != "" && strings.Contains(ip, ":") == f.v6() {
			return ip
		}
	}
	return ""
}

// podIPOf is a pod's address in family f.
func (f ipFamily) podIPOf(p *corev1.Pod) string {
	ips := []string{p.Status.PodIP}
	for _, a := range p.Status.PodIPs {
		ips = append(ips, a.IP)
	}
	return f.pickIP(ips...)
}

// nodeIP is a node's InternalIP in family f.
func (f ipFamily) nodeIP(n nodenet.NodeInfo) string { return f.pickIP(n.InternalIP, n.InternalIP6) }

// nodePodCIDR is a node's podCIDR in family f.
func (f ipFamily) nodePodCIDR(n nodenet.NodeInfo) string { return f.pickIP(n.PodCIDR, n.PodCIDR6) }
