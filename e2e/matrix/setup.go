package matrix

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/klog/v2"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/cnigate/cnigate/e2e/cluster"
	"github.com/cnigate/cnigate/e2e/harness/cni"
	"github.com/cnigate/cnigate/e2e/harness/nodenet"
	"github.com/cnigate/cnigate/e2e/harness/probe"
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
	byName, err := s.kind.Nodes()
	if err != nil {
		return ctx, err
	}
	var list corev1.NodeList
	if err := s.client.Resources().List(ctx, &list); err != nil {
		return ctx, err
	}
	if want := s.opt.Workers + 1; len(list.Items) != want {
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
		declared, err := cluster.NodeImageVersion(ctx, kn)
		if err != nil {
			errs = append(errs, err)
		} else if v := n.Status.NodeInfo.KubeletVersion; v != declared {
			errs = append(errs, fmt.Errorf("node %s runs kubelet %s, its node image %s declares %s (/kind/version)", n.Name, v, s.opt.NodeImage, declared))
		} else {
			s.k8sVersion = declared
		}
		status, msg := readyCondition(n)
		if status == corev1.ConditionTrue {
			errs = append(errs, fmt.Errorf("node %s is Ready before any CNI was installed (leftover cluster? run make e2e-clean)", n.Name))
			continue
		}
		klog.Infof("node %s NotReady before any CNI, as expected: %s", n.Name, msg)
	}
	return ctx, errors.Join(errs...)
}

// nodeNet is the conflist a kind node gets when the harness installs the CNI
// by hand (bridge): the node's podCIDR in each family it has (IPv6-only: the
// IPv6 side only), portmap chained, and the -e2e.break knobs that go into
// the conf.
func nodeNet(s *suite, n nodenet.NodeInfo) cni.NodeNet {
	nn := cni.NodeNet{CNI: s.opt.CNI, MTU: s.opt.MTU, Portmap: s.opt.Break != breakPortmap}
	if n.PodCIDR != "" {
		nn.Network, nn.PodCIDR = s.opt.PodNetwork, n.PodCIDR
	}
	if n.PodCIDR6 != "" {
		nn.Network6, nn.PodCIDR6 = s.opt.PodNetwork6, n.PodCIDR6
	}
	if s.opt.Break == breakMTU && len(s.workers) > 0 && n.Name == s.workers[0].Name {
		nn.MTU = s.opt.MTU - mtuBreakDrop
	}
	return nn
}

// loadCNI installs the CNI on every kind node. podnet the way users install
// it, through its image and manifest (deployPodnet): the agent writes the
// conflists and routes the pod subnets. The bridge reference conflist by
// hand, as the tutorial does: binaries the node lacks, the conflist with the
// node's podCIDR, its masquerade rule, and routes between the pod subnets.
func loadCNI(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	if s.installed().Install == cni.InstallManifest {
		if err := deployPodnet(ctx, s); err != nil {
			return ctx, err
		}
		if s.opt.Break != breakAgentRoutes {
			return ctx, nil
		}
	}
	byName, err := s.kind.Nodes()
	if err != nil {
		return ctx, err
	}
	for _, n := range s.nodes {
		kn, ok := byName[n.Name]
		if !ok {
			return ctx, fmt.Errorf("node %s is not a container of kind cluster %s", n.Name, s.cluster)
		}
		if s.installed().Install == cni.InstallConflist {
			nn := nodeNet(s, n)
			copied, err := cni.InstallCNI(ctx, kn, nn, "", s.opt.CNIBin)
			if err != nil {
				return ctx, err
			}
			if err := nodenet.BridgeMasquerade(ctx, n.Name, nn.PodCIDR, nn.Network, nn.PodCIDR6, nn.Network6); err != nil {
				return ctx, err
			}
			klog.Infof("node %s: %s %v (subnet %q subnet6 %q, mtu %d; copied to the node: %v)",
				n.Name, nn.ConfPath(), nn.Plugins(), nn.PodCIDR, nn.PodCIDR6, nn.MTU, copied)
		}
		routes, err := nodenet.PodSubnetRoutes(n.Name, s.nodes)
		if err != nil {
			return ctx, err
		}
		if err := nodenet.ReplaceRoutesInContainer(ctx, n.Name, routes); err != nil {
			return ctx, err
		}
		klog.Infof("node %s: routes added by hand %v", n.Name, routes)
	}
	return ctx, nil
}

