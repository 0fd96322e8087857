package cni

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster/nodes"

	"github.com/cnigate/cnigate/e2e/cluster"
)

// The names of the CNIs of the table (CNIs) that code names directly.
const (
	NamePodnet = "podnet"
	NameBridge = "bridge"
)

// Install is how the harness puts a CNI on the kind nodes.
type Install string

const (
	// InstallManifest is its image and manifest (deploy/), the way users
	// deploy it; its node agent writes the conflists and routes.
	InstallManifest Install = "manifest"
	// InstallConflist is by hand, the tutorial's way: the binaries the node
	// lacks (the pinned reference plugins), the conflist, masquerade and
	// routes between the pod subnets.
	InstallConflist Install = "conflist"
)

// CIRun is one `make e2e` run of a CNI in CI.
type CIRun struct {
	Family string // IP_FAMILY
	// Local: .ci/run runs it too. GitHub runs every run on a runner of its
	// own; .ci/run runs them one after another on one machine within its
	// 45 minutes, so it leaves out the runs another one already covers.
	Local bool
	// LocalVars: more make variables for .ci/run (its time budget).
	LocalVars []string
	// K8sConformance: the GitHub run adds the upstream Kubernetes conformance
	// stage (K8S_CONFORMANCE=1, e2e/k8sconformance); .ci/run adds it where
	// LocalVars say so (its budget).
	K8sConformance bool
}

// CNI is one CNI the e2e can install: the one table (CNIs) the matrix's
// validation and cells, the cluster bench, ci/e2e.sh, .ci/run and the GitHub
// workflow follow (the scripts read it from `cnigate cnis`). Adding a CNI is
// adding an entry.
type CNI struct {
	Name    string
	Summary string // one line, for help and listings
	// Plugins are the binaries its conflist needs in BinDir besides
	// loopback (always) and portmap (chained unless broken on purpose); the
	// first is the conflist's main plugin type, which the matrix reads back
	// from the nodes' configuration to tell which CNI runs.
	Plugins []string
	Install Install
	// StoreDir is where its IPAM keeps the reservations on a node, one file
	// per IP (the cluster bench counts them).
	StoreDir string
	// Agent: podnet's node agent runs (the healing cells, -e2e.break
	// agent-routes, an agent image to install it).
	Agent bool
	// PodnetCells: the podnet-only cells apply (they read podnet's IPAM
	// store and its records).
	PodnetCells bool
	// CI is the `make e2e` runs of it in CI (.ci/run and the GitHub workflow).
	CI []CIRun
	// main renders the conflist's main plugin entry for a node.
	main func(nn NodeNet) map[string]any
}

// Type is the main plugin's type, the first of the conflist ("" for the zero
// CNI).
func (c CNI) Type() string {
	if len(c.Plugins) == 0 {
		return ""
	}
	return c.Plugins[0]
}

// CNIs is the table, the default (podnet) first.
var CNIs = []CNI{
	{
		Name: NamePodnet, Summary: "podnet (then portmap), from its image and manifest",
		Plugins: []string{"podnet"}, Install: InstallManifest, StoreDir: path.Join(DataDir, NetworkName),
		Agent: true, PodnetCells: true,
		CI: []CIRun{
			// the upstream conformance stage: about 6 min on the 2-core VM, within .ci/run's budget
			// in this run only (docs/measurements/2026-12-07-k8s-conformance.md)
			{Family: "ipv4", Local: true, K8sConformance: true, LocalVars: []string{"K8S_CONFORMANCE=1"}},
			// the agent's 20 kills ran in the IPv4 run; 5 each keep .ci/run's budget (docs/e2e.md)
			{Family: "dual", Local: true, LocalVars: []string{"E2E_AGENT_KILLS=5"}, K8sConformance: true},
			{Family: "ipv6", Local: true, LocalVars: []string{"E2E_AGENT_KILLS=5"}},
		},
		main: func(nn NodeNet) map[string]any {
			m := map[string]any{
				"type": "podnet", "bridge": Bridge,
				"mtu": nn.MTU, "ipMasq": true, "dataDir": DataDir, "logFile": "/var/log/podnet.log",
			}
			if nn.PodCIDR != "" {
				m["network"], m["subnet"] = nn.Network, nn.PodCIDR
			}
			if nn.PodCIDR6 != "" {
				m["network6"], m["subnet6"] = nn.Network6, nn.PodCIDR6
			}
			return m
		},
	},
	{
		Name: NameBridge, Summary: "the upstream reference bridge + host-local (then portmap), hairpin on, by hand",
		// host-local keeps its reservations under the network name, "bridge"
		Plugins: []string{"bridge", "host-local"}, Install: InstallConflist, StoreDir: "/var/lib/cni/networks/" + NameBridge,
		CI: []CIRun{
			// .ci/run: only dual, whose IPv4 and IPv6 passes are the ipv4 run's and
			// most of the ipv6 run's (two host-local ranges, masquerade and
			// Services per family)
			{Family: "ipv4", K8sConformance: true},
			{Family: "ipv6"},
			{Family: "dual", Local: true, K8sConformance: true},
		},
		main: func(nn NodeNet) map[string]any {
			var ranges [][]map[string]string
			var routes []map[string]string
			if nn.PodCIDR != "" {
				ranges = append(ranges, []map[string]string{{"subnet": nn.PodCIDR}})
				routes = append(routes, map[string]string{"dst": "0.0.0.0/0"})
			}
			if nn.PodCIDR6 != "" {
				ranges = append(ranges, []map[string]string{{"subnet": nn.PodCIDR6}})
				routes = append(routes, map[string]string{"dst": "::/0"})
			}
			return map[string]any{
				"type": "bridge", "bridge": Bridge, "isGateway": true, "ipMasq": false, "hairpinMode": true, "mtu": nn.MTU,
				"ipam": map[string]any{"type": "host-local", "ranges": ranges, "routes": routes},
			}
		},
	},
}

