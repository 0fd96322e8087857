package matrix

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"path"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/e2e-framework/klient/decoder"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/klient/wait"

	"github.com/cnigate/cnigate/deploy"
	"github.com/cnigate/cnigate/e2e/harness/cni"
	"github.com/cnigate/cnigate/e2e/harness/nodenet"
	"github.com/cnigate/cnigate/e2e/harness/probe"
	kindconfig "github.com/cnigate/cnigate/kind-config"
)

// The healing cells: a CNI deployed by its node agent keeps the node's
// network in place. Each cell breaks one thing on a node the way production
// does (a route deleted, the rules flushed, the binary wiped, the agent
// killed, the node restarted or deleted) and measures how long the agent
// takes to put it back; 10 s is the bound (healBound). They change the
// nodes, so they run on kind clusters the harness created with podnet's
// agent, one step after another, after every other group.

const (
	healBound   = 10 * time.Second
	healPoll    = 250 * time.Millisecond
	ruleComment = "podnet: " + deploy.NetworkName // podnet's rules (docs/podnet.md)
	agentBinary = "podnet-agent"
)

// Behaviours of the healing group.
const (
	bHealRoute   = "agent heals: route deleted"
	bHealRules   = "agent heals: rules flushed"
	bHealBinary  = "agent heals: binary wiped"
	bAgentKilled = "agent killed mid-reconcile"
	bNodeRestart = "node restart"
	bUninstall   = "agent gone, node NotReady; back, Ready"
	bNodeDelete  = "node delete"
)

// healSkip is why the healing cells cannot run on s ("" when they can).
func (s *suite) healSkip() string {
	switch {
	case s.gate:
		return "changes the nodes (routes, rules, restarts): only on a kind cluster the harness created"
	case !s.installed().Agent:
		return "checks podnet's node agent; the harness installed " + s.opt.CNI + " by hand"
	case len(s.workers) < 2:
		return "needs two workers"
	}
	return ""
}

// healPair is the worker the cells break (a) and the one it talks to (b).
func healPair(s *suite) (a, b nodenet.NodeInfo) { return s.workers[0], s.workers[1] }

// podCIDRsOf are a node's podCIDRs in the cluster's families.
func podCIDRsOf(s *suite, n nodenet.NodeInfo) []string {
	var out []string
	if s.has4() && n.PodCIDR != "" {
		out = append(out, n.PodCIDR)
	}
	if s.has6() && n.PodCIDR6 != "" {
		out = append(out, n.PodCIDR6)
	}
	return out
}

// gatewayOf is b's InternalIP in cidr's family.
func gatewayOf(b nodenet.NodeInfo, cidr string) string {
	if strings.Contains(cidr, ":") {
		return b.InternalIP6
	}
	return b.InternalIP
}

// until polls f every healPoll until it returns true or bound passes, and
// returns how long that took.
func until(ctx context.Context, bound time.Duration, f func() (bool, error)) (time.Duration, error) {
	start := time.Now()
	var last error
	for {
		ok, err := f()
		if ok && err == nil {
			return time.Since(start), nil
		}
		last = err
		if time.Since(start) > bound {
			if last != nil {
				return time.Since(start), fmt.Errorf("not within %s: %w", bound, last)
			}
			return time.Since(start), fmt.Errorf("not within %s", bound)
		}
		select {
		case <-ctx.Done():
			return time.Since(start), ctx.Err()
		case <-time.After(healPoll):
		}
	}
}

// routesIn is nil when a's routes to b's podCIDRs go via b's InternalIP of
// their family as the API has it now: a restarted kind node may come back
// with another address (Docker hands out IPv6 addresses anew), and the
// agents must follow it.
func routesIn(ctx context.Context, a, b nodenet.NodeInfo, cidrs []string) error {
	live, err := liveNode(ctx, suiteFrom(ctx), b.Name)
	if err != nil {
		return err
	}
	via, err := nodenet.RouteVia(ctx, a.Name, cidrs)
	if err != nil {
		return err
	}
	for _, c := range cidrs {
		if want := gatewayOf(live, c); via[c] != want {
			return fmt.Errorf("node %s: route to %s (node %s) via %q, want via %s", a.Name, c, b.Name, via[c], want)
		}
	}
	return nil
}

// liveNode is a node as the API describes it now.
func liveNode(ctx context.Context, s *suite, name string) (nodenet.NodeInfo, error) {
	var n corev1.Node
	if err := s.client.Resources().Get(ctx, name, "", &n); err != nil {
		return nodenet.NodeInfo{}, err
	}
	infos, _ := describeNodes([]corev1.Node{n})
	return infos[0], nil
}

