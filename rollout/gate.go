// Package rollout is the rollout gate: it switches a DaemonSet (a CNI's
// node agent) to a candidate image one node at a time, canary first, under
// live traffic between pods on every worker, checks each node, stops and
// puts the node back at the first failure, and rolls the same way back
// (downgrade). It knows only a DaemonSet, a container, an image and nodes:
// no CNI's code (docs/rollout.md).
package rollout

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cnigate/cnigate/internal/testfilter"
	"github.com/cnigate/cnigate/results"
	"github.com/cnigate/cnigate/rollout/flow"
)

// Config is one gate run.
type Config struct {
	Kubeconfig string
	// Context is the kubeconfig's context to use ("": its current one).
	Context    string
	Namespace  string // the DaemonSet's
	DaemonSet  string
	Container  string
	Image      string // the candidate (empty with WatchOnly)
	Canary     string // empty: the first worker by name
	Downgrade  bool
	Thresholds Thresholds
	// TestImage runs the probe (the e2e test image).
	TestImage       string
	ImagePullPolicy string
	Interval        time.Duration // stream message interval
	ConnectInterval time.Duration // new-connection probe interval
	// External, HOST:PORT of a TCP echo outside the cluster (e.g. `probe
	// stream-server` in a container): every new pod must reach it (the
	// node's masquerading). Empty: not checked.
	External string
	// ReservationsDir: the host directory of the CNI's IPAM store, one file
	// per reserved IP (podnet: /var/lib/cni/podnet/<network>; host-local:
	// /var/lib/cni/networks/<network>); after each node, it must hold exactly
	// the node's pod IPs. Empty: not checked.
	ReservationsDir string
	// WatchOnly: change nothing; watch the traffic for Duration (0: until
	// the context ends) while someone else rolls out.
	WatchOnly bool
	Duration  time.Duration
	// Progress gets one line per step.
	Progress func(format string, a ...any)
	// Tests selects the node checks by name (--test, internal/testfilter;
	// CheckNames lists them). A new pod's start and the deletion of the
	// check pods always run: the other checks rest on them.
	Tests testfilter.Filter
}

// Validate names each bad field.
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct{ name, v string }{{"namespace", c.Namespace}, {"daemonset", c.DaemonSet}, {"container", c.Container}, {"test-image", c.TestImage}} {
		if f.v == "" && (!c.WatchOnly || f.name == "test-image") {
			errs = append(errs, fmt.Errorf("--%s is empty", f.name))
		}
	}
	if c.WatchOnly && c.Image != "" {
		errs = append(errs, errors.New("--image: --watch-only changes nothing, it takes no candidate"))
	}
	if !c.WatchOnly && c.Image == "" {
		errs = append(errs, errors.New("--image is empty: name the candidate image"))
	}
	if c.External != "" {
		if h, _, err := net.SplitHostPort(c.External); err != nil || h == "" {
			errs = append(errs, fmt.Errorf("--external %q: want HOST:PORT", c.External))
		}
	}
	if c.ReservationsDir != "" && !strings.HasPrefix(c.ReservationsDir, "/") {
		errs = append(errs, fmt.Errorf("--reservations-dir %q: want an absolute host path", c.ReservationsDir))
	}
	if c.Duration < 0 {
		errs = append(errs, fmt.Errorf("--duration %v: negative", c.Duration))
	}
	if c.Interval <= 0 || c.ConnectInterval <= 0 {
		errs = append(errs, fmt.Errorf("--interval %v, --connect-interval %v: must be positive", c.Interval, c.ConnectInterval))
	}
	switch corev1.PullPolicy(c.ImagePullPolicy) {
	case corev1.PullAlways, corev1.PullNever, corev1.PullIfNotPresent:
	default:
		errs = append(errs, fmt.Errorf("--image-pull-policy %q: want Always, IfNotPresent or Never", c.ImagePullPolicy))
	}
	if err := c.Thresholds.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

type gate struct {
	cfg      Config
	cs       kubernetes.Interface
	ds       dsRef
	tr       *traffic
	res      *results.Rollout
	before   map[types.UID]podSnap
	onCand   []string // nodes on the candidate, in switch order
	seq      int
	progress func(string, ...any)
	// rollingBack: nodes are being put back after a failure.
	rollingBack bool
}

