// Package kindconfig renders the kind cluster configuration used by the podnet
// e2e suite (ci/e2e.sh, e2e/) from one template: 1 control-plane + N workers,
// no default CNI, pod subnet 10.244.0.0/16 (ipv4), fd00:10:244::/56 (ipv6) or
// both (dual), nodes from the pinned node image.
package kindconfig

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"text/template"
)

// The Kubernetes version is not here: it is the node image's (ci/versions.sh
// pins the one ci/node-image.sh builds; kind's published image declares its
// own), and the suite checks every kubelet against the /kind/version its node
// image declares.

// PodSubnet is the cluster pod network; it equals podnet's "network".
const PodSubnet = "10.244.0.0/16"

// PodSubnet6 is the cluster's IPv6 pod network (podnet's "network6"): a /56,
// of which kube-controller-manager gives each node a /64
// (--node-cidr-mask-size-ipv6 defaults to 64, the widest subnet6 podnet takes).
const PodSubnet6 = "fd00:10:244::/56"

// IP families of a cluster (kind's networking.ipFamily).
const (
	IPv4 = "ipv4"
	IPv6 = "ipv6"
	Dual = "dual"
)

// Families lists the address families a cluster of ipFamily has, IPv4
// first; nil for an unknown ipFamily.
func Families(ipFamily string) []string {
	switch ipFamily {
	case IPv4:
		return []string{IPv4}
	case IPv6:
		return []string{IPv6}
	case Dual:
		return []string{IPv4, IPv6}
	}
	return nil
}

// DefaultWorkers is the worker count when WORKERS is not set.
const DefaultWorkers = 2

//go:embed cluster.yaml.tmpl
var clusterTemplate string

var tmpl = template.Must(template.New("cluster.yaml.tmpl").Option("missingkey=error").Parse(clusterTemplate))

// Options are the knobs of the rendered config.
type Options struct {
	// Name is the kind cluster name (kind's --name overrides it).
	Name string
	// Workers is the number of worker nodes (>= 1).
	Workers int
	// Image is the node image ref; empty leaves kind's default.
	Image string
	// PodSubnet defaults to PodSubnet.
	PodSubnet string
	// IPFamily is ipv4 (the default), ipv6 or dual; PodSubnet6 (default
	// PodSubnet6) is the IPv6 pod subnet of an ipv6 or dual cluster. An ipv6
	// cluster has only PodSubnet6 (PodSubnet is ignored) and kind's default
	// IPv6 Service subnet.
	IPFamily   string
	PodSubnet6 string
}

// Render returns the kind cluster config YAML for o.
func Render(o Options) ([]byte, error) {
	if o.Name == "" {
		return nil, errors.New("kindconfig: empty cluster name")
	}
	if o.Workers < 1 {
		return nil, fmt.Errorf("kindconfig: need at least 1 worker, got %d", o.Workers)
	}
	if o.PodSubnet == "" {
		o.PodSubnet = PodSubnet
	}
	if o.PodSubnet6 == "" {
		o.PodSubnet6 = PodSubnet6
	}
	if o.IPFamily == "" {
		o.IPFamily = IPv4
	}
	if Families(o.IPFamily) == nil {
		return nil, fmt.Errorf("kindconfig: ipFamily %q: want ipv4, ipv6 or dual", o.IPFamily)
	}
	var subnets []string
	for _, f := range Families(o.IPFamily) {
		if f == IPv4 {
			p, err := netip.ParsePrefix(o.PodSubnet)
			if err != nil || !p.Addr().Is4() {
				return nil, fmt.Errorf("kindconfig: pod subnet %q: not an IPv4 prefix", o.PodSubnet)
			}
			subnets = append(subnets, o.PodSubnet)
			continue
		}
		p6, err := netip.ParsePrefix(o.PodSubnet6)
		if err != nil || !p6.Addr().Is6() || p6.Addr().Is4In6() {
			return nil, fmt.Errorf("kindconfig: IPv6 pod subnet %q: not an IPv6 prefix", o.PodSubnet6)
		}
		subnets = append(subnets, o.PodSubnet6)
	}
	// kind's podSubnet: one prefix per family, comma-separated, IPv4 first.
	o.PodSubnet = strings.Join(subnets, ",")
	idx := make([]int, o.Workers)
	for i := range idx {
		idx[i] = i + 1
	}
	var buf bytes.Buffer
	err := tmpl.Execute(&buf, struct {
		Options
		WorkerIndexes []int
	}{o, idx})
	if err != nil {
		return nil, fmt.Errorf("kindconfig: %w", err)
	}
	return buf.Bytes(), nil
}