// nodeState is what the agent owns on a node, for comparing before and after.
func nodeState(ctx context.Context, s *suite, n nodenet.NodeInfo) (string, error) {
	var parts []string
	for _, o := range s.nodes {
		if o.Name == n.Name {
			continue
		}
		via, err := nodenet.RouteVia(ctx, n.Name, podCIDRsOf(s, o))
		if err != nil {
			return "", err
		}
		for _, c := range slices.Sorted(maps.Keys(via)) {
			parts = append(parts, "route "+c+" via "+via[c])
		}
	}
	for _, v6 := range familiesV6(s) {
		rules, err := nodenet.RulesWithComment(ctx, n.Name, ruleComment, v6)
		if err != nil {
			return "", err
		}
		parts = append(parts, rules...)
	}
	conf, err := nodeExec(ctx, s, n.Name, "sh", "-c", "cat /etc/cni/net.d/*.conflist; sha256sum /opt/cni/bin/podnet")
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(conf))
	parts = append(parts, "conf+binary "+hex.EncodeToString(sum[:6]))
	return strings.Join(parts, "\n"), nil
}

// familiesV6 lists, per family of the cluster, whether it is IPv6.
func familiesV6(s *suite) []bool {
	var out []bool
	if s.has4() {
		out = append(out, false)
	}
	if s.has6() {
		out = append(out, true)
	}
	return out
}

func ipFamilyName(v6 bool) string {
	if v6 {
		return kindconfig.IPv6
	}
	return kindconfig.IPv4
}

// nodeExec runs a command in a kind node (a container).
func nodeExec(ctx context.Context, _ *suite, node string, cmd ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return nodenet.Docker(ctx, append([]string{"exec", node}, cmd...)...)
}

// httpBetween: HTTP from pod from to pod to's web port over family v6.
func httpBetween(from, to string, v6 bool) check {
	return func(ctx context.Context) (time.Duration, string, error) {
		s := suiteFrom(ctx)
		p, err := getPod(ctx, s, to)
		if err != nil {
			return 0, "", err
		}
		ip := ""
		for _, a := range p.Status.PodIPs {
			if strings.Contains(a.IP, ":") == v6 {
				ip = a.IP
			}
		}
		if ip == "" {
			return 0, "", fmt.Errorf("pod %s has no %s address", to, ipFamilyName(v6))
		}
		return httpCheck(from, hostPort(ip, webPort), nil)(ctx)
	}
}

// healCells builds the cells of one healing behaviour on s: they run once,
// not per pass, each naming its own family.
func healCells(behaviour string) func(s *suite, _ ipFamily, _ map[string]*corev1.Pod) []cell {
	return func(s *suite, _ ipFamily, _ map[string]*corev1.Pod) []cell {
		if skip := s.healSkip(); skip != "" {
			return []cell{{from: "agent", to: "node", proto: "heal", skip: skip}}
		}
		a, b := healPair(s)
		wa, wb := s.short[a.Name], s.short[b.Name]
		var cells []cell
		switch behaviour {
		case bHealRoute:
			for _, c := range podCIDRsOf(s, b) {
				cells = append(cells, cell{from: "node-" + wa, to: "route " + c + " (" + wb + ")", proto: "route", family: familyOfCIDR(s, c), once: true,
					check: healRouteCheck(a, b, c)})
			}
		case bHealRules:
			for _, v6 := range familiesV6(s) {
				cells = append(cells, cell{from: "node-" + wa, to: "rules " + ruleComment, proto: map[bool]string{false: "iptables", true: "ip6tables"}[v6],
					family: familyLabelOf(s, v6), once: true, check: healRulesCheck(a, v6)})
			}
		case bHealBinary:
			cells = append(cells, cell{from: "node-" + wa, to: "/opt/cni/bin/podnet", proto: "file", once: true, check: healBinaryCheck(a)})
			for _, v6 := range familiesV6(s) {
				cells = append(cells, cell{from: healPod(wa), to: webPod(wb), proto: "http", family: familyLabelOf(s, v6), check: newPodCheck(a, webPod(wb), v6)})
			}
		case bAgentKilled:
			seed := time.Now().UnixNano()
			rng := rand.New(rand.NewPCG(uint64(seed), 0))
			klog.Infof("%s: %d kills, random delays seeded with %d", behaviour, s.opt.AgentKills, seed)
			for i := 1; i <= s.opt.AgentKills; i++ {
				delay := time.Duration(rng.Int64N(int64(1500 * time.Millisecond)))
				cells = append(cells, cell{from: "kill " + fmt.Sprint(i), to: "agent@" + wa, proto: "sigkill", once: true,
					check: agentKillCheck(a, delay)})
				for _, v6 := range familiesV6(s) {
					cells = append(cells, cell{from: shellPod(wa), to: webPod(wb) + fmt.Sprintf(" (after kill %d)", i), proto: "http",
						family: familyLabelOf(s, v6), check: httpBetween(shellPod(wa), webPod(wb), v6)})
				}
			}
		case bNodeRestart:
			cells = append(cells, cell{from: "docker restart", to: "node-" + wa, proto: "restart", once: true, check: nodeRestartCheck(a)})
			for _, v6 := range familiesV6(s) {
				cells = append(cells,
					cell{from: shellPod(wa), to: webPod(wb), proto: "http", family: familyLabelOf(s, v6), check: httpBetween(shellPod(wa), webPod(wb), v6)},
					cell{from: shellPod(wb), to: webPod(wa), proto: "http", family: familyLabelOf(s, v6), check: httpBetween(shellPod(wb), webPod(wa), v6)})
			}
		case bUninstall:
			cells = append(cells, cell{from: "podnet-uninstall", to: "node-" + wb, proto: "uninstall", once: true, check: uninstallCheck(b)})
		case bNodeDelete:
			cells = append(cells, cell{from: "kubectl delete node", to: "node-" + wb, proto: "delete", once: true, check: nodeDeleteCheck(b)})
			// the node back as a new Node (new podCIDRs): a new pod there reaches the others
			for _, v6 := range familiesV6(s) {
				cells = append(cells, cell{from: healPod(wb), to: webPod(wa), proto: "http", family: familyLabelOf(s, v6), check: newPodCheck(b, webPod(wa), v6)})
			}
		}
		return cells
	}
}

