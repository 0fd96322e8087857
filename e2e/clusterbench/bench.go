package clusterbench

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/kind/pkg/cluster/nodes"

	"github.com/cnigate/cnigate/e2e/cluster"
	"github.com/cnigate/cnigate/e2e/harness/cni"
	"github.com/cnigate/cnigate/e2e/harness/probe"
	"github.com/cnigate/cnigate/results"
)

// Options configure one cluster bench run against a running kind cluster.
type Options struct {
	Kubeconfig    string
	Cluster       string // kind cluster name: the nodes whose CNI is switched and whose store is read
	Workers       int
	PodsPerWorker int
	Rounds        int // rounds per CNI, interleaved podnet/bridge, order alternating
	Plugin        string
	CNIBin        string // reference plugins for nodes that lack one
	Image         string
	PodNetwork    string
	Timeout       time.Duration // per burst: all pods Ready, then all gone and stores back
}

// CNIs are the contenders: the e2e's CNI table (podnet first).
var CNIs = cni.Names()

// storeDir is the IPAM store of a CNI on a node.
func storeDir(name string) string {
	c, _ := cni.Lookup(name)
	return c.StoreDir
}

// Round is one burst of one CNI: its figures and the samples they came from
// (pooled per CNI by Pool).
type Round struct {
	results.ClusterBenchRound

	sandboxMs, readyMs []float64
}

type bench struct {
	o         Options
	cs        kubernetes.Interface
	workers   []corev1.Node
	kind      map[string]nodes.Node
	namespace string
	logf      func(string, ...any)
}

// Run switches the workers' CNI between podnet and the reference conflist,
// one burst each per round, and returns every round. Any pod that does not
// start, or a store that does not return to its count, is an error.
func Run(ctx context.Context, o Options, logf func(string, ...any)) ([]Round, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 100, 200 // client-go's 5 QPS would pace the burst, not the CNI
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	b := &bench{o: o, cs: cs, namespace: "cnigate-cluster-bench", logf: logf}
	if b.kind, err = cluster.New(o.Cluster, o.Kubeconfig).Nodes(); err != nil {
		return nil, err
	}
	if err := b.pickWorkers(ctx); err != nil {
		return nil, err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: b.namespace}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", b.namespace, err)
	}
	defer func() {
		_ = cs.CoreV1().Namespaces().Delete(context.WithoutCancel(ctx), b.namespace, metav1.DeleteOptions{})
	}()
	var rounds []Round
	for r := 1; r <= o.Rounds; r++ {
		order := slices.Clone(CNIs)
		if r%2 == 0 {
			slices.Reverse(order)
		}
		for _, cni := range order {
			if err := b.switchCNI(ctx, cni); err != nil {
				return rounds, err
			}
			rd, err := b.burst(ctx, cni, r)
			if err != nil {
				return rounds, fmt.Errorf("%s round %d: %w", cni, r, err)
			}
			logf("%s round %d: %d pods, sandbox p50/p90/p99 %.0f/%.0f/%.0f ms, ready p50/p90/p99 %.0f/%.0f/%.0f ms, burst %.1f s, teardown %.1f s; %d pods had both conditions in one event",
				cni, r, rd.Pods, rd.Sandbox.P50, rd.Sandbox.P90, rd.Sandbox.P99, rd.Ready.P50, rd.Ready.P90, rd.Ready.P99, rd.BurstMs/1000, rd.TeardownMs/1000, rd.SameEvent)
			rounds = append(rounds, rd)
		}
	}
	return rounds, nil
}

func (b *bench) pickWorkers(ctx context.Context) error {
	list, err := b.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, n := range list.Items {
		if _, cp := n.Labels["node-role.kubernetes.io/control-plane"]; !cp {
			b.workers = append(b.workers, n)
		}
	}
	sort.Slice(b.workers, func(i, j int) bool { return b.workers[i].Name < b.workers[j].Name })
	if len(b.workers) < b.o.Workers {
		return fmt.Errorf("cluster %s has %d workers, want %d", b.o.Cluster, len(b.workers), b.o.Workers)
	}
	b.workers = b.workers[:b.o.Workers]
	for _, w := range b.workers {
		if _, ok := b.kind[w.Name]; !ok {
			return fmt.Errorf("node %s is not a container of kind cluster %s", w.Name, b.o.Cluster)
		}
		if w.Spec.PodCIDR == "" {
			return fmt.Errorf("node %s has no podCIDR", w.Name)
		}
	}
	return nil
}

// switchCNI installs name's conflist on every worker and removes the other's,
// then gives containerd (which watches the directory) time to reload it.
func (b *bench) switchCNI(ctx context.Context, name string) error {
	for _, w := range b.workers {
		kn := b.kind[w.Name]
		nn := cni.NodeNet{CNI: name, Network: b.o.PodNetwork, PodCIDR: w.Spec.PodCIDR, MTU: cni.DefaultMTU, Portmap: true}
		if _, err := cni.InstallCNI(ctx, kn, nn, b.o.Plugin, b.o.CNIBin); err != nil {
			return fmt.Errorf("node %s: install %s: %w", w.Name, name, err)
		}
		for _, other := range CNIs {
			if other == name {
				continue
			}
			p := cni.NodeNet{CNI: other}.ConfPath()
			if _, err := exec(ctx, kn, "rm", "-f", p); err != nil {
				return fmt.Errorf("node %s: rm %s: %w", w.Name, p, err)
			}
		}
	}
	b.logf("workers switched to %s; waiting %s for containerd to reload the CNI configuration", name, reloadWait)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(reloadWait):
	}
	return nil
}