// Run runs the gate and returns its record (also when it failed: Passed
// false, Failure says why). The error is for a run that could not be
// judged (bad config, cluster unreachable, refused by preflight).
func Run(ctx context.Context, cfg Config) (*results.Rollout, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(&clientcmd.ClientConfigLoadingRules{ExplicitPath: cfg.Kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: cfg.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig %s (context %q): %w", cfg.Kubeconfig, cfg.Context, err)
	}
	rc.QPS, rc.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	progress := cfg.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	g := &gate{cfg: cfg, cs: cs, ds: dsRef{cs, cfg.Namespace, cfg.DaemonSet, cfg.Container}, progress: progress,
		res: &results.Rollout{Started: time.Now().UTC(), Namespace: cfg.Namespace,
			DaemonSet: cfg.DaemonSet, Container: cfg.Container, Candidate: cfg.Image, WatchOnly: cfg.WatchOnly,
			Thresholds: cfg.Thresholds.Results()}}
	defer func() { g.res.Finished = time.Now().UTC() }()
	return g.res, g.run(ctx)
}

func (g *gate) run(ctx context.Context) error {
	var order []string
	if !g.cfg.WatchOnly {
		nodes, image, err := g.ds.preflight(ctx, g.cfg.Image)
		if err != nil {
			g.res.Failure = err.Error()
			return err
		}
		g.res.OldImage = image
		if order, err = Order(nodes, g.cfg.Canary); err != nil {
			g.res.Failure = err.Error()
			return err
		}
		g.res.Order, g.res.Canary = order, order[0]
		g.progress("preflight: %s on %s, %d nodes Ready, order %s (canary %s)", g.ds, image, len(nodes), strings.Join(order, ", "), order[0])
	}
	tnodes, err := trafficNodes(ctx, g.cs)
	if err != nil {
		g.res.Failure = err.Error()
		return err
	}
	g.tr = &traffic{cs: g.cs, namespace: fmt.Sprintf("cnigate-rollout-%04x", rand.IntN(1<<16)), image: g.cfg.TestImage,
		pull: corev1.PullPolicy(g.cfg.ImagePullPolicy), nodes: tnodes, interval: g.cfg.Interval, connect: g.cfg.ConnectInterval,
		podIPs: map[string]string{}, svcIPs: map[string]string{}, events: map[string][]flow.Event{}}
	if err := g.tr.createNamespace(ctx); err != nil {
		g.res.Failure = err.Error()
		return err
	}
	defer g.deleteNamespace(ctx)
	g.progress("traffic: namespace %s, servers and clients on %s", g.tr.namespace, strings.Join(tnodes, ", "))
	if err := g.tr.start(ctx, g.cfg.Thresholds.NodeTimeout); err != nil {
		g.res.Failure = "traffic did not start: " + err.Error()
		return errors.New(g.res.Failure)
	}
	if g.before, err = snapshot(ctx, g.cs); err != nil {
		g.res.Failure = err.Error()
		return err
	}
	g.progress("traffic: every flow answers")
	defer g.finalTraffic(ctx)
	if g.cfg.WatchOnly {
		g.watch(ctx)
		return nil
	}

	// The baseline: the checks pass everywhere before anything changes.
	if g.res.Baseline = g.allChecks(ctx, order); failed(g.res.Baseline) != "" {
		g.res.Failure = "refused: the baseline checks fail before any change: " + failed(g.res.Baseline)
		return errors.New(g.res.Failure)
	}
	g.progress("baseline: %d checks pass", len(g.res.Baseline))

	ds, err := g.ds.get(ctx)
	if err != nil {
		g.res.Failure = err.Error()
		return err
	}
	orig := ds.Spec.UpdateStrategy
	g.res.Strategy.Original = strategyString(orig)
	if err := g.ds.setStrategy(ctx, appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}); err != nil {
		g.res.Failure = err.Error()
		return err
	}
	g.progress("strategy: %s → OnDelete", g.res.Strategy.Original)
	defer g.restore(ctx, orig)

	g.res.Passed = g.phase(ctx, results.PhaseUpgrade, g.res.OldImage, g.cfg.Image, order)
	if g.res.Passed && g.cfg.Downgrade {
		g.res.Passed = g.phase(ctx, results.PhaseDowngrade, g.cfg.Image, g.res.OldImage, order)
	}
	if !g.res.Passed {
		g.rollback(ctx)
	}
	for _, n := range order {
		if !slices.ContainsFunc(g.res.Nodes(), func(r results.RolloutNode) bool { return r.Node == n }) {
			g.res.Untouched = append(g.res.Untouched, n)
		}
	}
	return nil
}