// E2E_BREAK knobs: each breaks one thing on purpose, to show which cells catch it.
const (
	breakPortmap = "portmap" // conflist without portmap
	breakHairpin = "hairpin" // hairpin off on every bridge port once the pods run
	breakMTU     = "mtu"     // the first worker's pod interfaces get a lower MTU
	breakCoreDNS = "coredns" // CoreDNS scaled to 0 once the pods run
	// breakAgentRoutes: podnet's agent routes nothing (routes: none) and the
	// harness adds the routes once by hand, as the tutorial does: the matrix
	// passes, the healing cells show what nobody restores.
	breakAgentRoutes = "agent-routes"
	mtuBreakDrop     = 100
)

func validBreak(b string) bool {
	switch b {
	case "", breakPortmap, breakHairpin, breakMTU, breakCoreDNS, breakAgentRoutes, breakLossyNode:
		return true
	}
	return false
}

// applyRuntimeBreak applies the -e2e.break knobs that act on a running cluster.
func applyRuntimeBreak(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	switch s.opt.Break {
	case breakHairpin:
		// The workers, where the matrix's pods are: a node without a pod on
		// the CNI (podnet's control plane) has no bridge yet.
		for _, n := range s.workers {
			changed, err := nodenet.SetBridgePortsHairpin(ctx, n.Name, cni.Bridge, false)
			if err != nil {
				return ctx, err
			}
			if changed == 0 {
				return ctx, fmt.Errorf("E2E_BREAK=hairpin: node %s: no port on %s to break", n.Name, cni.Bridge)
			}
			klog.Infof("E2E_BREAK=hairpin: node %s: hairpin off on %d ports of %s", n.Name, changed, cni.Bridge)
		}
	case breakCoreDNS:
		var d appsv1.Deployment
		if err := s.client.Resources().Get(ctx, clusterDNSDeployment, metav1.NamespaceSystem, &d); err != nil {
			return ctx, err
		}
		zero := int32(0)
		d.Spec.Replicas = &zero
		if err := s.client.Resources().Update(ctx, &d); err != nil {
			return ctx, err
		}
		var pods corev1.PodList
		err := wait.For(func(ctx context.Context) (bool, error) {
			err := s.client.Resources(metav1.NamespaceSystem).List(ctx, &pods, resources.WithLabelSelector("k8s-app=kube-dns"))
			return err == nil && len(pods.Items) == 0, err
		}, wait.WithContext(ctx), wait.WithInterval(time.Second), wait.WithTimeout(time.Minute))
		if err != nil {
			return ctx, fmt.Errorf("E2E_BREAK=coredns: CoreDNS pods still there: %w", err)
		}
		klog.Infof("E2E_BREAK=coredns: CoreDNS scaled to 0")
	case breakLossyNode:
		return ctx, breakLossy(ctx, s)
	}
	return ctx, nil
}

// waitClusterDNS waits until CoreDNS has every replica ready (kind mode: it
// only starts once the CNI is in), so the DNS cells test resolution, not
// start-up.
func waitClusterDNS(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: clusterDNSDeployment, Namespace: metav1.NamespaceSystem}}
	err := wait.For(conditions.New(s.client.Resources()).DeploymentAvailable(d.Name, d.Namespace),
		wait.WithContext(ctx), wait.WithInterval(time.Second), wait.WithTimeout(3*time.Minute))
	if err != nil {
		return ctx, fmt.Errorf("CoreDNS not available: %w", err)
	}
	return ctx, nil
}

