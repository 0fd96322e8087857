package matrix

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"

	"github.com/cnigate/cnigate/e2e/harness/cni"
	"github.com/cnigate/cnigate/e2e/harness/nodenet"
	"github.com/cnigate/cnigate/e2e/harness/probe"
)

func (s *suite) node(name string) (nodenet.NodeInfo, bool) {
	for _, n := range s.nodes {
		if n.Name == name {
			return n, true
		}
	}
	return nodenet.NodeInfo{}, false
}

// Behaviours of podnet's IPAM named in code (the others are in table.go).
const (
	bPodIPAM        = "pod IP in podCIDR, reserved"
	bPodCIDR        = "pod IP in podCIDR"
	bReservations   = "reservations == podnet pods"
	bChurnReleased  = "churn: IPs released"
	bChurnNotReused = "churn: released IPs not reused at once"
	bChurnConsisten = "churn: pods after churn"
)

// reservations reads podnet's reservation store of a node through that
// node's hostNetwork helper pod (data dir mounted read-only), so the same
// check works on a real cluster.
func reservations(ctx context.Context, s *suite, node string) ([]probe.Reservation, error) {
	dir := probe.ReservationDir(helperMount, cni.NetworkName)
	out, err := execIn(ctx, hostnetPod(s.short[node]), probe.ListReservationsCommand(dir)...)
	if err != nil {
		return nil, err
	}
	return probe.ParseReservations(out)
}

// ipamCheck: the pod's IP lies in its node's podCIDR, and (with reserved)
// podnet's store holds a reservation file named by that IP for the pod's
// sandbox and eth0.
func ipamCheck(f ipFamily, podName string, reserved bool) func(context.Context) (time.Duration, string, error) {
	return func(ctx context.Context) (time.Duration, string, error) {
		s := suiteFrom(ctx)
		pod, err := getPod(ctx, s, podName)
		if err != nil {
			return 0, "", err
		}
		ip, nodeName := f.podIPOf(pod), pod.Spec.NodeName
		node, ok := s.node(nodeName)
		if !ok {
			return 0, "", fmt.Errorf("pod %s runs on unknown node %s", podName, nodeName)
		}
		// the node's podCIDR in family f (printed as node.PodCIDR below)
		node.PodCIDR = f.nodePodCIDR(node)
		if ip == "" {
			return 0, "", fmt.Errorf("pod %s has no %s address (%v)", podName, f, pod.Status.PodIPs)
		}
		if !probe.InPrefix(ip, node.PodCIDR) {
			return 0, "", fmt.Errorf("pod IP %s is outside node %s podCIDR %s", ip, nodeName, node.PodCIDR)
		}
		if !reserved {
			return 0, fmt.Sprintf("%s in %s", ip, node.PodCIDR), nil
		}
		res, err := reservations(ctx, s, nodeName)
		if err != nil {
			return 0, "", err
		}
		i := slices.IndexFunc(res, func(r probe.Reservation) bool { return r.IP == ip })
		if i < 0 {
			return 0, "", fmt.Errorf("no reservation %s/%s/%s on node %s", cni.DataDir, cni.NetworkName, ip, nodeName)
		}
		r := res[i]
		if r.IfName != "eth0" {
			return 0, "", fmt.Errorf("reservation %s names interface %q, want eth0", ip, r.IfName)
		}
		mountinfo, err := execIn(ctx, podName, probe.SandboxIDCommand()...)
		if err != nil {
			return 0, "", err
		}
		sandbox := probe.SandboxID(mountinfo)
		switch {
		case sandbox != "" && r.ContainerID != sandbox:
			return 0, "", fmt.Errorf("reservation %s belongs to container %s, the pod's sandbox is %s", ip, r.ContainerID, sandbox)
		case sandbox == "":
			return 0, fmt.Sprintf("%s in %s, reserved by %.12s/%s (sandbox ID not visible: owner not compared)", ip, node.PodCIDR, r.ContainerID, r.IfName), nil
		}
		return 0, fmt.Sprintf("%s in %s, reserved by sandbox %.12s/%s", ip, node.PodCIDR, r.ContainerID, r.IfName), nil
	}
}

// podnetPodIPs are the IPs in family f of the pods on a node that are on the
// podnet network: not hostNetwork, given an IP, not finished.
func podnetPodIPs(ctx context.Context, s *suite, f ipFamily, node string) ([]string, error) {
	var list corev1.PodList
	if err := s.client.Resources().List(ctx, &list, resources.WithFieldSelector("spec.nodeName="+node)); err != nil {
		return nil, err
	}
	var ips []string
	for _, p := range list.Items {
		ip := f.podIPOf(&p)
		if p.Spec.HostNetwork || ip == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		ips = append(ips, ip)
	}
	sort.Strings(ips)
	return ips, nil
}

// countCheck: a node's podnet reservations are exactly its podnet pods' IPs
// (so the count matches too); forbidden, if given, are IPs that must not be
// reserved any more (released by deleted pods).
func countCheck(f ipFamily, node string, forbidden []string) func(context.Context) (time.Duration, string, error) {
	return func(ctx context.Context) (time.Duration, string, error) {
		s := suiteFrom(ctx)
		res, err := reservations(ctx, s, node)
		if err != nil {
			return 0, "", err
		}
		reserved := make([]string, 0, len(res))
		for _, r := range res {
			if f.pickIP(r.IP) != "" { // the pass's family: one store holds both
				reserved = append(reserved, r.IP)
			}
		}
		sort.Strings(reserved)
		pods, err := podnetPodIPs(ctx, s, f, node)
		if err != nil {
			return 0, "", err
		}
		for _, ip := range forbidden {
			if slices.Contains(reserved, ip) && !slices.Contains(pods, ip) {
				return 0, "", fmt.Errorf("IP %s of a deleted pod is still reserved", ip)
			}
		}
		if !slices.Equal(reserved, pods) {
			return 0, "", fmt.Errorf("%d reservations %v, %d podnet pods %v", len(reserved), reserved, len(pods), pods)
		}
		return 0, fmt.Sprintf("%d reservations == %d podnet pods", len(reserved), len(pods)), nil
	}
}