func familyOfCIDR(s *suite, cidr string) string { return familyLabelOf(s, strings.Contains(cidr, ":")) }

// familyLabelOf is the family a healing cell's name carries ("" on an
// IPv4-only cluster, as every cell's).
func familyLabelOf(s *suite, v6 bool) string {
	if !s.has6() {
		return ""
	}
	return ipFamilyName(v6)
}

// healRouteCheck deletes a's route to b's cidr and times its return.
func healRouteCheck(a, b nodenet.NodeInfo, cidr string) check {
	return func(ctx context.Context) (time.Duration, string, error) {
		if err := routesIn(ctx, a, b, []string{cidr}); err != nil {
			return 0, "", fmt.Errorf("before: %w", err)
		}
		if err := nodenet.DeleteRoutes(ctx, a.Name, []string{cidr}); err != nil {
			return 0, "", err
		}
		took, err := until(ctx, healBound, func() (bool, error) { return routesIn(ctx, a, b, []string{cidr}) == nil, nil })
		if err != nil {
			// put it back by hand: the later cells test their own behaviour, not this one's
			restore := []nodenet.Route{}
			if _, dst, perr := net.ParseCIDR(cidr); perr == nil {
				restore = append(restore, nodenet.Route{Dst: dst, Gw: net.ParseIP(gatewayOf(b, cidr))})
			}
			if rerr := nodenet.ReplaceRoutesInContainer(context.WithoutCancel(ctx), a.Name, restore); rerr != nil {
				klog.Errorf("restoring the route to %s on %s by hand: %v", cidr, a.Name, rerr)
			}
			return took, "", fmt.Errorf("route to %s deleted on %s: %w (restored by hand for the next cells)", cidr, a.Name, err)
		}
		return took, fmt.Sprintf("route to %s via %s back after %d ms", cidr, gatewayOf(b, cidr), took.Milliseconds()), nil
	}
}

// healRulesCheck deletes podnet's rules on a and times their return.
func healRulesCheck(a nodenet.NodeInfo, v6 bool) check {
	return func(ctx context.Context) (time.Duration, string, error) {
		before, err := nodenet.RulesWithComment(ctx, a.Name, ruleComment, v6)
		if err != nil {
			return 0, "", err
		}
		if len(before) == 0 {
			return 0, "", fmt.Errorf("node %s has no %q rules to flush", a.Name, ruleComment)
		}
		if _, err := nodenet.DeleteRulesWithComment(ctx, a.Name, ruleComment, v6); err != nil {
			return 0, "", err
		}
		took, err := until(ctx, healBound, func() (bool, error) {
			now, err := nodenet.RulesWithComment(ctx, a.Name, ruleComment, v6)
			return slices.Equal(now, before), err
		})
		if err != nil {
			return took, "", fmt.Errorf("%d rules flushed on %s: %w", len(before), a.Name, err)
		}
		return took, fmt.Sprintf("%d rules back after %d ms", len(before), took.Milliseconds()), nil
	}
}

// healBinaryCheck removes podnet's binary on a and times its return.
func healBinaryCheck(a nodenet.NodeInfo) check {
	return func(ctx context.Context) (time.Duration, string, error) {
		s := suiteFrom(ctx)
		if _, err := nodeExec(ctx, s, a.Name, "rm", "/opt/cni/bin/podnet"); err != nil {
			return 0, "", err
		}
		took, err := until(ctx, healBound, func() (bool, error) {
			_, err := nodeExec(ctx, s, a.Name, "test", "-x", "/opt/cni/bin/podnet")
			return err == nil, nil
		})
		if err != nil {
			return took, "", fmt.Errorf("/opt/cni/bin/podnet removed on %s: %w", a.Name, err)
		}
		return took, fmt.Sprintf("back after %d ms", took.Milliseconds()), nil
	}
}

func healPod(w string) string { return "heal-" + w }