// createNamespace creates the test namespace with the PodSecurity
// "privileged" labels: the helper pods use hostNetwork and hostPath, which
// the baseline and restricted levels a real cluster may enforce reject.
func createNamespace(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.namespace, Labels: map[string]string{
		runLabel:                             "true", // cnigate e2e --cleanup finds a killed run's namespace
		"pod-security.kubernetes.io/enforce": "privileged",
		"pod-security.kubernetes.io/audit":   "privileged",
		"pod-security.kubernetes.io/warn":    "privileged",
	}}}
	return ctx, s.client.Resources().Create(ctx, ns)
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
		if err := waitNodeReady(ctx, s, n.Name, 3*time.Minute); err != nil {
			return ctx, fmt.Errorf("node %s did not become Ready after the CNI was installed: %w", n.Name, err)
		}
	}
	return ctx, nil
}

// waitNodeReady waits for one node's Ready condition.
func waitNodeReady(ctx context.Context, s *suite, name string, timeout time.Duration) error {
	var last error
	err := wait.For(func(ctx context.Context) (bool, error) {
		last = nodeReady(ctx, s, name)
		return last == nil, nil
	}, wait.WithContext(ctx), wait.WithInterval(time.Second), wait.WithTimeout(timeout), wait.WithImmediate())
	if err != nil {
		return errors.Join(err, last)
	}
	return nil
}

// startExternalHost starts the NAT target, or records why the NAT cells skip.
func startExternalHost(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	if !nodenet.DockerAvailable(ctx) {
		if !s.gate {
			return ctx, errors.New("docker is not available")
		}
		s.extSkip = "no docker here: the external host is a container the suite starts"
		return ctx, nil
	}
	if _, err := nodenet.Docker(ctx, "network", "inspect", s.opt.ExternalNetwork); err != nil {
		if !s.gate {
			return ctx, err
		}
		s.extSkip = fmt.Sprintf("docker network %q not found (set -e2e.external-network / E2E_EXTERNAL_NETWORK to the nodes' network)", s.opt.ExternalNetwork)
		return ctx, nil
	}
	name := s.cluster + "-external"
	if s.gate {
		name = externalHostName(s.namespace) // --cleanup finds it by that name
	}
	// the pod networks the host must not reach but through NAT, per family
	network, network6 := "", ""
	if s.has4() {
		network = s.opt.PodNetwork
	}
	if s.has6() {
		network6 = s.opt.PodNetwork6
	}
	h, err := nodenet.StartExternalHost(ctx, name, s.opt.ExternalNetwork, s.opt.Image, network, network6)
	s.external = h // set even on error, so Finish removes the container
	if err != nil {
		return ctx, err
	}
	var off []string
	for _, n := range s.workers {
		// describeNodes puts each address in its family's field
		for _, a := range []struct {
			ip   string
			used bool
		}{{n.InternalIP, s.has4()}, {n.InternalIP6, s.has6()}} {
			if a.used && a.ip != "" && !h.Reaches(a.ip) {
				off = append(off, n.Name+" "+a.ip)
			}
		}
	}
	if len(off) > 0 {
		reason := fmt.Sprintf("nodes not on docker network %s (%s %v): %s", s.opt.ExternalNetwork, h.Subnet, h.Subnet6, strings.Join(off, ", "))
		if !s.gate {
			return ctx, errors.New(reason)
		}
		s.extSkip = reason
	}
	klog.Infof("external host %s at %s %s on docker network %s (unreachable route to %q %q)", h.Name, h.IP, h.IP6, h.Network, network, network6)
	return ctx, nil
}

// Test pod names. web-<w> serves HTTP on webPort (also as hostPort on its
// node) and, in its probe container, UDP echo and /bytes (e2e/probe); a
// Service web-<w> (NodePort, so also a ClusterIP) has it as its only backend.
// shell-<w> only sleeps; hostnet-<n> runs on every node in the host network
// namespace, serves HTTP on -e2e.node-http-port and mounts podnet's data dir
// and the node's CNI configuration directory read-only.
const (
	webPort       = 8080
	webHostPort   = 18090
	probeUDPPort  = 9000
	probeHTTPPort = 9080
	helperMount   = "/podnet"
	containerName = "main"
	appLabel      = "cnigate-e2e"
	podLabel      = "cnigate-e2e/pod"
)

