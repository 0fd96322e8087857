package matrix

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/klient/conf"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/cnigate/cnigate/e2e/harness/nodenet"
)

// Connecting to the cluster (both modes): the client, the nodes, the workers the matrix uses.

func connectGate(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	if err := connect(ctx, cfg); err != nil {
		return ctx, err
	}
	s := suiteFrom(ctx)
	for _, n := range s.nodes {
		if err := nodeReady(ctx, s, n.Name); err != nil {
			return ctx, fmt.Errorf("existing-cluster mode installs nothing: it expects a CNI already running on every node: %w", err)
		}
	}
	return ctx, setFamilies(ctx, s)
}

// The client's own request rate limit. client-go's default (5 a second,
// burst 10) throttled the matrix: a cell reads a Service or a pod before its
// exec, and at 8 workers a row has 56 cells (11 s a row). A real cluster's
// API server guards itself with priority and fairness.
const (
	clientQPS   = 50
	clientBurst = 100
)

// connect makes the client, reads the nodes and picks the matrix's workers.
func connect(ctx context.Context, cfg *envconf.Config) error {
	s := suiteFrom(ctx)
	var rc *rest.Config
	var err error
	if s.gate {
		rc, s.access, err = restConfig(s.opt)
	} else {
		rc, err = conf.New(cfg.KubeconfigFile())
		s.access = "kind cluster " + s.cluster + " (made by the harness)"
	}
	if err != nil {
		return err
	}
	klog.Infof("cluster: %s", s.access)
	s.rest = rest.CopyConfig(rc)
	rc.QPS, rc.Burst = clientQPS, clientBurst
	client, err := klient.New(rc)
	if err != nil {
		return err
	}
	cfg.WithClient(client)
	s.client = client
	// Right after kind returns, a worker's kubelet may not have registered its
	// Node yet, and the node IPAM controller may not have given every node its
	// podCIDR.
	want := 1
	if !s.gate {
		want = s.opt.Workers + 1
	}
	var list corev1.NodeList
	err = wait.For(func(ctx context.Context) (bool, error) {
		if err := client.Resources().List(ctx, &list); err != nil {
			return false, nil // the API server may still be settling; retry
		}
		for _, n := range list.Items {
			// kind: the harness routes the pod subnets, so every node needs its
			// podCIDR. A gate cluster's CNI may do without (cells that need
			// one are skipped there).
			if n.Spec.PodCIDR == "" && !s.gate {
				return false, nil
			}
			// ipv6, dual: each node also needs its IPv6 podCIDR and InternalIP.
			if !s.gate && s.has6() && !hasIPv6Side(n) {
				return false, nil
			}
		}
		return len(list.Items) >= want, nil
	}, wait.WithContext(ctx), wait.WithInterval(time.Second), wait.WithTimeout(2*time.Minute), wait.WithImmediate())
	if err != nil {
		return fmt.Errorf("waiting for %d nodes, each with a podCIDR in kind mode (have %d): %w", want, len(list.Items), err)
	}
	s.nodes, s.short = describeNodes(list.Items)
	var workers []nodenet.NodeInfo
	for _, n := range s.nodes {
		if !n.ControlPlane {
			workers = append(workers, n)
		}
	}
	want = s.opt.Workers
	if s.gate && want == 0 {
		want = len(workers)
	}
	if len(workers) < 2 || len(workers) < want {
		return fmt.Errorf("the matrix needs %d workers (at least 2), the cluster has %d", want, len(workers))
	}
	s.workers = workers[:want]
	if err := s.planPairs(); err != nil {
		return err
	}
	for _, n := range s.nodes {
		klog.Infof("node %s (%s): IPv4 InternalIP %q podCIDR %q; IPv6 InternalIP %q podCIDR %q", n.Name, s.short[n.Name], n.InternalIP, n.PodCIDR, n.InternalIP6, n.PodCIDR6)
	}
	return nil
}

// podCIDRs are a node's spec.podCIDRs (spec.podCIDR alone when only it is set).
func podCIDRs(n *corev1.Node) []string {
	if len(n.Spec.PodCIDRs) == 0 && n.Spec.PodCIDR != "" {
		return []string{n.Spec.PodCIDR}
	}
	return n.Spec.PodCIDRs
}

// describeNodes gives nodes stable short names for the matrix: cp, cp2, ...
// for control planes and w1, w2, ... for workers, in name order.
func describeNodes(items []corev1.Node) ([]nodenet.NodeInfo, map[string]string) {
	var cps, ws []nodenet.NodeInfo
	for _, n := range items {
		info := nodenet.NodeInfo{Name: n.Name, InternalIP6: ipv6InternalIP(n)}
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP && !strings.Contains(a.Address, ":") {
				info.InternalIP = a.Address
			}
		}
		// spec.podCIDR is the first of spec.podCIDRs: IPv6 on an IPv6-only
		// cluster. Each goes to its family's field.
		for _, c := range podCIDRs(&n) {
			if strings.Contains(c, ":") {
				info.PodCIDR6 = c
			} else {
				info.PodCIDR = c
			}
		}
		_, info.ControlPlane = n.Labels["node-role.kubernetes.io/control-plane"]
		info.Zone = n.Labels[corev1.LabelTopologyZone]
		if info.ControlPlane {
			cps = append(cps, info)
		} else {
			ws = append(ws, info)
		}
	}
	sortNodes(cps)
	sortNodes(ws)
	short := map[string]string{}
	for i, n := range cps {
		short[n.Name] = "cp"
		if i > 0 {
			short[n.Name] = fmt.Sprintf("cp%d", i+1)
		}
	}
	for i, n := range ws {
		short[n.Name] = fmt.Sprintf("w%d", i+1)
	}
	return append(cps, ws...), short
}

// hasIPv6Side: the node has an IPv6 podCIDR and an IPv6 InternalIP.
func hasIPv6Side(n corev1.Node) bool {
	return ipv6InternalIP(n) != "" && slices.ContainsFunc(n.Spec.PodCIDRs, func(c string) bool { return strings.Contains(c, ":") })
}

// ipv6InternalIP is the node's IPv6 InternalIP ("" when it has none).
func ipv6InternalIP(n corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP && strings.Contains(a.Address, ":") {
			return a.Address
		}
	}
	return ""
}

func sortNodes(ns []nodenet.NodeInfo) {
	sort.Slice(ns, func(i, j int) bool { return ns[i].Name < ns[j].Name })
}