const reloadWait = 5 * time.Second

func exec(ctx context.Context, n nodes.Node, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := n.CommandContext(ctx, args[0], args[1:]...)
	cmd.SetStdout(&out)
	cmd.SetStderr(&errOut)
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%w: %s", err, errOut.String())
	}
	return out.String(), nil
}

// storeCounts reads each worker's reservation count of cni, through the
// node container as the harness installs the CNI. A reservation file caught
// between its creation and its content (both podnet and host-local create
// it, then write it) is read again.
func (b *bench) storeCounts(ctx context.Context, cni string) (map[string]int, error) {
	counts := map[string]int{}
	for _, w := range b.workers {
		var err error
		for try := 0; try < storeReadTries; try++ {
			var out string
			if out, err = exec(ctx, b.kind[w.Name], probe.ListReservationsCommand(storeDir(cni))...); err != nil {
				return nil, fmt.Errorf("node %s: list %s: %w", w.Name, storeDir(cni), err)
			}
			var res []probe.Reservation
			if res, err = probe.ParseReservations(out); err == nil {
				counts[w.Name] = len(res)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", w.Name, err)
		}
	}
	return counts, nil
}

const storeReadTries = 20

func (b *bench) pod(name, node, run string) *corev1.Pod {
	grace, no := int64(1), false
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "cnigate-cluster-bench", "run": run}},
		Spec: corev1.PodSpec{
			NodeSelector:                  map[string]string{corev1.LabelHostname: node},
			TerminationGracePeriodSeconds: &grace,
			AutomountServiceAccountToken:  &no, // no token volume: the burst times the sandbox, not the API's token minting
			EnableServiceLinks:            &no,
			Containers: []corev1.Container{{
				Name: "main", Image: b.o.Image, ImagePullPolicy: corev1.PullNever, Command: []string{"sleep", "86400"},
			}},
		},
	}
}

// burst creates PodsPerWorker pods on every worker, times them by watch
// event arrival, deletes them and waits until the stores are back.
func (b *bench) burst(ctx context.Context, cni string, round int) (Round, error) {
	rd := Round{ClusterBenchRound: results.ClusterBenchRound{CNI: cni, Round: round}}
	before, err := b.storeCounts(ctx, cni)
	if err != nil {
		return rd, err
	}
	rd.StoreBefore = before
	run := fmt.Sprintf("%s-r%d", cni, round)
	sel := metav1.ListOptions{LabelSelector: "run=" + run}
	pods := b.cs.CoreV1().Pods(b.namespace)
	total := b.o.PodsPerWorker * len(b.workers)
	ctx, cancel := context.WithTimeout(ctx, b.o.Timeout)
	defer cancel()
	w, err := pods.Watch(ctx, sel)
	if err != nil {
		return rd, err
	}
	defer w.Stop()
	var mu sync.Mutex
	times := map[string]*PodTimes{}
	allReady := make(chan time.Time, 1)
	go func() {
		ready := 0
		for ev := range w.ResultChan() {
			at := time.Now()
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			mu.Lock()
			pt := times[p.Name]
			if pt == nil {
				pt = &PodTimes{}
				times[p.Name] = pt
			}
			wasReady := !pt.Ready.IsZero()
			pt.Observe(p, at)
			if !wasReady && !pt.Ready.IsZero() {
				if ready++; ready == total {
					allReady <- at
				}
			}
			mu.Unlock()
		}
	}()
	start := time.Now()
	for i := range b.o.PodsPerWorker {
		for _, wk := range b.workers {
			p := b.pod(fmt.Sprintf("%s-%s-%d", run, wk.Name, i), wk.Name, run)
			if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
				return rd, fmt.Errorf("create pod %s: %w", p.Name, err)
			}
		}
	}
	select {
	case last := <-allReady:
		rd.BurstMs = ms(last.Sub(start))
	case <-ctx.Done():
		mu.Lock()
		n := 0
		for _, pt := range times {
			if !pt.Ready.IsZero() {
				n++
			}
		}
		mu.Unlock()
		return rd, fmt.Errorf("%d of %d pods Ready within %s: %w", n, total, b.o.Timeout, ctx.Err())
	}
	mu.Lock()
	rd.Pods = len(times)
	rd.sandboxMs, rd.readyMs = Latencies(times)
	for _, pt := range times {
		if pt.Complete() && pt.Sandbox.Equal(pt.Ready) {
			rd.SameEvent++
		}
	}
	mu.Unlock()
	if len(rd.sandboxMs) != total {
		return rd, fmt.Errorf("%d of %d pods with all three conditions seen", len(rd.sandboxMs), total)
	}
	rd.Sandbox, rd.Ready = Summarize(rd.sandboxMs), Summarize(rd.readyMs)
	if rd.StorePeak, err = b.storeCounts(ctx, cni); err != nil {
		return rd, err
	}

	t0 := time.Now()
	if err := pods.DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		return rd, err
	}
	for {
		left, err := pods.List(ctx, sel)
		if err != nil {
			return rd, err
		}
		counts, err := b.storeCounts(ctx, cni)
		if err != nil {
			return rd, err
		}
		if len(left.Items) == 0 && maps.Equal(counts, before) {
			rd.TeardownMs = ms(time.Since(t0))
			return rd, nil
		}
		select {
		case <-ctx.Done():
			return rd, fmt.Errorf("after delete: %d pods left, reservations %v, before the burst %v: %w", len(left.Items), counts, before, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}
