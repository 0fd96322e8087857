package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
)

// NodeInfo is what the suite needs to know about a Kubernetes node.
type NodeInfo struct {
	Name         string
	InternalIP   string
	PodCIDR      string
	ControlPlane bool
}

// Conf is podnet's network configuration (/etc/cni/net.d/10-podnet.conf).
type Conf struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Network    string `json:"network"`
	Subnet     string `json:"subnet"`
	Bridge     string `json:"bridge"`
	MTU        int    `json:"mtu"`
	IPMasq     bool   `json:"ipMasq"`
	DataDir    string `json:"dataDir"`
	LogFile    string `json:"logFile"`
}

// Podnet's install locations and defaults.
const (
	PluginPath  = "/opt/cni/bin/podnet"
	ConfPath    = "/etc/cni/net.d/10-podnet.conf"
	NetworkName = "podnet"
	DataDir     = "/var/lib/cni/podnet"
	Bridge      = "cni0"
)

// PodnetConf returns the conf podnet gets on a node with the given podCIDR.
func PodnetConf(network, podCIDR string) Conf {
	return Conf{
		CNIVersion: "1.0.0", Name: NetworkName, Type: "podnet",
		Network: network, Subnet: podCIDR, Bridge: Bridge, MTU: 1500, IPMasq: true,
		DataDir: DataDir, LogFile: "/var/log/podnet.log",
	}
}

// NodeImageVersion returns the Kubernetes version a kind node's image
// declares in /kind/version (kind's node images and ci/node-image.sh write it).
func NodeImageVersion(ctx context.Context, n nodes.Node) (string, error) {
	var out, errOut bytes.Buffer
	if err := n.CommandContext(ctx, "cat", "/kind/version").SetStdout(&out).SetStderr(&errOut).Run(); err != nil {
		return "", fmt.Errorf("node %s: read /kind/version: %w: %s", n.String(), err, errOut.String())
	}
	v := strings.TrimSpace(out.String())
	if v == "" {
		return "", fmt.Errorf("node %s: /kind/version is empty", n.String())
	}
	return v, nil
}

// WriteNodeFile writes content to dst inside a kind node (atomically, via a
// temporary file and rename) with the given mode.
func WriteNodeFile(ctx context.Context, n nodes.Node, dst string, mode os.FileMode, content io.Reader) error {
	tmp := dst + ".cnigate-tmp"
	script := fmt.Sprintf(`set -e; mkdir -p %q; cat > %q; chmod %o %q; mv -f %q %q`,
		path.Dir(dst), tmp, mode, tmp, tmp, dst)
	var out bytes.Buffer
	cmd := n.CommandContext(ctx, "sh", "-c", script).SetStdin(content).SetStdout(&out).SetStderr(&out)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("node %s: write %s: %w: %s", n.String(), dst, err, out.String())
	}
	return nil
}

// InstallPodnet copies the plugin binary to PluginPath and writes ConfPath with
// the node's podCIDR.
func InstallPodnet(ctx context.Context, n nodes.Node, pluginBinary, network, podCIDR string) error {
	bin, err := os.ReadFile(pluginBinary)
	if err != nil {
		return err
	}
	if err := WriteNodeFile(ctx, n, PluginPath, 0o755, bytes.NewReader(bin)); err != nil {
		return err
	}
	conf, err := json.MarshalIndent(PodnetConf(network, podCIDR), "", "  ")
	if err != nil {
		return err
	}
	return WriteNodeFile(ctx, n, ConfPath, 0o644, bytes.NewReader(append(conf, '\n')))
}