// trafficNodes: the Ready workers (the nodes without the control-plane
// label), or every Ready node when fewer than two workers.
func trafficNodes(ctx context.Context, cs kubernetes.Interface) ([]string, error) {
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	var workers, all []string
	for _, n := range list.Items {
		if !nodeReady(&n) || n.Spec.Unschedulable {
			continue
		}
		all = append(all, n.Name)
		if _, cp := n.Labels[controlPlaneLabel]; !cp {
			workers = append(workers, n.Name)
		}
	}
	if len(workers) < 2 {
		workers = all
	}
	if len(workers) == 0 {
		return nil, errors.New("no Ready node for the traffic pods")
	}
	slices.Sort(workers)
	return workers, nil
}

// phase switches the nodes in order from one image to another; it stops at
// the first node that fails (that node is put back), and ends with every
// node's checks once all are switched.
func (g *gate) phase(ctx context.Context, name, from, to string, order []string) bool {
	g.res.Phases = append(g.res.Phases, results.RolloutPhase{Name: name, From: from, To: to})
	ph := &g.res.Phases[len(g.res.Phases)-1]
	g.progress("%s: %s → %s", name, from, to)
	if err := g.ds.setImage(ctx, to); err != nil {
		ph.Nodes = append(ph.Nodes, results.RolloutNode{Node: order[0], Image: to, Failures: []string{err.Error()}})
		g.fail(order[0], err.Error())
		return false
	}
	for i, node := range order {
		r := g.switchNode(ctx, node, to, i == 0 && name == results.PhaseUpgrade)
		ph.Nodes = append(ph.Nodes, r)
		if !r.Passed {
			g.fail(node, strings.Join(r.Failures, "; "))
			return false
		}
	}
	ph.Final = g.allChecks(ctx, order)
	if f := failed(ph.Final); f != "" {
		g.fail("", "final checks after the "+name+": "+f)
		return false
	}
	g.progress("%s: every node on %s, %d final checks pass", name, to, len(ph.Final))
	ph.Passed = true
	return true
}

func (g *gate) fail(node, why string) {
	if g.res.Failure == "" {
		g.res.Failure, g.res.FailedNode = why, node
		if node != "" {
			g.res.Failure = node + ": " + why
		}
	}
}

// switchNode deletes the DaemonSet's pod on node, waits for its successor
// on image, runs the node's checks, watches the traffic for the settle time
// and judges the node's window.
func (g *gate) switchNode(ctx context.Context, node, image string, canary bool) (r results.RolloutNode) {
	// r is named: the deferred verdict below must reach the caller.
	r = results.RolloutNode{Node: node, Canary: canary, Image: image, Started: time.Now().UTC()}
	label := node
	if canary {
		label += " (canary)"
	}
	g.progress("%s: switching to %s", label, image)
	var err error
	defer func() {
		r.Finished = time.Now().UTC()
		r.Summary = g.window(ctx, r.Started, r.Finished, &r.Traffic)
		if err != nil {
			r.Failures = append(r.Failures, err.Error())
		}
		judged := r.Summary
		if g.rollingBack {
			// The traffic of a rollback window still carries the failed
			// candidate's outage: the node is judged on its checks.
			judged = results.RolloutSummary{}
		}
		r.Failures = append(r.Failures, Judge(judged, r.Checks, g.cfg.Thresholds)...)
		r.Passed = len(r.Failures) == 0
		verdict := "PASS"
		if !r.Passed {
			verdict = "FAIL: " + strings.Join(r.Failures, "; ")
		}
		sw := "new pod never Ready"
		if !r.PodReady.IsZero() {
			sw = fmt.Sprintf("switch %.1f s", r.PodReady.Sub(r.Started).Seconds())
		}
		g.progress("%s: %s (%s, resets %d, lost %d, longest gap %.0f ms stream / %.0f ms connect, UDP loss %.1f%%)",
			label, verdict, sw, r.Summary.Resets, r.Summary.Lost, r.Summary.MaxGapMs, r.Summary.MaxConnectGapMs, r.Summary.UDPLossPct)
	}()
	if ctx.Err() != nil {
		err = fmt.Errorf("interrupted: %w", context.Cause(ctx))
		return r
	}
	var p *corev1.Pod
	if p, err = g.deletePod(ctx, node); err != nil {
		return r
	}
	r.OldPod = p.Name
	if image != g.res.OldImage && !slices.Contains(g.onCand, node) {
		g.onCand = append(g.onCand, node)
	}
	var np *corev1.Pod
	if np, err = g.ds.waitPod(ctx, node, p.UID, image, g.cfg.Thresholds.NodeTimeout); err != nil {
		return r
	}
	if image == g.res.OldImage {
		g.onCand = slices.DeleteFunc(g.onCand, func(n string) bool { return n == node })
	}
	r.NewPod, r.PodReady = np.Name, time.Now().UTC()
	g.progress("%s: %s Ready on %s after %.1f s", label, np.Name, image, r.PodReady.Sub(r.Started).Seconds())
	r.Checks = g.nodeChecks(ctx, node)
	if g.cfg.ReservationsDir != "" {
		if g.selected("reservations on " + node + " equal its pods") {
			r.Checks = append(r.Checks, g.reservationsCheck(ctx, node))
		}
	}
	r.ChecksDone = time.Now().UTC()
	if f := failed(r.Checks); f != "" {
		return r // no settle: the node is put back at once
	}
	g.progress("%s: %d checks pass; watching the traffic for %v", label, len(r.Checks), g.cfg.Thresholds.Settle)
	select {
	case <-ctx.Done():
		err = fmt.Errorf("interrupted: %w", context.Cause(ctx))
	case <-time.After(g.cfg.Thresholds.Settle):
	}
	return r
}

