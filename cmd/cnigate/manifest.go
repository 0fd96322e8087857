package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cnigate/cnigate/deploy"
)

// runManifest renders the manifest that deploys podnet (deploy/): the
// podnet-agent DaemonSet for an image and the cluster's settings.
func manifestVerb() verb {
	return verb{name: "manifest", args: "--image REF --network CIDR", short: "render the manifest that deploys podnet (the podnet-agent DaemonSet) on a cluster",
		long:    "See docs/deploy.md. -o FILE writes it to a file (- : stdout).",
		example: "  cnigate manifest --image registry.example/podnet-agent:v1.2.3 --network 10.244.0.0/16 | kubectl apply -f -\n  cnigate manifest --uninstall --image registry.example/podnet-agent:v1.2.3 --network 10.244.0.0/16 -o uninstall.yaml\n  cnigate manifest --gate-job --image cnigate/cnigate:v1.2.3 --test-image cnigate/e2e-busybox:1.35 | kubectl apply -f -",
		define:  manifestFlags}
}

func manifestFlags(fs *flag.FlagSet) runFunc {
	var o deploy.Options
	fs.StringVar(&o.Image, "image", "", "the podnet-agent image (make image prints it; required)")
	fs.StringVar(&o.ImagePullPolicy, "image-pull-policy", "", "Always, IfNotPresent (default) or Never (an image loaded into the nodes by hand)")
	fs.StringVar(&o.Network, "network", "", "the cluster's IPv4 pod network, kubeadm's --pod-network-cidr (e.g. 10.244.0.0/16)")
	fs.StringVar(&o.Network6, "network6", "", "the cluster's IPv6 pod network (e.g. fd00:10:244::/56)")
	fs.IntVar(&o.MTU, "mtu", 1500, "MTU of the pods' interfaces and the bridge")
	fs.StringVar(&o.Routes, "routes", deploy.RoutesNode, "node: the agent routes every other node's pod subnets via its InternalIP; none: the network fabric does (e.g. a VPC route table)")
	fs.StringVar(&o.APIServer, "api-server", "", "host:port of the API server for the agent (e.g. the control plane's address:6443), instead of the kubernetes Service, which a rebooted node reaches only once kube-proxy is back")
	fs.StringVar(&o.CNIVersion, "cni-version", "1.0.0", "the conflist's cniVersion: 1.0.0 (every runtime) or 1.1.0 (runtimes that send STATUS, e.g. containerd 2 or CRI-O: a node without the agent's state then turns NotReady)")
	fs.BoolVar(&o.NoMasquerade, "no-masquerade", false, "do not masquerade pod traffic that leaves the pod network")
	fs.BoolVar(&o.NoHairpin, "no-hairpin", false, "no hairpin mode on the pods' bridge ports (a pod then cannot reach itself through its Service)")
	fs.BoolVar(&o.NoPortmap, "no-portmap", false, "no portmap in the conflist (hostPort does not work)")
	out := fs.String("o", "-", "`FILE` to write the manifest to (- for stdout)")
	uninstall := fs.Bool("uninstall", false, "the manifest that removes podnet from the nodes instead (delete the agent DaemonSet first; docs/deploy.md)")
	node := fs.String("node", "", "with --uninstall: only this node")
	gate := fs.Bool("gate-job", false, "render the Job that runs cnigate e2e --existing-cluster in the cluster instead; --image is then the cnigate image (make cnigate-image; docs/cli.md)")
	var g deploy.GateJob
	g.Register(fs)
	var env []string
	fs.Func("env", "`NAME=VALUE` for the agent container (repeatable)", func(v string) error {
		env = append(env, v)
		return nil
	})
	return func(_ context.Context, c *call) error {
		if err := noArgs(c); err != nil {
			return err
		}
		if *gate {
			if *uninstall || o.Network != "" || o.Network6 != "" || len(env) > 0 {
				return usagef("--gate-job takes --image, --image-pull-policy, --test-image, --test-image-pull-policy, --gate-arg and -o")
			}
			g.Image, g.ImagePullPolicy = o.Image, o.ImagePullPolicy
			raw, err := deploy.RenderGateJob(g)
			if err != nil {
				return usagef("%v", err)
			}
			return writeOut(raw, *out, o.Image, c.stdout, c.stderr)
		}
		return writeManifest(o, env, *out, *uninstall, *node, c.stdout, c.stderr)
	}
}

func writeManifest(o deploy.Options, env []string, out string, uninstall bool, node string, stdout, stderr io.Writer) error {
	for _, e := range env {
		k, v, ok := strings.Cut(e, "=")
		if !ok {
			return usagef("--env %q: want NAME=VALUE", e)
		}
		if o.Env == nil {
			o.Env = map[string]string{}
		}
		o.Env[k] = v
	}
	if node != "" && !uninstall {
		return usagef("--node goes with --uninstall")
	}
	render := deploy.Render
	if uninstall {
		render = func(o deploy.Options) ([]byte, error) { return deploy.RenderUninstall(o, node) }
	}
	raw, err := render(o)
	if err != nil {
		return usagef("%v", err)
	}
	return writeOut(raw, out, o.Image, stdout, stderr)
}

func writeOut(raw []byte, out, image string, stdout, stderr io.Writer) error {
	if out == "-" {
		_, err := stdout.Write(raw)
		return err
	}
	if err := os.WriteFile(out, raw, 0o644); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(stderr, "wrote %s (image %s): kubectl apply -f %s\n", out, image, out)
	return nil
}