// Names are the table's names, in order.
func Names() []string {
	names := make([]string, len(CNIs))
	for i, c := range CNIs {
		names[i] = c.Name
	}
	return names
}

// Lookup returns the table's CNI of that name, or an error naming the ones
// there are.
func Lookup(name string) (CNI, error) {
	for _, c := range CNIs {
		if c.Name == name {
			return c, nil
		}
	}
	return CNI{}, fmt.Errorf("unknown CNI %q (want one of %s)", name, strings.Join(Names(), ", "))
}

// OfType returns the table's CNI whose main plugin is of that type (what a
// node's configuration says), false when none.
func OfType(pluginType string) (CNI, bool) {
	for _, c := range CNIs {
		if c.Type() == pluginType {
			return c, true
		}
	}
	return CNI{}, false
}

// Install locations and podnet's defaults.
const (
	BinDir      = "/opt/cni/bin"
	ConfDir     = "/etc/cni/net.d"
	NetworkName = "podnet" // podnet's network name (its IPAM directory under DataDir)
	DataDir     = "/var/lib/cni/podnet"
	Bridge      = "cni0" // the bridge of both CNIs
	DefaultMTU  = 1500
)

// NodeNet is what one node's conflist says.
type NodeNet struct {
	CNI string // a name of CNIs
	// Network and PodCIDR are the IPv4 side: the cluster's pod network and
	// this node's share (both or neither; neither on an IPv6-only cluster).
	Network string
	PodCIDR string
	// Network6 and PodCIDR6 are the IPv6 side of an IPv6-only or dual-stack
	// cluster (both or neither): podnet's network6/subnet6, host-local's
	// IPv6 range.
	Network6 string
	PodCIDR6 string
	MTU      int
	// Portmap chains portmap (capabilities.portMappings) after the main
	// plugin; off only to prove the hostPort cells catch its absence.
	Portmap bool
}

// ConfPath is where the node's conflist goes.
func (nn NodeNet) ConfPath() string {
	return filepath.Join(ConfDir, "10-"+nn.CNI+".conflist")
}

// Plugins returns the binaries the conflist needs in BinDir (loopback
// included: the runtime runs it for lo).
func (nn NodeNet) Plugins() []string {
	p := []string{"loopback"}
	if c, err := Lookup(nn.CNI); err == nil {
		p = append(p, c.Plugins...)
	}
	if nn.Portmap {
		p = append(p, "portmap")
	}
	return p
}

// Conflist renders the node's network configuration list (cniVersion 1.0.0):
// the CNI's main entry (the table's), then portmap. podnet's entry keeps to
// the fields podnet has always had, network/subnet and network6/subnet6 per
// family the node has; the bridge entry is the reference setup with a
// host-local range and a default route per family, hairpin on and
// masquerading left to the node (BridgeMasquerade), since bridge's own ipMasq
// would also masquerade pod traffic to other nodes' pods.
func (nn NodeNet) Conflist() ([]byte, error) {
	if nn.MTU == 0 {
		nn.MTU = DefaultMTU
	}
	if (nn.Network == "") != (nn.PodCIDR == "") || (nn.Network6 == "") != (nn.PodCIDR6 == "") {
		return nil, fmt.Errorf("node network: a family needs both its network and its podCIDR (IPv4 %q %q, IPv6 %q %q)", nn.Network, nn.PodCIDR, nn.Network6, nn.PodCIDR6)
	}
	if nn.PodCIDR == "" && nn.PodCIDR6 == "" {
		return nil, fmt.Errorf("node network: no podCIDR in either family")
	}
	c, err := Lookup(nn.CNI)
	if err != nil {
		return nil, err
	}
	main := c.main(nn)
	plugins := []any{main}
	if nn.Portmap {
		plugins = append(plugins, map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}})
	}
	raw, err := json.MarshalIndent(map[string]any{"cniVersion": "1.0.0", "name": nn.CNI, "plugins": plugins}, "", "  ")
	return append(raw, '\n'), err
}