// deletePod deletes the DaemonSet's pod on node and returns it.
func (g *gate) deletePod(ctx context.Context, node string) (*corev1.Pod, error) {
	ds, err := g.ds.get(ctx)
	if err != nil {
		return nil, err
	}
	pods, err := g.ds.pods(ctx, ds)
	if err != nil {
		return nil, err
	}
	p, ok := pods[node]
	if !ok {
		return nil, fmt.Errorf("no %s pod on %s", g.ds.name, node)
	}
	if err := g.cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
		return nil, fmt.Errorf("delete pod %s: %w", p.Name, err)
	}
	return p, nil
}

// window reads the traffic and the cluster for [from, to] and summarises it.
func (g *gate) window(ctx context.Context, from, to time.Time, flows *[]results.RolloutFlow) results.RolloutSummary {
	ctx = context.WithoutCancel(ctx) // an interrupted node is judged too
	var errs []string
	if err := g.tr.read(ctx); err != nil {
		errs = append(errs, err.Error())
	}
	stats := flow.Summarize(g.tr.all(), from, to)
	*flows = Flows(stats)
	s := Summarize(stats, from)
	if now, err := snapshot(ctx, g.cs); err == nil {
		s.IPChanges, s.Restarts, _ = compare(g.before, now)
	} else {
		errs = append(errs, err.Error())
	}
	if ev, err := sandboxEvents(ctx, g.cs, from); err == nil {
		s.SandboxEvents = ev
	} else {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		g.progress("warning: %s", strings.Join(errs, "; "))
	}
	return s
}

// allChecks runs every node's checks, one node after another.
func (g *gate) allChecks(ctx context.Context, order []string) []results.RolloutCheck {
	var out []results.RolloutCheck
	for _, n := range order {
		if ctx.Err() != nil {
			out = append(out, results.RolloutCheck{Name: "checks of " + n, Detail: "interrupted: " + context.Cause(ctx).Error()})
			break
		}
		out = append(out, g.nodeChecks(ctx, n)...)
		if g.cfg.ReservationsDir != "" {
			if g.selected("reservations on " + n + " equal its pods") {
				out = append(out, g.reservationsCheck(ctx, n))
			}
		}
	}
	return out
}

func failed(checks []results.RolloutCheck) string {
	var out []string
	for _, c := range checks {
		if !c.Passed {
			out = append(out, c.Name+": "+c.Detail)
		}
	}
	return strings.Join(first(out, 5), "; ")
}

