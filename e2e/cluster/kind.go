package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"golang.org/x/sync/errgroup"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	kindcmd "sigs.k8s.io/kind/pkg/cmd"
)

// Kind is one kind cluster by name.
type Kind struct {
	Name string
	// Kubeconfig is the file kind writes the cluster's kubeconfig to (never
	// the user's ~/.kube/config).
	Kubeconfig string
	provider   *kindcluster.Provider
}

// New names a kind cluster whose kubeconfig goes to kubeconfig.
func New(name, kubeconfig string) *Kind {
	return &Kind{Name: name, Kubeconfig: kubeconfig,
		provider: kindcluster.NewProvider(kindcluster.ProviderWithDocker(), kindcluster.ProviderWithLogger(kindcmd.NewLogger()))}
}

// Exists reports whether a cluster of that name runs.
func (k *Kind) Exists() (bool, error) {
	names, err := k.provider.List()
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if n == k.Name {
			return true, nil
		}
	}
	return false, nil
}

// Create creates the cluster from a rendered kind config and a node image
// and waits for nothing more (the nodes stay NotReady without a CNI).
// kind's library takes no context: Ctrl-C during creation takes effect once
// it returns, and the caller deletes what it made.
func (k *Kind) Create(rawConfig []byte, nodeImage string) error {
	return k.provider.Create(k.Name,
		kindcluster.CreateWithRawConfig(rawConfig),
		kindcluster.CreateWithNodeImage(nodeImage),
		kindcluster.CreateWithKubeconfigPath(k.Kubeconfig),
		kindcluster.CreateWithDisplayUsage(false),
		kindcluster.CreateWithDisplaySalutation(false))
}

// Delete deletes the cluster (nothing to do when it does not exist) and its kubeconfig entry.
func (k *Kind) Delete() error {
	if err := k.provider.Delete(k.Name, k.Kubeconfig); err != nil {
		return fmt.Errorf("delete kind cluster %s: %w", k.Name, err)
	}
	return nil
}

// Nodes maps node name -> kind node (container).
func (k *Kind) Nodes() (map[string]nodes.Node, error) {
	list, err := k.provider.ListNodes(k.Name)
	if err != nil {
		return nil, err
	}
	byName := map[string]nodes.Node{}
	for _, n := range list {
		byName[n.String()] = n
	}
	return byName, nil
}

// CollectLogs writes the nodes' logs (kind export logs) under dir.
func (k *Kind) CollectLogs(dir string) error { return k.provider.CollectLogs(k.Name, dir) }

// ErrNoImage is an image that is not in the local Docker.
var ErrNoImage = errors.New("image not in the local docker")

// ImagePresent is nil when image is in the local docker, else ErrNoImage.
func ImagePresent(ctx context.Context, image string) error {
	if err := exec.CommandContext(ctx, "docker", "image", "inspect", image).Run(); err != nil {
		return fmt.Errorf("%s: %w", image, ErrNoImage)
	}
	return nil
}

// LoadImage copies a Docker image into every node's containerd, as
// `kind load docker-image` does: docker save, then import on each node.
func (k *Kind) LoadImage(ctx context.Context, image string) error {
	if err := ImagePresent(ctx, image); err != nil {
		return err
	}
	tar, err := os.CreateTemp("", "cnigate-image-*.tar")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tar.Name()) }()
	_ = tar.Close()
	if out, err := exec.CommandContext(ctx, "docker", "save", "-o", tar.Name(), image).CombinedOutput(); err != nil {
		return fmt.Errorf("docker save %s: %w: %s", image, err, out)
	}
	list, err := k.provider.ListInternalNodes(k.Name)
	if err != nil {
		return err
	}
	// All nodes at once, as kind load does: on 9 nodes one after another
	// took 8.8 s.
	var g errgroup.Group
	for _, n := range list {
		g.Go(func() error {
			if err := loadArchive(n, tar.Name()); err != nil {
				return fmt.Errorf("load %s into node %s: %w", image, n, err)
			}
			return nil
		})
	}
	return g.Wait()
}

func loadArchive(n nodes.Node, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	return nodeutils.LoadImageArchive(n, io.Reader(f))
}