// newPodCheck starts a pod on a (once) and checks it reaches pod to.
func newPodCheck(a nodenet.NodeInfo, to string, v6 bool) check {
	return func(ctx context.Context) (time.Duration, string, error) {
		s := suiteFrom(ctx)
		name := healPod(s.short[a.Name])
		if _, err := getPod(ctx, s, name); err != nil {
			if err := createPods(ctx, s, []*corev1.Pod{testPod(s, name, a.Name, "shell", []string{"sleep", "86400"})}); err != nil {
				return 0, "", err
			}
		}
		return httpBetween(name, to, v6)(ctx)
	}
}

// agentKillCheck breaks node a (breakNode), SIGKILLs its agent delay later,
// while it repairs, replaces its pod so that the DaemonSet starts a new one
// at once (kubelet would back off a crashing container for minutes), and
// checks the node converges to the state it had before the break.
func agentKillCheck(a nodenet.NodeInfo, delay time.Duration) check {
	return func(ctx context.Context) (time.Duration, string, error) {
		s := suiteFrom(ctx)
		if err := waitAgentsReady(ctx, s, time.Minute); err != nil {
			return 0, "", fmt.Errorf("before the kill: %w", err)
		}
		want, err := nodeState(ctx, s, a)
		if err != nil {
			return 0, "", err
		}
		pod, err := agentPod(ctx, s, a.Name)
		if err != nil {
			return 0, "", err
		}
		if pod == nil {
			return 0, "", fmt.Errorf("no agent pod on %s", a.Name)
		}
		// Break the node so the agent has work to do, and kill it while it
		// repairs: its routes at once (netlink events), its rules and the
		// binary within its period. Whatever it had done when it died, the
		// next agent must finish.
		if err := breakNode(ctx, s, a); err != nil {
			return 0, "", err
		}
		time.Sleep(delay)
		if _, err := nodeExec(ctx, s, a.Name, "pkill", "-KILL", "-x", agentBinary); err != nil {
			return 0, "", fmt.Errorf("SIGKILL %s on %s: %w", agentBinary, a.Name, err)
		}
		start := time.Now()
		if err := s.client.Resources().Delete(ctx, pod, resources.WithGracePeriod(0)); err != nil {
			return 0, "", err
		}
		// A new pod, not the killed one's stale status: its reconcile is the one checked.
		if err := waitAgentRestartedReady(ctx, s, a.Name, pod, time.Minute); err != nil {
			return 0, "", fmt.Errorf("after the kill: %w", err)
		}
		var got string
		took, err := until(ctx, healBound, func() (bool, error) {
			var err error
			got, err = nodeState(ctx, s, a)
			return got == want, err
		})
		if err != nil {
			return took, "", fmt.Errorf("killed %s after %d ms: node state %q, want %q: %w", agentBinary, delay.Milliseconds(), got, want, err)
		}
		return time.Since(start), fmt.Sprintf("node broken, agent killed %d ms later; new agent Ready and the node as before %d ms after the kill", delay.Milliseconds(), time.Since(start).Milliseconds()), nil
	}
}

// breakNode removes from n what the agent owns: its routes to every other
// node's pod subnets, podnet's rules in each family, podnet's binary.
func breakNode(ctx context.Context, s *suite, n nodenet.NodeInfo) error {
	var cidrs []string
	for _, o := range s.nodes {
		if o.Name != n.Name {
			cidrs = append(cidrs, podCIDRsOf(s, o)...)
		}
	}
	if err := nodenet.DeleteRoutes(ctx, n.Name, cidrs); err != nil {
		return err
	}
	for _, v6 := range familiesV6(s) {
		if _, err := nodenet.DeleteRulesWithComment(ctx, n.Name, ruleComment, v6); err != nil {
			return err
		}
	}
	_, err := nodeExec(ctx, s, n.Name, "rm", "-f", "/opt/cni/bin/podnet")
	return err
}

// waitAgentRestartedReady waits until node's agent is Ready in a container
// started after before's: a new pod, or before's pod restarted.
func waitAgentRestartedReady(ctx context.Context, s *suite, node string, before *corev1.Pod, timeout time.Duration) error {
	err := waitRestartedReady(ctx, []*corev1.Pod{before}, func(ctx context.Context) (map[string]*corev1.Pod, error) {
		p, err := agentPod(ctx, s, node)
		if err != nil || p == nil {
			return nil, err
		}
		return map[string]*corev1.Pod{before.Name: p}, nil
	}, timeout)
	if err != nil {
		return fmt.Errorf("node %s: agent: %w", node, err)
	}
	return nil
}