func webPod(w string) string     { return "web-" + w }
func shellPod(w string) string   { return "shell-" + w }
func hostnetPod(n string) string { return "hostnet-" + n }

func testPod(s *suite, name, node, role string, cmd []string) *corev1.Pod {
	grace := int64(1)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.namespace, Labels: map[string]string{"app": appLabel, "role": role, podLabel: name}},
		Spec: corev1.PodSpec{
			NodeSelector:                  map[string]string{corev1.LabelHostname: node},
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name: containerName, Image: s.opt.Image, ImagePullPolicy: corev1.PullPolicy(s.opt.ImagePullPolicy), Command: cmd,
			}},
		},
	}
}

// matrixPods are the tutorial's pods: a web server and a shell pod per worker.
func matrixPods(s *suite) []*corev1.Pod {
	var pods []*corev1.Pod
	for _, w := range s.workers {
		short := s.short[w.Name]
		web := testPod(s, webPod(short), w.Name, "web", []string{"httpd", "-f", "-p", fmt.Sprint(webPort), "-h", "/www"})
		web.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: webPort, HostPort: webHostPort, Protocol: corev1.ProtocolTCP}}
		web.Spec.Containers = append(web.Spec.Containers, corev1.Container{
			Name: "probe", Image: s.opt.Image, ImagePullPolicy: corev1.PullPolicy(s.opt.ImagePullPolicy),
			Command: []string{"probe", "serve", "-http", fmt.Sprintf(":%d", probeHTTPPort), "-udp", fmt.Sprintf(":%d", probeUDPPort)},
		})
		webCellPorts(s, w, web) // hostport.go: hostIP, 127.0.0.1 and UDP hostPorts
		pods = append(pods, web, testPod(s, shellPod(short), w.Name, "shell", []string{"sleep", "86400"}))
	}
	return pods
}

func helperPods(s *suite) []*corev1.Pod {
	var pods []*corev1.Pod
	for _, n := range s.nodes {
		p := testPod(s, hostnetPod(s.short[n.Name]), n.Name, "hostnet",
			[]string{"httpd", "-f", "-p", fmt.Sprint(s.opt.NodeHTTPPort), "-h", "/www"})
		p.Spec.HostNetwork = true
		p.Spec.Containers = append(p.Spec.Containers, hostProbeContainer(s))
		p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
		p.Spec.Volumes = []corev1.Volume{
			{Name: "podnet", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: cni.DataDir}}},
			{Name: "cni-conf", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: cni.ConfDir}}},
		}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
			{Name: "podnet", MountPath: helperMount, ReadOnly: true},
			{Name: "cni-conf", MountPath: cni.NetConfDirMount, ReadOnly: true},
		}
		pods = append(pods, p)
	}
	return pods
}

// createPods creates pods and waits until each is Ready.
func createPods(ctx context.Context, s *suite, pods []*corev1.Pod) error {
	for _, p := range pods {
		stampCreated(p) // readiness.go
		if err := s.client.Resources().Create(ctx, p); err != nil {
			return fmt.Errorf("create pod %s: %w", p.Name, err)
		}
	}
	return waitPodsReady(ctx, s, pods, 3*time.Minute)
}

