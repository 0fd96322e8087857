package matrix

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/cnigate/cnigate/deploy"
)

// wholeCluster is a cluster after a green matrix: worker 2 deleted and back
// with new podCIDRs (10.244.4.0/24), CoreDNS on worker 1.
type wholeCluster struct {
	nodes  []*corev1.Node
	dss    []*appsv1.DaemonSet
	dns    *appsv1.Deployment
	slices []*discoveryv1.EndpointSlice
	pods   []*corev1.Pod
}

func newWholeCluster() *wholeCluster {
	node := func(name string, cidrs ...string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDRs: cidrs},
			Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
	}
	ds := func(ns, name string) *appsv1.DaemonSet {
		return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 2},
			Status: appsv1.DaemonSetStatus{ObservedGeneration: 2, DesiredNumberScheduled: 3, NumberReady: 3, UpdatedNumberScheduled: 3, NumberAvailable: 3}}
	}
	pod := func(ns, name, node string, ips ...string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.PodSpec{NodeName: node},
			Status: corev1.PodStatus{Phase: corev1.PodRunning}}
		for _, ip := range ips {
			p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: ip})
		}
		return p
	}
	proxy := pod(metav1.NamespaceSystem, "kube-proxy-w2", "w2", "172.18.0.4")
	proxy.Spec.HostNetwork = true
	return &wholeCluster{
		nodes: []*corev1.Node{node("cp", "10.244.0.0/24"), node("w1", "10.244.2.0/24", "fd00:10:244:2::/64"), node("w2", "10.244.4.0/24")},
		dss:   []*appsv1.DaemonSet{ds(metav1.NamespaceSystem, "kube-proxy"), ds(deploy.Namespace, deploy.DaemonSet)},
		dns: &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceSystem, Name: "coredns", Generation: 1},
			Spec:   appsv1.DeploymentSpec{Replicas: new(int32(2))},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}},
		slices: []*discoveryv1.EndpointSlice{{
			ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceSystem, Name: "kube-dns-x", Labels: map[string]string{discoveryv1.LabelServiceName: "kube-dns"}},
			Endpoints: []discoveryv1.Endpoint{
				{Addresses: []string{"10.244.2.5"}, Conditions: discoveryv1.EndpointConditions{Ready: new(true)}, TargetRef: &corev1.ObjectReference{Name: "coredns-a"}},
				{Addresses: []string{"10.244.2.6"}, TargetRef: &corev1.ObjectReference{Name: "coredns-b"}}, // no condition: ready
			},
		}},
		pods: []*corev1.Pod{
			pod(metav1.NamespaceSystem, "coredns-a", "w1", "10.244.2.5", "fd00:10:244:2::5"),
			pod(metav1.NamespaceSystem, "coredns-b", "w1", "10.244.2.6"),
			pod("podnet-e2e-1", "heal-w2", "w2", "10.244.4.3"),
			proxy,
		},
	}
}

func (c *wholeCluster) objects() []runtime.Object {
	var out []runtime.Object
	for _, n := range c.nodes {
		out = append(out, n)
	}
	for _, d := range c.dss {
		out = append(out, d)
	}
	if c.dns != nil {
		out = append(out, c.dns)
	}
	for _, s := range c.slices {
		out = append(out, s)
	}
	for _, p := range c.pods {
		out = append(out, p)
	}
	return out
}