// waitRestartedReady waits until each of before is Ready again in a
// container started since: a pod of another UID under its key (a replaced
// pod), or the same pod with more container restarts. A pod's Ready
// condition and a DaemonSet's status can still describe the containers from
// before a restart; restart counts cannot.
func waitRestartedReady(ctx context.Context, before []*corev1.Pod, list func(context.Context) (map[string]*corev1.Pod, error), timeout time.Duration) error {
	restarts := func(p *corev1.Pod) int32 {
		var n int32
		for _, c := range p.Status.ContainerStatuses {
			n += c.RestartCount
		}
		return n
	}
	var last string
	err := wait.For(func(ctx context.Context) (bool, error) {
		now, err := list(ctx)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		for _, b := range before {
			p, ok := now[b.Name]
			switch {
			case !ok || p == nil:
				last = "no pod " + b.Name
			case p.UID == b.UID && restarts(p) == restarts(b):
				last = p.Name + " not restarted yet"
			case !probe.PodConditionTrue(p, corev1.PodReady):
				last = p.Name + " not Ready"
			default:
				continue
			}
			return false, nil
		}
		return true, nil
	}, wait.WithContext(ctx), wait.WithInterval(500*time.Millisecond), wait.WithTimeout(timeout), wait.WithImmediate())
	if err != nil {
		return fmt.Errorf("%s: %w", last, err)
	}
	return nil
}

// waitNodeReadySince waits for a node Ready on a kubelet heartbeat after
// since (a restarted node's status says Ready until its kubelet reports).
func waitNodeReadySince(ctx context.Context, s *suite, name string, since time.Time, timeout time.Duration) error {
	var last string
	err := wait.For(func(ctx context.Context) (bool, error) {
		var n corev1.Node
		if err := s.client.Resources().Get(ctx, name, "", &n); err != nil {
			last = err.Error()
			return false, nil
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				last = fmt.Sprintf("Ready %s, heartbeat %s", c.Status, c.LastHeartbeatTime.UTC().Format(time.TimeOnly))
				return c.Status == corev1.ConditionTrue && c.LastHeartbeatTime.After(since.Truncate(time.Second)), nil
			}
		}
		last = "no Ready condition"
		return false, nil
	}, wait.WithContext(ctx), wait.WithInterval(time.Second), wait.WithTimeout(timeout), wait.WithImmediate())
	if err != nil {
		return fmt.Errorf("node %s: %s: %w", name, last, err)
	}
	return nil
}

// nodeRestartCheck restarts a's container and times: node Ready, agent
// Ready, a's routes to every other node and every other node's routes to a,
// podnet's rules; then the test pods on a Ready again (the following cells
// check connectivity through a).
func nodeRestartCheck(a nodenet.NodeInfo) check {
	return func(ctx context.Context) (time.Duration, string, error) {
		s := suiteFrom(ctx)
		before, err := agentPod(ctx, s, a.Name)
		if err != nil {
			return 0, "", err
		}
		if before == nil {
			return 0, "", fmt.Errorf("no agent pod on %s before the restart", a.Name)
		}
		listed, err := listTestPods(ctx, s)
		if err != nil {
			return 0, "", err
		}
		var podsOnA []*corev1.Pod
		for _, p := range append(matrixPods(s), helperPods(s)...) {
			if got, ok := listed[p.Name]; ok && p.Spec.NodeSelector[corev1.LabelHostname] == a.Name {
				podsOnA = append(podsOnA, got)
			}
		}
		start := time.Now()
		if _, err := nodenet.Docker(ctx, "restart", a.Name); err != nil {
			return 0, "", err
		}
		var steps []string
		mark := func(what string) { steps = append(steps, fmt.Sprintf("%s %.1fs", what, time.Since(start).Seconds())) }
		if err := waitNodeReadySince(ctx, s, a.Name, start, 3*time.Minute); err != nil {
			return 0, "", err
		}
		mark("node Ready")
		if now, err := liveNode(ctx, s, a.Name); err == nil && (now.InternalIP != a.InternalIP || now.InternalIP6 != a.InternalIP6) {
			steps = append(steps, fmt.Sprintf("InternalIP now %s (was %s)", strings.Trim(now.InternalIP+" "+now.InternalIP6, " "), strings.Trim(a.InternalIP+" "+a.InternalIP6, " ")))
		}
		// Ready again after the restart: the DaemonSet's status and the old
		// pod's Ready condition can still describe the agent from before it.
		if err := waitAgentRestartedReady(ctx, s, a.Name, before, 2*time.Minute); err != nil {
			return 0, strings.Join(steps, ", "), err
		}
		mark("agent Ready")
		// The agent is Ready once its routes and rules are in; the other
		// nodes' agents get healBound to follow a changed InternalIP.
		_, err = until(ctx, healBound, func() (bool, error) {
			var errs []error
			for _, o := range s.nodes {
				if o.Name == a.Name {
					continue
				}
				errs = append(errs, routesIn(ctx, a, o, podCIDRsOf(s, o)), routesIn(ctx, o, a, podCIDRsOf(s, a)))
			}
			for _, v6 := range familiesV6(s) {
				rules, err := nodenet.RulesWithComment(ctx, a.Name, ruleComment, v6)
				if err == nil && len(rules) == 0 {
					err = fmt.Errorf("node %s: no %s rules %q", a.Name, ipFamilyName(v6), ruleComment)
				}
				errs = append(errs, err)
			}
			err := errors.Join(errs...)
			return err == nil, err
		})
		if err != nil {
			return 0, strings.Join(steps, ", "), fmt.Errorf("once the agent was Ready: %w", err)
		}
		mark("routes and rules in place")
		if err := waitRestartedReady(ctx, podsOnA, func(ctx context.Context) (map[string]*corev1.Pod, error) { return listTestPods(ctx, s) }, 3*time.Minute); err != nil {
			return 0, strings.Join(steps, ", "), fmt.Errorf("test pods on %s: %w", a.Name, err)
		}
		mark("test pods Ready")
		return time.Since(start), strings.Join(steps, ", "), nil
	}
}