// rollback puts every node on the candidate back on the old image, the last
// switched first, with the same checks; after a Ctrl-C it runs on its own
// deadline.
func (g *gate) rollback(ctx context.Context) {
	if len(g.onCand) == 0 {
		_ = g.ds.setImage(context.WithoutCancel(ctx), g.res.OldImage) // the template back, if it was changed
		return
	}
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), time.Duration(len(g.onCand)+1)*(g.cfg.Thresholds.NodeTimeout+time.Minute))
		defer cancel()
	}
	g.rollingBack = true
	nodes := slices.Clone(g.onCand)
	slices.Reverse(nodes)
	g.res.Phases = append(g.res.Phases, results.RolloutPhase{Name: results.PhaseRollback, From: g.cfg.Image, To: g.res.OldImage})
	ph := &g.res.Phases[len(g.res.Phases)-1]
	g.progress("rollback: %s back to %s", strings.Join(nodes, ", "), g.res.OldImage)
	if err := g.ds.setImage(ctx, g.res.OldImage); err != nil {
		g.progress("rollback: %v", err)
		return
	}
	ph.Passed = true
	for _, n := range nodes {
		r := g.switchNode(ctx, n, g.res.OldImage, false)
		r.RolledBack = true
		ph.Nodes = append(ph.Nodes, r)
		ph.Passed = ph.Passed && r.Passed
		if r.PodReady.IsZero() {
			g.progress("rollback: %s is not back on %s: %s", n, g.res.OldImage, strings.Join(r.Failures, "; "))
		}
	}
	// The failed node of the rollout is marked rolled back in its phase.
	for i := range g.res.Phases {
		for j := range g.res.Phases[i].Nodes {
			nr := &g.res.Phases[i].Nodes[j]
			if !nr.Passed && nr.Node == g.res.FailedNode && g.res.Phases[i].Name != results.PhaseRollback {
				nr.RolledBack = !slices.Contains(g.onCand, nr.Node)
			}
		}
	}
}

// restore puts the DaemonSet's update strategy back (also after a Ctrl-C).
func (g *gate) restore(ctx context.Context, orig appsv1.DaemonSetUpdateStrategy) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := g.ds.setStrategy(ctx, orig); err != nil {
		g.res.Strategy.Error = err.Error()
		g.progress("strategy NOT restored: %v (restore it: spec.updateStrategy %s)", err, g.res.Strategy.Original)
		return
	}
	g.res.Strategy.Restored = true
	g.progress("strategy: restored %s", g.res.Strategy.Original)
}

// finalTraffic records every flow over the whole run.
func (g *gate) finalTraffic(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	_ = g.tr.read(ctx)
	g.res.Traffic = Flows(flow.Summarize(g.tr.all(), g.res.Started, time.Now()))
}

func (g *gate) deleteNamespace(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if err := g.cs.CoreV1().Namespaces().Delete(ctx, g.tr.namespace, metav1.DeleteOptions{}); err != nil {
		g.progress("warning: delete namespace %s: %v", g.tr.namespace, err)
		return
	}
	_ = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := g.cs.CoreV1().Namespaces().Get(ctx, g.tr.namespace, metav1.GetOptions{})
		return isNotFound(err), nil
	})
}

// watch: --watch-only. The traffic runs until Duration or Ctrl-C; the
// whole time is one window.
func (g *gate) watch(ctx context.Context) {
	w := &results.RolloutWindow{Started: time.Now().UTC()}
	g.res.Watch = w
	if g.cfg.Duration > 0 {
		g.progress("watch: traffic runs for %v (Ctrl-C ends it sooner): roll out now", g.cfg.Duration)
	} else {
		g.progress("watch: traffic runs until Ctrl-C: roll out now")
	}
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	var end <-chan time.Time
	if g.cfg.Duration > 0 {
		end = time.After(g.cfg.Duration)
	}
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-end:
			done = true
		case <-tick.C:
			var flows []results.RolloutFlow
			s := g.window(ctx, w.Started, time.Now(), &flows)
			g.progress("watch: resets %d, lost %d, longest gap %.0f ms stream / %.0f ms connect, UDP loss %.1f%%, restarts %d, sandbox events %d",
				s.Resets, s.Lost, s.MaxGapMs, s.MaxConnectGapMs, s.UDPLossPct, s.Restarts, len(s.SandboxEvents))
		}
	}
	w.Finished = time.Now().UTC()
	w.Summary = g.window(ctx, w.Started, w.Finished, &w.Traffic)
	w.Failures = Judge(w.Summary, nil, g.cfg.Thresholds)
	w.Passed = len(w.Failures) == 0
	g.res.Passed = w.Passed
	if !w.Passed {
		g.res.Failure = strings.Join(w.Failures, "; ")
	}
}
