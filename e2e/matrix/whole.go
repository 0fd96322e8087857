package matrix

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// Is the cluster whole? Asked before the upstream conformance stage, which
// runs after the Healing group (nodes restarted and deleted, agents killed,
// podnet uninstalled on a node): its specs test the CNI, not a cluster still
// getting over the harness's own breakage. A cluster that does not become
// whole in time is the stage's error, not 45 specs run into it.

const (
	clusterDNSDeployment = "coredns"  // kubeadm's (kind's) cluster DNS
	clusterDNSService    = "kube-dns" // its Service, whose EndpointSlices the pods' resolv.conf reaches
	wholeTimeout         = 3 * time.Minute
	wholeInterval        = 2 * time.Second
	wholeProgress        = 15 * time.Second // a progress line at most this often
)

// wholeCheck is what "whole" covers on one cluster.
type wholeCheck struct {
	// Namespaces whose DaemonSets must be rolled out and available: kube-system
	// (kube-proxy) and the CNIs' (cniNamespaces; absent ones are fine).
	Namespaces []string
	// PodCIDRs: every running pod's addresses lie in its node's
	// spec.podCIDRs. True for the CNIs of the table (each allocates from its
	// node's podCIDRs); not in gate mode, where the CNI may have its own IPAM.
	// A Node deleted and registered again gets new podCIDRs while its pods
	// keep their addresses, which no node routes any longer.
	PodCIDRs bool
	// DNSOptional: a cluster DNS other than kubeadm's coredns Deployment
	// and kube-dns Service is fine (gate mode: GKE's kube-dns Deployment,
	// OpenShift's dns-default), so their absence is no reason; what exists
	// must still be available and ready.
	DNSOptional bool
}

// notWhole lists what keeps the cluster from being whole now (none when it
// is), each naming the object; err is a failed List.
func (w wholeCheck) notWhole(ctx context.Context, cs kubernetes.Interface) ([]string, error) {
	var why []string
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	if len(nodes.Items) == 0 {
		why = append(why, "no nodes")
	}
	for i := range nodes.Items {
		if status, msg := readyCondition(&nodes.Items[i]); status != corev1.ConditionTrue {
			why = append(why, fmt.Sprintf("node %s not Ready (%s)", nodes.Items[i].Name, msg))
		}
	}
	for _, ns := range w.Namespaces {
		dss, err := cs.AppsV1().DaemonSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing the DaemonSets of %s: %w", ns, err)
		}
		for i := range dss.Items {
			if ok, state := daemonSetRolledOut(&dss.Items[i]); !ok {
				why = append(why, fmt.Sprintf("daemonset %s/%s: %s", ns, dss.Items[i].Name, state))
			}
		}
	}
	d, err := cs.AppsV1().Deployments(metav1.NamespaceSystem).Get(ctx, clusterDNSDeployment, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) && w.DNSOptional:
	case err != nil:
		why = append(why, fmt.Sprintf("deployment %s/%s: %v", metav1.NamespaceSystem, clusterDNSDeployment, err))
	default:
		if ok, state := deploymentAvailable(d); !ok {
			why = append(why, fmt.Sprintf("deployment %s/%s: %s", metav1.NamespaceSystem, clusterDNSDeployment, state))
		}
	}
	eps, err := cs.DiscoveryV1().EndpointSlices(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + clusterDNSService})
	if err != nil {
		return nil, fmt.Errorf("listing the EndpointSlices of %s: %w", clusterDNSService, err)
	}
	if len(eps.Items) > 0 || !w.DNSOptional {
		why = append(why, dnsEndpointsNotWhole(eps.Items)...)
	}
	if w.PodCIDRs {
		pods, err := cs.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing pods: %w", err)
		}
		byNode := nodePodCIDRs(nodes.Items)
		for i := range pods.Items {
			if bad := outsidePodCIDRs(&pods.Items[i], byNode); bad != "" {
				why = append(why, bad)
			}
		}
	}
	return why, nil
}

// dnsEndpointsNotWhole: the cluster DNS Service has at least one endpoint
// and every one of them is ready (a replaced CoreDNS pod's endpoint turns
// ready once it answers).
func dnsEndpointsNotWhole(items []discoveryv1.EndpointSlice) []string {
	var why []string
	ready := 0
	for _, sl := range items {
		for _, e := range sl.Endpoints {
			if e.Conditions.Ready == nil || *e.Conditions.Ready {
				ready++
				continue
			}
			why = append(why, fmt.Sprintf("service %s/%s: endpoint %s (%s) not ready", metav1.NamespaceSystem, clusterDNSService, strings.Join(e.Addresses, ","), endpointPod(e)))
		}
	}
	if ready == 0 {
		why = append(why, fmt.Sprintf("service %s/%s: no ready endpoint", metav1.NamespaceSystem, clusterDNSService))
	}
	return why
}

func endpointPod(e discoveryv1.Endpoint) string {
	if e.TargetRef != nil {
		return "pod " + e.TargetRef.Name
	}
	return "no pod"
}