// uninstallCheck takes the agent off b (a node affinity on its DaemonSet),
// runs podnet's uninstall manifest there, and checks the node turns NotReady
// (its runtime finds no conflist) with its routes gone; then it gives the
// agent back and checks the node turns Ready with its routes and conflist.
func uninstallCheck(b nodenet.NodeInfo) check {
	return func(ctx context.Context) (time.Duration, string, error) {
		s := suiteFrom(ctx)
		start := time.Now()
		var steps []string
		mark := func(what string) { steps = append(steps, fmt.Sprintf("%s %.1fs", what, time.Since(start).Seconds())) }
		fail := func(err error) (time.Duration, string, error) {
			return time.Since(start), strings.Join(steps, ", "), err
		}
		if err := setAgentExcluded(ctx, s, b.Name); err != nil {
			return fail(err)
		}
		if err := waitAgentsReady(ctx, s, 2*time.Minute); err != nil {
			return fail(err)
		}
		// gone, not merely terminating: the uninstall pod takes its port
		if err := waitNoPodOn(ctx, s, b.Name, deploy.DaemonSet); err != nil {
			return fail(err)
		}
		mark("agent off the node")
		// a foreign route, which uninstall must leave
		foreign := []string{"198.51.100.0/24"}
		if s.has6() {
			foreign = append(foreign, "2001:db8:cafe::/64")
		}
		if err := nodenet.AddUnreachableRoutes(ctx, b.Name, foreign); err != nil {
			return fail(err)
		}
		defer func() { _ = nodenet.DeleteRoutes(context.WithoutCancel(ctx), b.Name, foreign) }()
		o, err := podnetOptions(ctx, s)
		if err != nil {
			return fail(err)
		}
		raw, err := deploy.RenderUninstall(o, b.Name)
		if err != nil {
			return fail(err)
		}
		// (its Namespace and ConfigMap are podnet.yaml's, already there: kept, as kubectl apply would)
		if err := decoder.DecodeEach(ctx, bytes.NewReader(raw), decoder.CreateIgnoreAlreadyExists(s.client.Resources())); err != nil {
			return fail(fmt.Errorf("applying the uninstall manifest: %w", err))
		}
		if err := waitDaemonSetReady(ctx, s, deploy.UninstallDaemonSet, 1, 2*time.Minute); err != nil {
			return fail(err)
		}
		mark("uninstalled")
		if err := waitNodeCondition(ctx, s, b.Name, corev1.ConditionFalse, 2*time.Minute); err != nil {
			return fail(fmt.Errorf("node %s never turned NotReady without podnet: %w", b.Name, err))
		}
		mark("node NotReady")
		var errs []error
		if _, err := nodeExec(ctx, s, b.Name, "test", "!", "-e", path.Join(cni.ConfDir, deploy.ConflistName)); err != nil {
			errs = append(errs, fmt.Errorf("conflist still there: %w", err))
		}
		if left, err := nodenet.RoutesOfProtocol(ctx, b.Name, deploy.RouteProtocol); err != nil || len(left) > 0 {
			errs = append(errs, fmt.Errorf("routes of the agent's protocol %d still on %s: %v %w", deploy.RouteProtocol, b.Name, left, err))
		}
		if via, err := nodenet.RouteVia(ctx, b.Name, foreign); err != nil || slices.Contains(slices.Collect(maps.Values(via)), "") {
			errs = append(errs, fmt.Errorf("uninstall touched a foreign route on %s: %v %w", b.Name, via, err))
		}
		if err := errors.Join(errs...); err != nil {
			return fail(err)
		}
		ds := &appsv1.DaemonSet{}
		ds.Name, ds.Namespace = deploy.UninstallDaemonSet, deploy.Namespace
		if err := s.client.Resources().Delete(ctx, ds); err != nil {
			return fail(err)
		}
		// gone, not merely terminating: the agent takes its port
		if err := waitNoPodOn(ctx, s, b.Name, deploy.UninstallDaemonSet); err != nil {
			return fail(err)
		}
		if err := setAgentExcluded(ctx, s, ""); err != nil {
			return fail(err)
		}
		if err := waitAgentsReady(ctx, s, 2*time.Minute); err != nil {
			return fail(err)
		}
		mark("agent back")
		if err := waitNodeReady(ctx, s, b.Name, 2*time.Minute); err != nil {
			return fail(err)
		}
		mark("node Ready")
		for _, o := range s.nodes {
			if o.Name != b.Name {
				errs = append(errs, routesIn(ctx, b, o, podCIDRsOf(s, o)))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return fail(err)
		}
		return time.Since(start), strings.Join(steps, ", "), nil
	}
}

// waitNoPodOn waits until no pod of podnet's DaemonSet ds is on node, not
// even a terminating one.
func waitNoPodOn(ctx context.Context, s *suite, node, ds string) error {
	err := wait.For(func(ctx context.Context) (bool, error) {
		var list corev1.PodList
		err := s.client.Resources(deploy.Namespace).List(ctx, &list, resources.WithFieldSelector("spec.nodeName="+node),
			resources.WithLabelSelector(deploy.AppLabel+"="+ds))
		return err == nil && len(list.Items) == 0, nil
	}, wait.WithContext(ctx), wait.WithInterval(500*time.Millisecond), wait.WithTimeout(time.Minute))
	if err != nil {
		return fmt.Errorf("the %s pod on %s did not go: %w", ds, node, err)
	}
	return nil
}

// setAgentExcluded keeps podnet's agent off node (a required node affinity
// on its DaemonSet), or lets it everywhere again with node "".
func setAgentExcluded(ctx context.Context, s *suite, node string) error {
	ds, err := agentDaemonSet(ctx, s)
	if err != nil {
		return err
	}
	ds.Spec.Template.Spec.Affinity = nil
	if node != "" {
		ds.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpNotIn, Values: []string{node}}},
			}}},
		}}
	}
	return s.client.Resources().Update(ctx, ds)
}

