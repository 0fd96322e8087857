package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"

	"github.com/cnigate/cnigate/e2e/harness"
)

// readyCondition returns a node's Ready condition status ("" if absent) and message.
func readyCondition(n *corev1.Node) (corev1.ConditionStatus, string) {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status, c.Message
		}
	}
	return "", "no Ready condition"
}

// nodesNotReady checks the fresh cluster is what the tutorial starts from:
// every kubelet runs the Kubernetes version its node image declares
// (/kind/version: ci/versions.sh's for the local image, kind's for the
// published one), and every node is NotReady for want of a CNI.
func nodesNotReady(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	byName, err := kindNodes(s.cluster)
	if err != nil {
		return ctx, err
	}
	var list corev1.NodeList
	if err := s.client.Resources().List(ctx, &list); err != nil {
		return ctx, err
	}
	if want := *flagWorkers + 1; len(list.Items) != want {
		return ctx, fmt.Errorf("cluster has %d nodes, want %d", len(list.Items), want)
	}
	var errs []error
	for i := range list.Items {
		n := &list.Items[i]
		kn, ok := byName[n.Name]
		if !ok {
			errs = append(errs, fmt.Errorf("node %s is not a container of kind cluster %s", n.Name, s.cluster))
			continue
		}
		declared, err := harness.NodeImageVersion(ctx, kn)
		if err != nil {
			errs = append(errs, err)
		} else if v := n.Status.NodeInfo.KubeletVersion; v != declared {
			errs = append(errs, fmt.Errorf("node %s runs kubelet %s, its node image %s declares %s (/kind/version)", n.Name, v, *flagNodeImage, declared))
		} else {
			s.k8sVersion = declared
		}
		status, msg := readyCondition(n)
		if status == corev1.ConditionTrue {
			errs = append(errs, fmt.Errorf("node %s is Ready before any CNI was installed (leftover cluster? run make e2e-clean)", n.Name))
			continue
		}
		klog.Infof("node %s NotReady before podnet, as expected: %s", n.Name, msg)
	}
	return ctx, errors.Join(errs...)
}

// kindNodes maps node name -> kind node (container) of a kind cluster.
func kindNodes(cluster string) (map[string]nodes.Node, error) {
	list, err := kindcluster.NewProvider(kindcluster.ProviderWithDocker()).ListNodes(cluster)
	if err != nil {
		return nil, err
	}
	byName := map[string]nodes.Node{}
	for _, kn := range list {
		byName[kn.String()] = kn
	}
	return byName, nil
}

// loadPlugin installs podnet on every kind node and wires the pod subnets.
func loadPlugin(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	byName, err := kindNodes(s.cluster)
	if err != nil {
		return ctx, err
	}
	for _, n := range s.nodes {
		kn, ok := byName[n.Name]
		if !ok {
			return ctx, fmt.Errorf("node %s is not a container of kind cluster %s", n.Name, s.cluster)
		}
		if err := harness.InstallPodnet(ctx, kn, *flagPlugin, *flagNetwork, n.PodCIDR); err != nil {
			return ctx, err
		}
		routes, err := harness.PodSubnetRoutes(n.Name, s.nodes)
		if err != nil {
			return ctx, err
		}
		if err := harness.ReplaceRoutesInContainer(ctx, n.Name, routes); err != nil {
			return ctx, err
		}
		klog.Infof("node %s: podnet installed (subnet %s), routes %v", n.Name, n.PodCIDR, routes)
	}
	return ctx, nil
}

func nodeReady(ctx context.Context, s *suite, name string) error {
	var n corev1.Node
	if err := s.client.Resources().Get(ctx, name, "", &n); err != nil {
		return err
	}
	if status, msg := readyCondition(&n); status != corev1.ConditionTrue {
		return fmt.Errorf("node %s not Ready: %s", name, msg)
	}
	return nil
}

func waitNodesReady(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	for _, n := range s.nodes {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name}}
		err := wait.For(conditions.New(s.client.Resources()).ResourceMatch(node, func(o k8s.Object) bool {
			status, _ := readyCondition(o.(*corev1.Node))
			return status == corev1.ConditionTrue
		}), wait.WithContext(ctx), wait.WithInterval(time.Second), wait.WithTimeout(3*time.Minute))
		if err != nil {
			return ctx, fmt.Errorf("node %s did not become Ready after podnet was installed: %w", n.Name, errors.Join(err, nodeReady(ctx, s, n.Name)))
		}
	}
	return ctx, nil
}