func TestNotWhole(t *testing.T) {
	full := wholeCheck{Namespaces: cniNamespaces, PodCIDRs: true}
	gate := wholeCheck{Namespaces: cniNamespaces, DNSOptional: true}
	for _, tc := range []struct {
		name   string
		check  wholeCheck
		change func(c *wholeCluster)
		want   []string // substrings, one per reason; none: whole
	}{
		{"whole", full, func(*wholeCluster) {}, nil},
		{"a node NotReady", full, func(c *wholeCluster) {
			c.nodes[2].Status.Conditions[0] = corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Message: "cni plugin not initialized"}
		}, []string{"node w2 not Ready (cni plugin not initialized)"}},
		{"a node without a Ready condition", full, func(c *wholeCluster) { c.nodes[1].Status.Conditions = nil },
			[]string{"node w1 not Ready (no Ready condition)"}},
		{"no nodes", full, func(c *wholeCluster) { c.nodes = nil }, []string{"no nodes"}},
		{"kube-proxy not rolled out", full, func(c *wholeCluster) { c.dss[0].Status.NumberAvailable, c.dss[0].Status.NumberReady = 2, 2 },
			[]string{"daemonset kube-system/kube-proxy: 2 of 3 nodes have a Ready pod (3 up to date, 2 available)"}},
		{"the CNI's DaemonSet: a generation not observed yet", full, func(c *wholeCluster) { c.dss[1].Generation = 3 },
			[]string{"daemonset " + deploy.Namespace + "/" + deploy.DaemonSet + ": 3 of 3 nodes have a Ready pod (3 up to date, 3 available), generation 3 not observed yet"}},
		{"the CNI's DaemonSet: an old pod left", full, func(c *wholeCluster) { c.dss[1].Status.UpdatedNumberScheduled = 2 },
			[]string{"daemonset " + deploy.Namespace + "/" + deploy.DaemonSet + ": 3 of 3 nodes have a Ready pod (2 up to date"}},
		{"a DaemonSet scheduled to no node is rolled out", full, func(c *wholeCluster) {
			c.dss = append(c.dss, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceSystem, Name: "gpu", Generation: 1},
				Status: appsv1.DaemonSetStatus{ObservedGeneration: 1}})
		}, nil},
		{"a DaemonSet of another namespace does not count", wholeCheck{Namespaces: []string{metav1.NamespaceSystem}, PodCIDRs: true},
			func(c *wholeCluster) { c.dss[1].Status.NumberReady = 0 }, nil},
		{"CoreDNS one replica short", full, func(c *wholeCluster) { c.dns.Status.AvailableReplicas = 1 },
			[]string{"deployment kube-system/coredns: 1 of 2 replicas available (2 updated)"}},
		{"CoreDNS rolling", full, func(c *wholeCluster) { c.dns.Status.Replicas = 3 },
			[]string{"deployment kube-system/coredns"}},
		{"CoreDNS scaled to 0 (E2E_BREAK=coredns)", full, func(c *wholeCluster) {
			c.dns.Spec.Replicas, c.dns.Status = new(int32(0)), appsv1.DeploymentStatus{ObservedGeneration: 1}
			c.slices[0].Endpoints = nil
		}, []string{"deployment kube-system/coredns: scaled to 0 replicas", "service kube-system/kube-dns: no ready endpoint"}},
		{"no CoreDNS", full, func(c *wholeCluster) { c.dns = nil }, []string{`deployment kube-system/coredns: deployments.apps "coredns" not found`}},
		{"a kube-dns endpoint not ready", full, func(c *wholeCluster) { c.slices[0].Endpoints[1].Conditions.Ready = new(false) },
			[]string{"service kube-system/kube-dns: endpoint 10.244.2.6 (pod coredns-b) not ready"}},
		{"no kube-dns EndpointSlice", full, func(c *wholeCluster) { c.slices = nil }, []string{"service kube-system/kube-dns: no ready endpoint"}},
		{"another Service's EndpointSlice does not count", full, func(c *wholeCluster) {
			c.slices[0].Labels[discoveryv1.LabelServiceName] = "web"
		}, []string{"service kube-system/kube-dns: no ready endpoint"}},
		// 2026-12-07: worker 2 deleted and registered again with new podCIDRs,
		// both CoreDNS replicas still on it with addresses of the old ones
		{"CoreDNS kept the deleted node's old addresses", full, func(c *wholeCluster) {
			c.pods[0].Spec.NodeName, c.pods[0].Status.PodIPs = "w2", []corev1.PodIP{{IP: "10.244.1.2"}}
			c.pods[1].Spec.NodeName, c.pods[1].Status.PodIPs = "w2", []corev1.PodIP{{IP: "10.244.1.3"}}
		}, []string{
			"pod kube-system/coredns-a on w2 has 10.244.1.2 outside the node's podCIDRs 10.244.4.0/24",
			"pod kube-system/coredns-b on w2 has 10.244.1.3 outside the node's podCIDRs 10.244.4.0/24",
		}},
		{"an IPv6 address outside", full, func(c *wholeCluster) { c.pods[0].Status.PodIPs[1].IP = "fd00:10:244:9::5" },
			[]string{"pod kube-system/coredns-a on w1 has fd00:10:244:9::5 outside the node's podCIDRs 10.244.2.0/24,fd00:10:244:2::/64"}},
		{"gate mode: a cluster DNS that is not kubeadm's is fine", gate, func(c *wholeCluster) { c.dns, c.slices = nil, nil }, nil},
		{"gate mode: a coredns that is there must be available", gate, func(c *wholeCluster) { c.dns.Status.AvailableReplicas = 0 },
			[]string{"deployment kube-system/coredns: 0 of 2 replicas available"}},
		{"gate mode: kube-dns endpoints that are there must be ready", gate, func(c *wholeCluster) { c.slices[0].Endpoints[1].Conditions.Ready = new(false) },
			[]string{"service kube-system/kube-dns: endpoint 10.244.2.6 (pod coredns-b) not ready"}},
		{"gate mode: the CNI's own IPAM, podCIDRs not compared", wholeCheck{Namespaces: cniNamespaces}, func(c *wholeCluster) {
			c.pods[0].Status.PodIPs = []corev1.PodIP{{IP: "192.168.7.2"}}
		}, nil},
		{"pods that do not count: hostNetwork, not running, terminating, on a node without podCIDRs", full, func(c *wholeCluster) {
			c.pods[3].Status.PodIPs = []corev1.PodIP{{IP: "172.18.0.9"}} // hostNetwork
			c.pods[2].Status.PodIPs[0].IP, c.pods[2].Status.Phase = "10.244.1.9", corev1.PodPending
			c.pods[1].Status.PodIPs[0].IP, c.pods[1].DeletionTimestamp, c.pods[1].Finalizers = "10.244.1.8", &metav1.Time{Time: time.Now()}, []string{"x"}
			c.nodes[0].Spec.PodCIDRs = nil
			c.pods = append(c.pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "on-cp"}, Spec: corev1.PodSpec{NodeName: "cp"},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.1.1.1"}}}})
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newWholeCluster()
			tc.change(c)
			why, err := tc.check.notWhole(context.Background(), fake.NewClientset(c.objects()...))
			if err != nil {
				t.Fatal(err)
			}
			if len(why) != len(tc.want) {
				t.Fatalf("got %d reasons %q, want %d %q", len(why), why, len(tc.want), tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(strings.Join(why, "\n"), w) {
					t.Errorf("reasons %q lack %q", why, w)
				}
			}
		})
	}
}