// waitNodeCondition waits for a node's Ready condition to have status want.
func waitNodeCondition(ctx context.Context, s *suite, name string, want corev1.ConditionStatus, timeout time.Duration) error {
	var last string
	err := wait.For(func(ctx context.Context) (bool, error) {
		var n corev1.Node
		if err := s.client.Resources().Get(ctx, name, "", &n); err != nil {
			last = err.Error()
			return false, nil
		}
		status, msg := readyCondition(&n)
		last = string(status) + ": " + msg
		return status == want, nil
	}, wait.WithContext(ctx), wait.WithInterval(time.Second), wait.WithTimeout(timeout), wait.WithImmediate())
	if err != nil {
		return fmt.Errorf("node %s Ready %s, want %s: %w", name, last, want, err)
	}
	return nil
}

// nodeDeleteCheck stops b's kubelet (else it registers the node again at
// once), deletes b's Node, and checks every other node's routes to b's pod
// subnets go within healBound; then it puts the node back
// (restoreDeletedNode) and fails if it does not come back whole.
func nodeDeleteCheck(b nodenet.NodeInfo) check {
	return func(ctx context.Context) (time.Duration, string, error) {
		s := suiteFrom(ctx)
		cidrs := podCIDRsOf(s, b)
		for _, o := range s.nodes { // else the cell would pass on routes that never were
			if o.Name != b.Name {
				if err := routesIn(ctx, o, b, cidrs); err != nil {
					return 0, "", fmt.Errorf("before the delete: %w", err)
				}
			}
		}
		if _, err := nodeExec(ctx, s, b.Name, "systemctl", "stop", "kubelet"); err != nil {
			return 0, "", err
		}
		took, detail, err := deleteNode(ctx, s, b, cidrs)
		back, rerr := restoreDeletedNode(ctx, s, b, cidrs)
		return took, strings.Join(slices.DeleteFunc([]string{detail, back}, func(d string) bool { return d == "" }), "; "), errors.Join(err, rerr)
	}
}

// deleteNode deletes b's Node (its kubelet stopped) and times the removal
// of every other node's routes to b's pod subnets cidrs.
func deleteNode(ctx context.Context, s *suite, b nodenet.NodeInfo, cidrs []string) (time.Duration, string, error) {
	node := &corev1.Node{}
	node.Name = b.Name
	if err := s.client.Resources().Delete(ctx, node); err != nil {
		return 0, "", err
	}
	var details []string
	start := time.Now()
	for _, o := range s.nodes {
		if o.Name == b.Name {
			continue
		}
		_, err := until(ctx, healBound-time.Since(start), func() (bool, error) {
			via, err := nodenet.RouteVia(ctx, o.Name, cidrs)
			for _, c := range cidrs {
				if via[c] != "" {
					return false, err
				}
			}
			return err == nil, err
		})
		if err != nil {
			return 0, strings.Join(details, ", "), fmt.Errorf("node %s still routes %v to deleted node %s: %w", o.Name, cidrs, b.Name, err)
		}
		details = append(details, fmt.Sprintf("%s: gone after %d ms", s.short[o.Name], time.Since(start).Milliseconds()))
	}
	return time.Since(start), "routes to " + strings.Join(cidrs, ", ") + " removed: " + strings.Join(details, ", "), nil
}