// nodePodCIDRs are the nodes' spec.podCIDRs by node name.
func nodePodCIDRs(nodes []corev1.Node) map[string][]netip.Prefix {
	out := map[string][]netip.Prefix{}
	for _, n := range nodes {
		cidrs := podCIDRs(&n)
		for _, c := range cidrs {
			if p, err := netip.ParsePrefix(c); err == nil {
				out[n.Name] = append(out[n.Name], p)
			}
		}
	}
	return out
}

// outsidePodCIDRs says which of a running pod's addresses lie outside its
// node's podCIDRs ("" when none does, or the pod uses the node's network, or
// the node has no podCIDRs to compare with).
func outsidePodCIDRs(p *corev1.Pod, byNode map[string][]netip.Prefix) string {
	cidrs := byNode[p.Spec.NodeName]
	if p.Spec.HostNetwork || p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil || len(cidrs) == 0 {
		return ""
	}
	var bad []string
	for _, a := range p.Status.PodIPs {
		ip, err := netip.ParseAddr(a.IP)
		if err != nil || !slices.ContainsFunc(cidrs, func(c netip.Prefix) bool { return c.Contains(ip) }) {
			bad = append(bad, a.IP)
		}
	}
	if len(bad) == 0 {
		return ""
	}
	var in []string
	for _, c := range cidrs {
		in = append(in, c.String())
	}
	return fmt.Sprintf("pod %s/%s on %s has %s outside the node's podCIDRs %s (no node routes it)", p.Namespace, p.Name, p.Spec.NodeName, strings.Join(bad, ","), strings.Join(in, ","))
}

// daemonSetRolledOut: every node it is scheduled to (none is fine: a
// DaemonSet for nodes the cluster does not have) has an up-to-date, Ready,
// available pod, and the status describes the current generation; state
// says how far it is.
func daemonSetRolledOut(ds *appsv1.DaemonSet) (bool, string) {
	st := ds.Status
	state := fmt.Sprintf("%d of %d nodes have a Ready pod (%d up to date, %d available)", st.NumberReady, st.DesiredNumberScheduled, st.UpdatedNumberScheduled, st.NumberAvailable)
	if ds.Generation != st.ObservedGeneration {
		state += fmt.Sprintf(", generation %d not observed yet", ds.Generation)
	}
	return ds.Generation == st.ObservedGeneration &&
		st.NumberReady == st.DesiredNumberScheduled && st.UpdatedNumberScheduled == st.DesiredNumberScheduled &&
		st.NumberAvailable == st.DesiredNumberScheduled, state
}

// deploymentAvailable: every replica of the current generation is updated
// and available.
func deploymentAvailable(d *appsv1.Deployment) (bool, string) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	if want == 0 {
		return false, "scaled to 0 replicas"
	}
	st := d.Status
	state := fmt.Sprintf("%d of %d replicas available (%d updated)", st.AvailableReplicas, want, st.UpdatedReplicas)
	if d.Generation != st.ObservedGeneration {
		state += fmt.Sprintf(", generation %d not observed yet", d.Generation)
	}
	return d.Generation == st.ObservedGeneration && st.AvailableReplicas == want && st.UpdatedReplicas == want && st.Replicas == want, state
}

// waitWhole polls until the cluster is whole, printing what it waits for
// every wholeProgress (and once it is whole, how long that took). Not whole
// within timeout: an error naming what was still missing.
func (w wholeCheck) waitWhole(ctx context.Context, cs kubernetes.Interface, timeout, interval time.Duration, progress func(string)) error {
	start := time.Now()
	var why []string // the reasons of the last poll that could ask
	var lastErr error
	lastLine := time.Time{}
	err := wait.PollUntilContextTimeout(ctx, interval, timeout, true, func(ctx context.Context) (bool, error) {
		now, err := w.notWhole(ctx, cs)
		if lastErr = err; err == nil {
			why = now
		}
		if lastErr == nil && len(why) == 0 {
			return true, nil
		}
		if time.Since(lastLine) >= wholeProgress {
			lastLine = time.Now()
			line := strings.Join(why, "; ")
			if lastErr != nil {
				line = lastErr.Error()
			}
			progress(fmt.Sprintf("cluster not whole yet after %s: %s", time.Since(start).Round(time.Second), line))
		}
		return false, nil // a failed List is retried: the API server may be busy
	})
	if err != nil {
		if lastErr != nil {
			why = append(why, lastErr.Error())
		}
		if ctx.Err() != nil { // the run was cancelled, not the wait given up
			return fmt.Errorf("waiting for the cluster to be whole: %w", ctx.Err())
		}
		return fmt.Errorf("cluster not whole within %s: %s: %w", timeout, strings.Join(why, "; "), err)
	}
	progress(fmt.Sprintf("cluster whole after %s: every node Ready, the DaemonSets of %s rolled out, %s available, %s endpoints ready",
		time.Since(start).Round(100*time.Millisecond), strings.Join(w.Namespaces, ", "), clusterDNSDeployment, clusterDNSService) +
		map[bool]string{true: ", every pod's addresses in its node's podCIDRs", false: ""}[w.PodCIDRs])
	return nil
}
