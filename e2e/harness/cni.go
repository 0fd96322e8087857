package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
)

// The CNIs the harness can install on kind nodes (make e2e CNI=...).
const (
	// CNIPodnet: podnet, then portmap.
	CNIPodnet = "podnet"
	// CNIBridge: the upstream reference bridge + host-local, then portmap.
	CNIBridge = "bridge"
)

// Install locations and podnet's defaults.
const (
	CNIBinDir   = "/opt/cni/bin"
	CNIConfDir  = "/etc/cni/net.d"
	NetworkName = "podnet" // podnet's network name (its IPAM directory under DataDir)
	DataDir     = "/var/lib/cni/podnet"
	Bridge      = "cni0" // the bridge of both CNIs
	DefaultMTU  = 1500
)

// NodeNet is what one node's conflist says.
type NodeNet struct {
	CNI string // CNIPodnet or CNIBridge
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
	return filepath.Join(CNIConfDir, "10-"+nn.CNI+".conflist")
}

// Plugins returns the binaries the conflist needs in CNIBinDir (loopback
// included: the runtime runs it for lo).
func (nn NodeNet) Plugins() []string {
	p := []string{"loopback"}
	switch nn.CNI {
	case CNIPodnet:
		p = append(p, "podnet")
	case CNIBridge:
		p = append(p, "bridge", "host-local")
	}
	if nn.Portmap {
		p = append(p, "portmap")
	}
	return p
}

// Conflist renders the node's network configuration list (cniVersion 1.0.0).
// podnet's entry keeps to the fields podnet has always had, network/subnet
// and network6/subnet6 per family the node has; the bridge entry has a
// host-local range and a default route per family; the bridge entry
// is the reference setup with hairpin on and masquerading left to the node
// (BridgeMasquerade), since bridge's own ipMasq would also masquerade pod
// traffic to other nodes' pods.
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
	var main map[string]any
	switch nn.CNI {
	case CNIPodnet:
		main = map[string]any{
			"type": "podnet", "bridge": Bridge,
			"mtu": nn.MTU, "ipMasq": true, "dataDir": DataDir, "logFile": "/var/log/podnet.log",
		}
		if nn.PodCIDR != "" {
			main["network"], main["subnet"] = nn.Network, nn.PodCIDR
		}
		if nn.PodCIDR6 != "" {
			main["network6"], main["subnet6"] = nn.Network6, nn.PodCIDR6
		}
	case CNIBridge:
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
		main = map[string]any{
			"type": "bridge", "bridge": Bridge, "isGateway": true, "ipMasq": false, "hairpinMode": true, "mtu": nn.MTU,
			"ipam": map[string]any{"type": "host-local", "ranges": ranges, "routes": routes},
		}
	default:
		return nil, fmt.Errorf("unknown CNI %q (want %s or %s)", nn.CNI, CNIPodnet, CNIBridge)
	}
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
		case n.CommandContext(ctx, "test", "-x", filepath.Join(CNIBinDir, p)).Run() == nil:
			continue // no pinned build given: the node image's own
		default:
			return copied, fmt.Errorf("node %s has no %s/%s and no reference plugin directory was given", n.String(), CNIBinDir, p)
		}
		bin, err := os.ReadFile(src)
		if err != nil {
			return copied, err
		}
		if err := WriteNodeFile(ctx, n, filepath.Join(CNIBinDir, p), 0o755, bytes.NewReader(bin)); err != nil {
			return copied, err
		}
		copied = append(copied, p)
	}
	return copied, WriteNodeFile(ctx, n, nn.ConfPath(), 0o644, bytes.NewReader(raw))
}

// NetConfDirMount is where the hostNetwork helper pods mount the node's
// CNIConfDir (read-only), to tell which CNI a gate cluster runs.
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
		return "", "", fmt.Errorf("no CNI network configuration in %s", CNIConfDir)
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
