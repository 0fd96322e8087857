// Package kindconfig renders the kind cluster configuration used by the podnet
// e2e suite (ci/e2e.sh, e2e/) from one template: 1 control-plane + N workers,
// no default CNI, pod subnet 10.244.0.0/16, nodes from the pinned node image.
package kindconfig

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"text/template"
)

// The Kubernetes version is not here: it is the node image's (ci/versions.sh
// pins the one ci/node-image.sh builds; kind's published image declares its
// own), and the suite checks every kubelet against the /kind/version its node
// image declares.

// PodSubnet is the cluster pod network; it equals podnet's "network".
const PodSubnet = "10.244.0.0/16"

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
	if _, err := netip.ParsePrefix(o.PodSubnet); err != nil {
		return nil, fmt.Errorf("kindconfig: pod subnet: %w", err)
	}
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