// ipamCells: with podnet, every matrix pod's IP is in its node's podCIDR and
// reserved for it; with another CNI only the podCIDR part runs (its own
// cell, "podcidr"). A node without a podCIDR (a gate cluster's CNI may not
// use them) skips, saying so.
func ipamCells(s *suite, f ipFamily) []cell {
	var cells []cell
	podnet := s.podnetSkip() == ""
	for _, p := range matrixPods(s) {
		node := p.Spec.NodeSelector[corev1.LabelHostname]
		c := cell{from: p.Name, to: "store@" + s.short[node], proto: "ipam", check: ipamCheck(f, p.Name, true)}
		if !podnet {
			c = cell{from: p.Name, to: "podCIDR@" + s.short[node], proto: "podcidr", check: ipamCheck(f, p.Name, false)}
		}
		if n, _ := s.node(node); f.nodePodCIDR(n) == "" {
			c.skip = "node " + node + " has no spec.podCIDR in family " + string(f) + " (its CNI allocates addresses without it)"
		}
		cells = append(cells, c)
	}
	return cells
}

func countCells(s *suite, f ipFamily, forbidden map[string][]string) []cell {
	var cells []cell
	skip := s.podnetSkip()
	for _, n := range s.nodes {
		cells = append(cells, cell{from: "node-" + s.short[n.Name], to: "store@" + s.short[n.Name], proto: "ipam", skip: skip, check: countCheck(f, n.Name, forbidden[n.Name])})
	}
	return cells
}

// matrixPodIPs maps node name -> IPs in family f of the matrix pods on it.
func matrixPodIPs(ctx context.Context, s *suite, f ipFamily) (map[string][]string, error) {
	out := map[string][]string{}
	for _, p := range matrixPods(s) {
		got, err := getPod(ctx, s, p.Name)
		if err != nil {
			return nil, err
		}
		out[got.Spec.NodeName] = append(out[got.Spec.NodeName], f.podIPOf(got))
	}
	return out, nil
}

func deleteMatrixPods(ctx context.Context, s *suite) error {
	pods := matrixPods(s)
	list := &corev1.PodList{}
	for _, p := range pods {
		if err := s.client.Resources().Delete(ctx, p, resources.WithGracePeriod(time.Second)); err != nil {
			return fmt.Errorf("delete pod %s: %w", p.Name, err)
		}
		list.Items = append(list.Items, *p)
	}
	return wait.For(conditions.New(s.client.Resources()).ResourcesDeleted(list),
		wait.WithContext(ctx), wait.WithInterval(time.Second), wait.WithTimeout(2*time.Minute))
}

// churn deletes and recreates the matrix pods -e2e.churn-rounds times:
// each round their IPs must be released and not handed out again at once,
// and after the churn the pods and the store must agree. With another CNI
// than podnet its cells are listed, skipped.
func churn(ctx context.Context, t *testing.T, s *suite, f ipFamily) {
	if skip := s.podnetSkip(); skip != "" { // listed in the report, as skipped
		cells := countCells(s, f, nil)
		for i := range cells {
			cells[i].to += " (churn)"
		}
		runCells(ctx, t, f, bChurnReleased, cells)
		return
	}
	for round := 1; round <= s.opt.ChurnRounds; round++ {
		if ctx.Err() != nil {
			t.Skipf("interrupted before round %d: %v", round, ctx.Err())
		}
		before, err := matrixPodIPs(ctx, s, f)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := deleteMatrixPods(ctx, s); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		// t.Run returns once its parallel cells are done: each step of a
		// round completes before the next starts.
		t.Run(fmt.Sprintf("round-%d-released", round), func(t *testing.T) {
			cells := countCells(s, f, before)
			for i := range cells {
				cells[i].to += fmt.Sprintf(" (round %d)", round)
			}
			runCells(ctx, t, f, bChurnReleased, cells)
		})
		if err := createPods(ctx, s, matrixPods(s)); err != nil {
			t.Fatalf("round %d: recreate: %v", round, err)
		}
		after, err := matrixPodIPs(ctx, s, f)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		// podnet hands out addresses round-robin after the last one given, so
		// a recreated pod must not get an address released a moment ago (its
		// conntrack and neighbour entries may still be live on other nodes).
		t.Run(fmt.Sprintf("round-%d-not-reused", round), func(t *testing.T) {
			var cells []cell
			for _, w := range s.workers {
				old, now := before[w.Name], after[w.Name]
				cells = append(cells, cell{from: "node-" + s.short[w.Name], to: fmt.Sprintf("store@%s (round %d)", s.short[w.Name], round), proto: "ipam",
					check: func(context.Context) (time.Duration, string, error) {
						var reused []string
						for _, ip := range now {
							if slices.Contains(old, ip) {
								reused = append(reused, ip)
							}
						}
						detail := fmt.Sprintf("released %v, new %v", old, now)
						if len(reused) > 0 {
							return 0, detail, fmt.Errorf("just-released IPs %v handed out again at once: %s", reused, detail)
						}
						return 0, detail, nil
					}})
			}
			runCells(ctx, t, f, bChurnNotReused, cells)
		})
	}
	t.Run("after-churn", func(t *testing.T) {
		s := suiteFrom(ctx)
		runCells(ctx, t, f, bChurnConsisten, append(ipamCells(s, f), countCells(s, f, nil)...))
	})
}