// waitPodsReady waits until each of the test pods is Ready. One List a
// second for all of them: a wait per pod costs at least a poll interval
// each (25 pods at 8 workers).
func waitPodsReady(ctx context.Context, s *suite, pods []*corev1.Pod, timeout time.Duration) error {
	var notReady *corev1.Pod
	var listErr error // the last failed List, reported if it never succeeds
	err := wait.For(func(ctx context.Context) (bool, error) {
		var listed map[string]*corev1.Pod
		if listed, listErr = listTestPods(ctx, s); listErr != nil {
			return false, nil // the API server may be busy; retry until the timeout
		}
		for _, p := range pods {
			if got, ok := listed[p.Name]; !ok || !probe.PodConditionTrue(got, corev1.PodReady) {
				notReady = p
				return false, nil
			}
		}
		return true, nil
	}, wait.WithContext(ctx), wait.WithInterval(time.Second), wait.WithTimeout(timeout), wait.WithImmediate())
	switch {
	case err == nil:
		return nil
	case notReady != nil:
		return fmt.Errorf("pod %s on %s not Ready: %w (%s)", notReady.Name, notReady.Spec.NodeSelector[corev1.LabelHostname], err, podState(ctx, s, notReady.Name))
	case listErr != nil:
		return fmt.Errorf("waiting for %d test pods: listing them failed: %w", len(pods), errors.Join(err, listErr))
	}
	return fmt.Errorf("waiting for %d test pods: %w", len(pods), err)
}

// listTestPods lists the run's pods (matrix and helper pods) by name, with
// one List: a Get per pod costs a round trip each (25 pods at 8 workers).
func listTestPods(ctx context.Context, s *suite) (map[string]*corev1.Pod, error) {
	var list corev1.PodList
	if err := s.client.Resources(s.namespace).List(ctx, &list, resources.WithLabelSelector("app="+appLabel)); err != nil {
		return nil, err
	}
	byName := make(map[string]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		byName[list.Items[i].Name] = &list.Items[i]
	}
	return byName, nil
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

// webServices: per web pod, a NodePort Service (so also a ClusterIP) with that
// pod as its only backend: HTTP and the UDP echo.
func webServices(s *suite) []*corev1.Service {
	var svcs []*corev1.Service
	for _, w := range s.workers {
		name := webPod(s.short[w.Name])
		svcs = append(svcs, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.namespace, Labels: map[string]string{"app": appLabel}},
			Spec: corev1.ServiceSpec{
				IPFamilyPolicy: familyPolicy(s),
				Type:           corev1.ServiceTypeNodePort,
				Selector:       map[string]string{podLabel: name},
				Ports: []corev1.ServicePort{
					{Name: "http", Protocol: corev1.ProtocolTCP, Port: webPort, TargetPort: intstr.FromInt32(webPort)},
					{Name: "udp", Protocol: corev1.ProtocolUDP, Port: probeUDPPort, TargetPort: intstr.FromInt32(probeUDPPort)},
				},
			},
		})
	}
	return svcs
}

func createTestPods(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	for _, svc := range webServices(s) {
		if err := s.client.Resources().Create(ctx, svc); err != nil {
			return ctx, fmt.Errorf("create service %s: %w", svc.Name, err)
		}
	}
	return ctx, createPods(ctx, s, append(helperPods(s), withReadiness(s, matrixPods(s))...))
}

