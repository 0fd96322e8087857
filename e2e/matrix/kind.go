package matrix

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/klog/v2"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/cnigate/cnigate/e2e/cluster"
	"github.com/cnigate/cnigate/e2e/harness/host"
	"github.com/cnigate/cnigate/e2e/harness/nodenet"
	kindconfig "github.com/cnigate/cnigate/kind-config"
)

// Kind mode setup: the cluster, the hermetic rule, the test image.

func createCluster(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	raw, err := kindconfig.Render(kindconfig.Options{Name: s.cluster, Workers: s.opt.Workers, Image: s.opt.NodeImage,
		PodSubnet: s.opt.PodNetwork, IPFamily: s.opt.IPFamily, PodSubnet6: s.opt.PodNetwork6})
	if err != nil {
		return ctx, err
	}
	path, err := filepath.Abs(filepath.Join(s.opt.ReportDir, "kind-config.yaml"))
	if err != nil {
		return ctx, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return ctx, err
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		return ctx, err
	}
	if err := imagePresent(ctx); err != nil { // before minutes of cluster creation
		return ctx, err
	}
	if exists, err := s.kind.Exists(); err != nil {
		return ctx, err
	} else if exists {
		return ctx, fmt.Errorf("kind cluster %s already exists (a leftover? delete it, or name another with the cluster option)", s.cluster)
	}
	// The nodes share the host's inotify instances: too few and kube-proxy
	// crash-loops on the last nodes of a big cluster ("too many open files").
	raised, err := host.RaiseInotifyLimits()
	if err != nil {
		return ctx, err
	}
	for _, r := range raised {
		klog.Infof("host: raised %s (kind nodes share the host's inotify instances; left raised)", r)
	}
	// Hermetic: the rule goes in before kind starts the nodes when the docker
	// network already exists (it outlives clusters), else right after kind
	// made it; either way before any CNI is installed, so before any pod
	// has a network.
	if s.opt.Hermetic && networkExists(ctx) {
		if err := addHermetic(ctx, s); err != nil {
			return ctx, err
		}
	}
	klog.Infof("creating kind cluster %s: %d workers, node image %s, config %s", s.cluster, s.opt.Workers, s.opt.NodeImage, path)
	s.created = true // from here on, teardown deletes whatever kind made
	if err := s.kind.Create(raw, s.opt.NodeImage); err != nil {
		return ctx, err
	}
	if ctx.Err() != nil {
		return ctx, fmt.Errorf("interrupted while kind created the cluster: %w", context.Cause(ctx))
	}
	if s.opt.Hermetic {
		if err := addHermetic(ctx, s); err != nil {
			return ctx, err
		}
	}
	return ctx, connect(ctx, cfg)
}

// loadTestImage puts the test image on every node; it must be in the local docker.
func loadTestImage(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	if err := imagePresent(ctx); err != nil {
		return ctx, err
	}
	s := suiteFrom(ctx)
	return ctx, s.kind.LoadImage(ctx, s.opt.Image)
}

// imagePresent says what to do when the test image is not in the local docker.
func imagePresent(ctx context.Context) error {
	err := cluster.ImagePresent(ctx, suiteFrom(ctx).opt.Image)
	if errors.Is(err, cluster.ErrNoImage) {
		return fmt.Errorf("test image %w: in a clone of cnigate, `make e2e-image-save` builds it and writes _output/e2e-image.tar; `docker load -i` that tarball on this host (or name an image holding ci/images/busybox and the probe with the image option)", err)
	}
	return err
}

func networkExists(ctx context.Context) bool {
	_, err := nodenet.Docker(ctx, "network", "inspect", kindNetwork())
	return err == nil
}

func addHermetic(ctx context.Context, s *suite) error {
	br, err := host.DockerNetworkBridge(ctx, kindNetwork())
	if err != nil {
		return fmt.Errorf("hermetic mode: %w", err)
	}
	if err := host.AddHermeticRule(br, s.cluster); err != nil {
		return err
	}
	if !s.hermetic {
		klog.Infof("hermetic: host drops forwarded traffic from %s (docker network %s) to any other interface while cluster %s exists (%s, %s)",
			br, kindNetwork(), s.cluster, host.DockerUserChain, strings.Join(host.HermeticRule(br, s.cluster), " "))
	}
	s.hermetic = true
	return nil
}