// restoreDeletedNode starts b's kubelet again and waits until the node is
// back whole: it registers a new Node, which kube-controller-manager gives
// new podCIDRs (the old ones went back to its pool), every other node must
// route them to b, and the pods that ran on b through it keep addresses of
// the old subnets, which no node routes any longer (Kubernetes keeps them:
// its pod garbage collector only takes pods of nodes gone for 40 s). Those
// are deleted, as an operator would after such a delete: left, they
// broke whatever reached them (2026-12-07: both CoreDNS replicas, and the
// upstream conformance stage's DNS and NodePort specs with them, for every
// pod off b). The cells after this one check a new pod on b.
func restoreDeletedNode(ctx context.Context, s *suite, b nodenet.NodeInfo, old []string) (string, error) {
	if _, err := nodeExec(context.WithoutCancel(ctx), s, b.Name, "systemctl", "start", "kubelet"); err != nil {
		return "", fmt.Errorf("starting the kubelet of %s again: %w", b.Name, err)
	}
	start := time.Now()
	var steps []string
	mark := func(what string) { steps = append(steps, fmt.Sprintf("%s %.1fs", what, time.Since(start).Seconds())) }
	done := func(err error) (string, error) {
		out := "kubelet started again: " + strings.Join(steps, ", ")
		if err != nil {
			return out, fmt.Errorf("node %s after the delete: %w", b.Name, err)
		}
		return out, nil
	}
	if err := waitNodeReady(ctx, s, b.Name, 3*time.Minute); err != nil {
		return done(err)
	}
	mark("node Ready")
	var live nodenet.NodeInfo
	_, err := until(ctx, healBound, func() (bool, error) {
		var err error
		if live, err = liveNode(ctx, s, b.Name); err != nil {
			return false, err
		}
		cidrs := podCIDRsOf(s, live)
		if len(cidrs) == 0 {
			return false, fmt.Errorf("node %s has no podCIDRs yet", b.Name)
		}
		var errs []error
		for _, o := range s.nodes {
			if o.Name != b.Name {
				errs = append(errs, routesIn(ctx, o, live, cidrs))
			}
		}
		err = errors.Join(errs...)
		return err == nil, err
	})
	if err != nil {
		return done(fmt.Errorf("its new pod subnets not routed by every other node: %w", err))
	}
	mark(fmt.Sprintf("podCIDRs %s (were %s) routed by every other node", strings.Join(podCIDRsOf(s, live), ","), strings.Join(old, ",")))
	// The kubelet reports Ready with the old conflist still on disk: until
	// b's agent has written the new subnets, a pod started there gets an
	// address of the old ones.
	_, err = until(ctx, healBound, func() (bool, error) {
		conf, err := nodeExec(ctx, s, b.Name, "cat", path.Join(cni.ConfDir, deploy.ConflistName))
		if err != nil {
			return false, err
		}
		for _, c := range podCIDRsOf(s, live) {
			if !strings.Contains(conf, `"`+c+`"`) {
				return false, fmt.Errorf("its conflist does not name %s yet", c)
			}
		}
		return true, nil
	})
	if err != nil {
		return done(err)
	}
	mark("conflist names them")
	// Pods started in the window above, or not running yet at a pass, are
	// found by the next pass: replaced until a pass finds none.
	var stale []string
	_, err = until(ctx, healBound, func() (bool, error) {
		more, err := replaceStalePods(ctx, s, b.Name)
		stale = append(stale, more...)
		return err == nil && len(more) == 0, err
	})
	if len(stale) > 0 {
		mark(fmt.Sprintf("%d pods with addresses of the old subnets deleted (%s)", len(stale), strings.Join(stale, ", ")))
	}
	return done(err)
}

// replaceStalePods deletes the running pods on node whose addresses lie
// outside its podCIDRs (a controller's pods are started again, with new
// addresses; the harness's own bare pods are gone) and returns their names.
// It judges each pod as whole.go's check does (outsidePodCIDRs).
func replaceStalePods(ctx context.Context, s *suite, node string) ([]string, error) {
	var n corev1.Node
	if err := s.client.Resources().Get(ctx, node, "", &n); err != nil {
		return nil, err
	}
	byNode := nodePodCIDRs([]corev1.Node{n})
	var list corev1.PodList
	if err := s.client.Resources().List(ctx, &list, resources.WithFieldSelector("spec.nodeName="+node)); err != nil {
		return nil, err
	}
	var names []string
	for i := range list.Items {
		p := &list.Items[i]
		if outsidePodCIDRs(p, byNode) == "" {
			continue
		}
		if err := s.client.Resources().Delete(ctx, p, resources.WithGracePeriod(0)); err != nil {
			return names, fmt.Errorf("replacing pod %s/%s: %w", p.Namespace, p.Name, err)
		}
		names = append(names, p.Namespace+"/"+p.Name)
	}
	return names, nil
}