// detectCNI reads, through each node's helper pod, the network configuration
// the node's runtime uses and records its first plugin's type.
func detectCNI(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	s.nodeCNI = map[string]string{}
	for _, n := range s.nodes {
		out, err := execIn(ctx, hostnetPod(s.short[n.Name]), cni.FirstNetConfCommand(cni.NetConfDirMount)...)
		if err != nil {
			return ctx, err
		}
		s.saveNodeConf(n.Name, out)
		file, typ, err := cni.ParseFirstNetConf(out)
		if err != nil {
			klog.Infof("node %s: CNI not identified: %v", n.Name, err)
			s.nodeCNI[n.Name] = "unknown"
			continue
		}
		klog.Infof("node %s: CNI %s (%s/%s)", n.Name, typ, cni.ConfDir, file)
		s.nodeCNI[n.Name] = typ
	}
	if !s.gate && s.cniSummary() != s.installed().Type() {
		return ctx, fmt.Errorf("installed CNI %s, the nodes' configuration says %s", s.opt.CNI, s.cniSummary())
	}
	return ctx, nil
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

// familyPolicy: the web Services take a ClusterIP in each family of a
// dual-stack cluster (nil: the cluster's default, single-stack).
func familyPolicy(s *suite) *corev1.IPFamilyPolicy {
	if !s.dual() {
		return nil
	}
	p := corev1.IPFamilyPolicyRequireDualStack
	return &p
}

// apiServer6Svc is the Service the IPv6 pass of a dual-stack cluster dials
// to reach the API server: the `kubernetes` Service is single-stack in the
// cluster's primary family (IPv4), so it has no IPv6 ClusterIP.
const apiServer6Svc = "api-server-ipv6"

// apiServer6Objects are a selectorless IPv6 Service (port https 443) and its
// EndpointSlice pointing at the API server on the control-plane node's IPv6
// InternalIP, on the port of the `kubernetes` EndpointSlice: kube-proxy
// programs it in ip6tables as it programs the `kubernetes` Service in
// iptables, so a pod's path to the API server over IPv6 is the same one.
func apiServer6Objects(s *suite, apiPort int32) (*corev1.Service, *discoveryv1.EndpointSlice, error) {
	ip := ""
	for _, n := range s.nodes {
		if n.ControlPlane && n.InternalIP6 != "" {
			ip = n.InternalIP6
			break
		}
	}
	if ip == "" {
		return nil, nil, errors.New("no control-plane node with an IPv6 InternalIP to put behind " + apiServer6Svc)
	}
	single := corev1.IPFamilyPolicySingleStack
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: apiServer6Svc, Namespace: s.namespace, Labels: map[string]string{"app": appLabel}},
		Spec: corev1.ServiceSpec{
			IPFamilyPolicy: &single,
			IPFamilies:     []corev1.IPFamily{corev1.IPv6Protocol},
			Ports:          []corev1.ServicePort{{Name: "https", Protocol: corev1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt32(apiPort)}},
		},
	}
	name, proto, ready := "https", corev1.ProtocolTCP, true
	eps := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: apiServer6Svc, Namespace: s.namespace, Labels: map[string]string{
			discoveryv1.LabelServiceName: apiServer6Svc,
			discoveryv1.LabelManagedBy:   "cnigate-e2e", // not the EndpointSlice controller's: it leaves it alone
			"app":                        appLabel,
		}},
		AddressType: discoveryv1.AddressTypeIPv6,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Protocol: &proto, Port: &apiPort}},
	}
	return svc, eps, nil
}

// kubernetesAPIPort is the port the API server serves on: that of the
// `kubernetes` EndpointSlice's https port (6443 on kind).
func kubernetesAPIPort(ctx context.Context, s *suite) (int32, error) {
	var eps discoveryv1.EndpointSlice
	if err := s.client.Resources().Get(ctx, "kubernetes", kubernetesSvcNS, &eps); err != nil {
		return 0, fmt.Errorf("the kubernetes EndpointSlice: %w", err)
	}
	for _, p := range eps.Ports {
		if p.Name != nil && *p.Name == "https" && p.Port != nil {
			return *p.Port, nil
		}
	}
	return 0, fmt.Errorf("the kubernetes EndpointSlice has no https port (%d ports)", len(eps.Ports))
}

// createAPIServer6 creates apiServer6Svc and its EndpointSlice in the test
// namespace on a dual-stack cluster (nothing otherwise); deleting the
// namespace deletes them.
func createAPIServer6(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	if !s.dual() {
		return ctx, nil
	}
	port, err := kubernetesAPIPort(ctx, s)
	if err != nil {
		return ctx, err
	}
	svc, eps, err := apiServer6Objects(s, port)
	if err != nil {
		return ctx, err
	}
	if err := s.client.Resources().Create(ctx, svc); err != nil {
		return ctx, fmt.Errorf("create service %s: %w", svc.Name, err)
	}
	if err := s.client.Resources().Create(ctx, eps); err != nil {
		return ctx, fmt.Errorf("create EndpointSlice %s: %w", eps.Name, err)
	}
	klog.Infof("service %s/%s %v -> API server [%s]:%d (EndpointSlice %s)", s.namespace, svc.Name, svc.Spec.ClusterIPs, eps.Endpoints[0].Addresses[0], *eps.Ports[0].Port, eps.Name)
	return ctx, nil
}
