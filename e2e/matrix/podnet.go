package matrix

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/e2e-framework/klient/decoder"
	"sigs.k8s.io/e2e-framework/klient/wait"

	"github.com/cnigate/cnigate/deploy"
)

// podnet is installed the way users install it: its image loaded into the
// nodes (kind's stand-in for a registry) and its manifest (deploy/) applied;
// the agent DaemonSet then installs the binaries, writes each node's conflist
// and routes the pod subnets. The harness writes nothing on the nodes.

// podnetOptions are podnet's settings for this run: the cluster's pod
// networks, the MTU, and the break knobs that are settings.
// The agent reaches the API server at the control plane's address, not
// through the kubernetes Service, so that a restarted node heals before
// kube-proxy is back (deploy.Options.APIServer).
func podnetOptions(ctx context.Context, s *suite) (deploy.Options, error) {
	o := deploy.Options{Image: s.opt.AgentImage, ImagePullPolicy: string(corev1.PullNever), MTU: s.opt.MTU,
		NoPortmap: s.opt.Break == breakPortmap}
	if s.has4() {
		o.Network = s.opt.PodNetwork
	}
	if s.has6() {
		o.Network6 = s.opt.PodNetwork6
	}
	if s.opt.Break == breakAgentRoutes {
		o.Routes = deploy.RoutesNone
	}
	port, err := kubernetesAPIPort(ctx, s)
	if err != nil {
		return o, err
	}
	for _, n := range s.nodes {
		if ip := s.firstFamily().nodeIP(n); n.ControlPlane && ip != "" {
			o.APIServer = net.JoinHostPort(ip, strconv.Itoa(int(port)))
			break
		}
	}
	if o.APIServer == "" {
		return o, fmt.Errorf("no control-plane node with an InternalIP in family %s", s.firstFamily())
	}
	return o, nil
}

// deployPodnet loads podnet's image, applies its manifest (kept in the
// report dir as podnet.yaml) and waits until the agent is Ready on every
// node.
func deployPodnet(ctx context.Context, s *suite) error {
	if err := s.kind.LoadImage(ctx, s.opt.AgentImage); err != nil {
		return fmt.Errorf("podnet image (make image builds it): %w", err)
	}
	if s.opt.Break == breakMTU && len(s.workers) > 0 { // the agent's per-node MTU override
		if err := annotateNode(ctx, s, s.workers[0].Name, deploy.MTUAnnotation, strconv.Itoa(s.opt.MTU-mtuBreakDrop)); err != nil {
			return err
		}
	}
	o, err := podnetOptions(ctx, s)
	if err != nil {
		return err
	}
	raw, err := deploy.Render(o)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.opt.ReportDir, "podnet.yaml"), raw, 0o644); err != nil {
		return err
	}
	if err := decoder.DecodeEach(ctx, bytes.NewReader(raw), decoder.CreateHandler(s.client.Resources())); err != nil {
		return fmt.Errorf("applying podnet's manifest: %w", err)
	}
	klog.Infof("podnet: applied its manifest (image %s, %s/podnet.yaml)", s.opt.AgentImage, s.opt.ReportDir)
	return waitAgentsReady(ctx, s, 3*time.Minute)
}

// agentDaemonSet is podnet's DaemonSet as it is now.
func agentDaemonSet(ctx context.Context, s *suite) (*appsv1.DaemonSet, error) {
	var ds appsv1.DaemonSet
	err := s.client.Resources().Get(ctx, deploy.DaemonSet, deploy.Namespace, &ds)
	return &ds, err
}

// waitAgentsReady waits until the agent DaemonSet has an up-to-date, Ready
// pod on every node it runs on.
func waitAgentsReady(ctx context.Context, s *suite, timeout time.Duration) error {
	return waitDaemonSetReady(ctx, s, deploy.DaemonSet, 0, timeout)
}

// waitDaemonSetReady waits until DaemonSet name of podnet's namespace has an
// up-to-date, Ready pod on every node it is scheduled to, and on nodes of
// them (0: as many as its controller schedules, at least one).
func waitDaemonSetReady(ctx context.Context, s *suite, name string, nodes int32, timeout time.Duration) error {
	var last string
	err := wait.For(func(ctx context.Context) (bool, error) {
		var ds appsv1.DaemonSet
		if err := s.client.Resources().Get(ctx, name, deploy.Namespace, &ds); err != nil {
			last = err.Error()
			return false, nil
		}
		ok, state := daemonSetRolledOut(&ds) // whole.go
		last = state
		n := ds.Status.DesiredNumberScheduled
		return ok && n > 0 && (nodes == 0 || n == nodes), nil
	}, wait.WithContext(ctx), wait.WithInterval(time.Second), wait.WithTimeout(timeout), wait.WithImmediate())
	if err != nil {
		return fmt.Errorf("daemonset %s/%s: %s: %w", deploy.Namespace, name, last, err)
	}
	return nil
}

// annotateNode sets one annotation on a Node.
func annotateNode(ctx context.Context, s *suite, node, key, value string) error {
	var n corev1.Node
	if err := s.client.Resources().Get(ctx, node, "", &n); err != nil {
		return err
	}
	if n.Annotations == nil {
		n.Annotations = map[string]string{}
	}
	n.Annotations[key] = value
	if err := s.client.Resources().Update(ctx, &n); err != nil {
		return fmt.Errorf("annotate node %s %s=%s: %w", node, key, value, err)
	}
	return nil
}

// agentPod is the agent pod on node (nil when there is none yet).
func agentPod(ctx context.Context, s *suite, node string) (*corev1.Pod, error) {
	var list corev1.PodList
	if err := s.client.Resources(deploy.Namespace).List(ctx, &list); err != nil {
		return nil, err
	}
	for i := range list.Items {
		p := &list.Items[i]
		if p.Spec.NodeName == node && p.Labels[deploy.AppLabel] == deploy.DaemonSet && p.DeletionTimestamp == nil {
			return p, nil
		}
	}
	return nil, nil
}
