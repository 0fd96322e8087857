package rollout

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/cnigate/cnigate/results"
	"github.com/cnigate/cnigate/rollout/flow"
)

// nodeChecks: a new pod on node starts (the CNI's ADD under the new pod
// of the DaemonSet), reaches the servers on the other nodes and their
// Services, and is reached from them, TCP and UDP; then the new pods are
// deleted (the CNI's DEL) and must be gone. seq tells the pods of one
// round from another's.
func (g *gate) nodeChecks(ctx context.Context, node string) []results.RolloutCheck {
	g.seq++
	tr := g.tr
	suffix := fmt.Sprintf("%s-%d", node, g.seq)
	srv := tr.serverPod("new-"+suffix, node)
	start := time.Now()
	ready, err := createAndWait(ctx, tr.cs, []*corev1.Pod{srv}, g.cfg.Thresholds.PodTimeout)
	checks := []results.RolloutCheck{check("new pod on "+node+" starts", start, err)}
	made := []string{srv.Name}
	defer func() { checks = append(checks, g.deletePods(ctx, node, made)) }()
	if err != nil {
		return checks
	}
	newIP := ready[0].Status.PodIP
	if name := "new pod on " + node + " has an IP no other pod has"; g.selected(name) {
		start = time.Now()
		checks = append(checks, check(name, start, g.uniqueIP(ctx, ready[0])))
	}

	// out: from a second new pod on node to the new server beside it, to
	// every other traffic node's server and to its Service.
	out := reachArgs{from: node, sel: g.selected}
	out.add("tcp", "same-node new pod", hostPort(newIP, tcpPort))
	out.add("udp", "same-node new pod", hostPort(newIP, udpPort))
	var others []string
	for _, m := range tr.nodes {
		if m == node {
			continue
		}
		others = append(others, m)
		ip := tr.podIPs[srvName(m)]
		out.add("tcp", "pod on "+m, hostPort(ip, tcpPort))
		out.add("udp", "pod on "+m, hostPort(ip, udpPort))
		out.add("tcp", svcName(m), hostPort(tr.svcIPs[svcName(m)], tcpPort))
	}
	if g.cfg.External != "" {
		out.add("tcp", "external", g.cfg.External)
	}
	var runs []*corev1.Pod
	if len(out.args) > 0 {
		runs = append(runs, tr.pod("out-"+suffix, node, "check", append([]string{"reach"}, out.args...)))
	}
	// in: from a new pod on every other traffic node to the new server on node.
	for _, m := range others {
		in := reachArgs{from: m, sel: g.selected}
		in.add("tcp", "new pod on "+node, hostPort(newIP, tcpPort))
		in.add("udp", "new pod on "+node, hostPort(newIP, udpPort))
		if len(in.args) > 0 {
			runs = append(runs, tr.pod(fmt.Sprintf("in-%s-%s", m, suffix), m, "check", append([]string{"reach"}, in.args...)))
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range runs {
		made = append(made, p.Name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := g.runReach(ctx, p)
			mu.Lock()
			checks = append(checks, c...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return checks
}

// runReach runs a `probe reach` pod to completion; each target is a check
// named "<pod's node> → <target> <proto>".
func (g *gate) runReach(ctx context.Context, p *corev1.Pod) []results.RolloutCheck {
	start := time.Now()
	from := p.Spec.NodeName
	name := fmt.Sprintf("%s: reach from %s", p.Name, from)
	done := func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	}
	if _, err := g.tr.cs.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		return []results.RolloutCheck{check(name, start, err)}
	}
	// The pod's start (sandbox) plus the probe's own 15 s per target.
	if _, err := waitPods(ctx, g.tr.cs, []*corev1.Pod{p}, g.cfg.Thresholds.PodTimeout+30*time.Second, done); err != nil {
		return []results.RolloutCheck{check(name, start, err)}
	}
	out, err := podLog(ctx, g.tr.cs, p.Namespace, p.Name)
	if err != nil {
		return []results.RolloutCheck{check(name, start, fmt.Errorf("logs: %w", err))}
	}
	res, err := flow.ParseReach(out)
	if err != nil {
		return []results.RolloutCheck{check(name, start, err)}
	}
	var checks []results.RolloutCheck
	for _, r := range res {
		c := results.RolloutCheck{Name: fmt.Sprintf("%s → %s %s", from, r.Target, r.Proto), Passed: r.OK, Ms: r.Ms}
		if !r.OK {
			c.Detail = fmt.Sprintf("%s: no answer in %d tries over %.0f ms: %s", r.Addr, r.Tries, r.Ms, r.Err)
		}
		checks = append(checks, c)
	}
	return checks
}

// deletePods deletes the check pods and waits until they are gone: a DEL
// that fails keeps a pod Terminating.
func (g *gate) deletePods(ctx context.Context, node string, names []string) results.RolloutCheck {
	start := time.Now()
	pods := g.tr.cs.CoreV1().Pods(g.tr.namespace)
	for _, n := range names {
		if err := pods.Delete(ctx, n, metav1.DeleteOptions{}); err != nil && !isNotFound(err) {
			return check("new pods on "+node+" deleted", start, err)
		}
	}
	var left string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, g.cfg.Thresholds.PodTimeout, true, func(ctx context.Context) (bool, error) {
		for _, n := range names {
			if _, err := pods.Get(ctx, n, metav1.GetOptions{}); err == nil || !isNotFound(err) {
				left = n
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		err = fmt.Errorf("pod %s still there after %v", left, g.cfg.Thresholds.PodTimeout)
	}
	return check("new pods on "+node+" deleted", start, err)
}

// uniqueIP: no other pod of the cluster has one of p's IPs (a CNI that lost
// its reservations hands out addresses in use).
func (g *gate) uniqueIP(ctx context.Context, p *corev1.Pod) error {
	list, err := g.cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	mine := map[string]bool{}
	for _, ip := range p.Status.PodIPs {
		mine[ip.IP] = true
	}
	var dup []string
	for _, o := range list.Items {
		if o.UID == p.UID || o.Spec.HostNetwork || o.Status.Phase == corev1.PodSucceeded || o.Status.Phase == corev1.PodFailed {
			continue
		}
		for _, ip := range o.Status.PodIPs {
			if mine[ip.IP] {
				dup = append(dup, fmt.Sprintf("%s/%s on %s has %s too", o.Namespace, o.Name, o.Spec.NodeName, ip.IP))
			}
		}
	}
	if len(dup) > 0 {
		return fmt.Errorf("%s", strings.Join(dup, "; "))
	}
	return nil
}

// reachArgs are a `probe reach` pod's targets, the ones --test selects:
// each is the check "<from> → <target> <proto>" (runReach's name).
type reachArgs struct {
	from string
	sel  func(name string) bool
	args []string
}

func (r *reachArgs) add(proto, target, addr string) {
	if r.sel(fmt.Sprintf("%s → %s %s", r.from, target, proto)) {
		r.args = append(r.args, "-"+proto, target+"="+addr)
	}
}

// selected reports whether --test selects the check named name.
func (g *gate) selected(name string) bool { return g.cfg.Tests.Match(name) }

// CheckNames are the names of the checks after each node's switch, for
// `cnigate rollout --list` (NODE, OTHER: the nodes); those marked
// "(always)" run whatever --test says.
func CheckNames(external, reservations bool) []string {
	names := []string{
		"new pod on NODE starts (always)",
		"new pod on NODE has an IP no other pod has",
		"NODE → same-node new pod tcp", "NODE → same-node new pod udp",
		"NODE → pod on OTHER tcp", "NODE → pod on OTHER udp", "NODE → svc-OTHER tcp",
	}
	if external {
		names = append(names, "NODE → external tcp")
	}
	names = append(names, "OTHER → new pod on NODE tcp", "OTHER → new pod on NODE udp", "new pods on NODE deleted (always)")
	if reservations {
		names = append(names, "reservations on NODE equal its pods")
	}
	return names
}