// InstallCNI installs a CNI on a kind node: the podnet binary (for podnet),
// the reference plugins the conflist needs from refDir (built from the
// plugins module go.mod pins, so the reference is the pinned one whatever
// the node image ships; kind's published image has other versions and no
// bridge), then the conflist. Without refDir the node image's own reference
// plugins are used. It returns the plugins it copied.
func InstallCNI(ctx context.Context, n nodes.Node, nn NodeNet, podnetBinary, refDir string) ([]string, error) {
	raw, err := nn.Conflist()
	if err != nil {
		return nil, err
	}
	var copied []string
	for _, p := range nn.Plugins() {
		src := filepath.Join(refDir, p)
		switch {
		case p == "podnet":
			src = podnetBinary
		case refDir != "":
		case n.CommandContext(ctx, "test", "-x", filepath.Join(BinDir, p)).Run() == nil:
			continue // no pinned build given: the node image's own
		default:
			return copied, fmt.Errorf("node %s has no %s/%s and no reference plugin directory was given", n.String(), BinDir, p)
		}
		bin, err := os.ReadFile(src)
		if err != nil {
			return copied, err
		}
		if err := cluster.WriteNodeFile(ctx, n, filepath.Join(BinDir, p), 0o755, bytes.NewReader(bin)); err != nil {
			return copied, err
		}
		copied = append(copied, p)
	}
	return copied, cluster.WriteNodeFile(ctx, n, nn.ConfPath(), 0o644, bytes.NewReader(raw))
}

// NetConfDirMount is where the hostNetwork helper pods mount the node's
// ConfDir (read-only), to tell which CNI a gate cluster runs.
const NetConfDirMount = "/cni-net.d"

// FirstNetConfCommand prints "@@ <file>" and the content of the network
// configuration a runtime (libcni) uses: the first *.conf, *.conflist or
// *.json of dir in lexical order. Nothing when there is none.
func FirstNetConfCommand(dir string) []string {
	return []string{"sh", "-c", `cd "$1" 2>/dev/null || exit 0; for f in $(ls | sort); do case $f in *.conf|*.conflist|*.json) echo "@@ $f"; cat "$f"; exit 0;; esac; done`, "sh", dir}
}

// ParseFirstNetConf returns the file name and the type of the first plugin of
// FirstNetConfCommand's output (a conflist's plugins[0], or a single conf).
func ParseFirstNetConf(out string) (file, pluginType string, err error) {
	head, body, _ := strings.Cut(strings.TrimLeft(out, "\n"), "\n")
	if !strings.HasPrefix(head, "@@ ") {
		return "", "", fmt.Errorf("no CNI network configuration in %s", ConfDir)
	}
	file = strings.TrimPrefix(head, "@@ ")
	var conf struct {
		Type    string `json:"type"`
		Plugins []struct {
			Type string `json:"type"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(body), &conf); err != nil {
		return file, "", fmt.Errorf("%s: %w", file, err)
	}
	switch {
	case len(conf.Plugins) > 0:
		return file, conf.Plugins[0].Type, nil
	case conf.Type != "":
		return file, conf.Type, nil
	}
	return file, "", fmt.Errorf("%s: no plugin type", file)
}

// CILocalRuns are .ci/run's `make e2e` runs (`cnigate cnis --ci local`):
// one line of make variables each.
func CILocalRuns() []string {
	var runs []string
	for _, c := range CNIs {
		for _, r := range c.CI {
			if r.Local {
				runs = append(runs, strings.Join(append([]string{"CNI=" + c.Name, "IP_FAMILY=" + r.Family}, r.LocalVars...), " "))
			}
		}
	}
	return runs
}

// CIGitHubMatrix is the GitHub workflow's e2e job matrix (`cnigate cnis --ci
// github`): every run of the table, {"include": [{"cni", "family"[,
// "k8s_conformance": "1"]}, ...]}.
func CIGitHubMatrix() ([]byte, error) {
	type run struct {
		CNI            string `json:"cni"`
		Family         string `json:"family"`
		K8sConformance string `json:"k8s_conformance,omitempty"` // make e2e K8S_CONFORMANCE=
	}
	var m struct {
		Include []run `json:"include"`
	}
	for _, c := range CNIs {
		for _, r := range c.CI {
			k := ""
			if r.K8sConformance {
				k = "1"
			}
			m.Include = append(m.Include, run{c.Name, r.Family, k})
		}
	}
	return json.Marshal(m)
}
