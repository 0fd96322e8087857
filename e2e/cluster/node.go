package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
)

// What the harness reads from and writes into a kind node container.

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