// startExternalHost starts the NAT target, or records why the NAT cells skip.
func startExternalHost(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	if !harness.DockerAvailable(ctx) {
		if !s.gate {
			return ctx, errors.New("docker is not available")
		}
		s.extSkip = "no docker here: the external host is a container the suite starts"
		return ctx, nil
	}
	if _, err := harness.Docker(ctx, "network", "inspect", *flagExtNet); err != nil {
		if !s.gate {
			return ctx, err
		}
		s.extSkip = fmt.Sprintf("docker network %q not found (set -e2e.external-network / E2E_EXTERNAL_NETWORK to the nodes' network)", *flagExtNet)
		return ctx, nil
	}
	name := s.cluster + "-external"
	if s.gate {
		name = s.namespace + "-external"
	}
	h, err := harness.StartExternalHost(ctx, name, *flagExtNet, *flagImage, *flagNetwork)
	s.external = h // set even on error, so Finish removes the container
	if err != nil {
		return ctx, err
	}
	var off []string
	for _, n := range s.workers {
		if !h.Reaches(n.InternalIP) {
			off = append(off, n.Name+" "+n.InternalIP)
		}
	}
	if len(off) > 0 {
		reason := fmt.Sprintf("nodes not on docker network %s (%s): %s", *flagExtNet, h.Subnet, strings.Join(off, ", "))
		if !s.gate {
			return ctx, errors.New(reason)
		}
		s.extSkip = reason
	}
	klog.Infof("external host %s at %s on docker network %s (unreachable route to %s)", h.Name, h.IP, h.Network, *flagNetwork)
	return ctx, nil
}

// Test pod names. web-<w> serves HTTP on webPort, shell-<w> only sleeps;
// hostnet-<n> runs on every node in the host network namespace, serves HTTP
// on -e2e.node-http-port and mounts podnet's data dir read-only.
const (
	webPort       = 8080
	helperMount   = "/podnet"
	containerName = "main"
	appLabel      = "cnigate-e2e"
)

func webPod(w string) string     { return "web-" + w }
func shellPod(w string) string   { return "shell-" + w }
func hostnetPod(n string) string { return "hostnet-" + n }

func testPod(ns, name, node, role string, cmd []string) *corev1.Pod {
	grace := int64(1)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": appLabel, "role": role}},
		Spec: corev1.PodSpec{
			NodeSelector:                  map[string]string{corev1.LabelHostname: node},
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name: containerName, Image: *flagImage, ImagePullPolicy: corev1.PullPolicy(*flagPullPolicy), Command: cmd,
			}},
		},
	}
}

// matrixPods are the tutorial's pods: a web server and a shell pod per worker.
func matrixPods(s *suite) []*corev1.Pod {
	var pods []*corev1.Pod
	for _, w := range s.workers {
		short := s.short[w.Name]
		pods = append(pods,
			testPod(s.namespace, webPod(short), w.Name, "web", []string{"httpd", "-f", "-p", fmt.Sprint(webPort), "-h", "/www"}),
			testPod(s.namespace, shellPod(short), w.Name, "shell", []string{"sleep", "86400"}),
		)
	}
	return pods
}

func helperPods(s *suite) []*corev1.Pod {
	var pods []*corev1.Pod
	for _, n := range s.nodes {
		p := testPod(s.namespace, hostnetPod(s.short[n.Name]), n.Name, "hostnet",
			[]string{"httpd", "-f", "-p", fmt.Sprint(*flagNodePort), "-h", "/www"})
		p.Spec.HostNetwork = true
		p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
		p.Spec.Volumes = []corev1.Volume{{Name: "podnet", VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: harness.DataDir}}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "podnet", MountPath: helperMount, ReadOnly: true}}
		pods = append(pods, p)
	}
	return pods
}

// createPods creates pods and waits until each is Ready.
func createPods(ctx context.Context, s *suite, pods []*corev1.Pod) error {
	for _, p := range pods {
		if err := s.client.Resources().Create(ctx, p); err != nil {
			return fmt.Errorf("create pod %s: %w", p.Name, err)
		}
	}
	for _, p := range pods {
		err := wait.For(conditions.New(s.client.Resources()).PodReady(p),
			wait.WithContext(ctx), wait.WithInterval(time.Second), wait.WithTimeout(3*time.Minute))
		if err != nil {
			return fmt.Errorf("pod %s on %s not Ready: %w (%s)", p.Name, p.Spec.NodeSelector[corev1.LabelHostname], err, podState(ctx, s, p.Name))
		}
	}
	return nil
}

// podState summarises why a pod is not Ready (events are in the kind logs).
func podState(ctx context.Context, s *suite, name string) string {
	var p corev1.Pod
	if err := s.client.Resources().Get(ctx, name, s.namespace, &p); err != nil {
		return err.Error()
	}
	var parts []string
	parts = append(parts, "phase "+string(p.Status.Phase))
	for _, c := range p.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Message != "" {
			parts = append(parts, fmt.Sprintf("%s: %s", c.Type, c.Message))
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Waiting != nil {
			parts = append(parts, fmt.Sprintf("waiting %s: %s", cs.State.Waiting.Reason, cs.State.Waiting.Message))
		}
	}
	return strings.Join(parts, "; ")
}

func createTestPods(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	return ctx, createPods(ctx, s, append(helperPods(s), matrixPods(s)...))
}

// getPod returns the current state of a test pod.
func getPod(ctx context.Context, s *suite, name string) (*corev1.Pod, error) {
	var p corev1.Pod
	if err := s.client.Resources().Get(ctx, name, s.namespace, &p); err != nil {
		return nil, err
	}
	if p.Status.PodIP == "" {
		return nil, fmt.Errorf("pod %s has no IP", name)
	}
	return &p, nil
}