// TestWaitWhole: a whole cluster passes at once, one that stays broken is
// the stage's error naming what is missing, one that heals passes once it
// has, a failing List is retried and named.
func TestWaitWhole(t *testing.T) {
	check := wholeCheck{Namespaces: cniNamespaces, PodCIDRs: true}
	for _, tc := range []struct {
		name    string
		change  func(c *wholeCluster)                     // the cluster's state
		react   func(c *wholeCluster, cs *fake.Clientset) // how its API answers
		wantErr []string                                  // substrings of the error; none: whole
		want    string                                    // a substring of the last progress line
	}{
		{"whole", nil, nil, nil, "cluster whole after"},
		{"never whole", func(c *wholeCluster) { c.dns.Status.AvailableReplicas = 0 }, nil,
			[]string{"cluster not whole within 300ms", "deployment kube-system/coredns: 0 of 2 replicas available"},
			"cluster not whole yet after 0s: deployment kube-system/coredns"},
		{"whole after a while", nil, func(c *wholeCluster, cs *fake.Clientset) {
			lists := 0
			cs.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
				lists++
				if lists < 3 { // the first two polls see worker 2 NotReady
					n := c.nodes[2].DeepCopy()
					n.Status.Conditions[0].Status = corev1.ConditionFalse
					return true, &corev1.NodeList{Items: []corev1.Node{*c.nodes[0], *c.nodes[1], *n}}, nil
				}
				return false, nil, nil
			})
		}, nil, "cluster whole after"},
		{"the API fails", nil, func(_ *wholeCluster, cs *fake.Clientset) {
			cs.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, errors.New("etcdserver: request timed out")
			})
		}, []string{"cluster not whole within 300ms", "listing nodes: etcdserver: request timed out"}, "listing nodes: etcdserver: request timed out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newWholeCluster()
			if tc.change != nil {
				tc.change(c)
			}
			cs := fake.NewClientset(c.objects()...)
			if tc.react != nil {
				tc.react(c, cs)
			}
			var lines []string
			// The cases that end whole get a long limit (a loaded machine must
			// not turn them red); the ones that never do end at the short one.
			timeout := 300 * time.Millisecond
			if len(tc.wantErr) == 0 {
				timeout = time.Minute
			}
			err := check.waitWhole(context.Background(), cs, timeout, 50*time.Millisecond, func(l string) { lines = append(lines, l) })
			if len(tc.wantErr) == 0 && err != nil {
				t.Fatalf("not whole: %v", err)
			}
			for _, w := range tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v, want it to say %q", err, w)
				}
			}
			if len(lines) == 0 || !strings.Contains(lines[len(lines)-1], tc.want) {
				t.Errorf("progress %q, want the last line to say %q", lines, tc.want)
			}
		})
	}
}
