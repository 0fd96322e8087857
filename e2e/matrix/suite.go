package matrix

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/envfuncs"

	"github.com/cnigate/cnigate/e2e/cluster"
	"github.com/cnigate/cnigate/e2e/harness"
	kindconfig "github.com/cnigate/cnigate/kind-config"
	"github.com/cnigate/cnigate/report"
)

// kindNetwork is the docker network kind puts its nodes on.
func kindNetwork() string {
	if n := os.Getenv("KIND_EXPERIMENTAL_DOCKER_NETWORK"); n != "" {
		return n
	}
	return "kind"
}

// suiteKey is the context key of the suite state.
type suiteKey struct{}

// suite is the state shared by setup, tests and finish, carried in the context.
type suite struct {
	gate      bool
	cluster   string // kind cluster name; "" in gate mode
	namespace string
	client    klient.Client
	failed    atomic.Bool
	// interrupted: Ctrl-C, SIGTERM or the suite deadline; Finish then cleans
	// up without exporting logs.
	interrupted atomic.Bool

	nodes    []harness.NodeInfo // every node, sorted: control planes, then workers
	short    map[string]string  // node name -> short name (cp, w1, ...)
	workers  []harness.NodeInfo // the workers the matrix uses
	external *harness.ExternalHost
	extSkip  string        // why the NAT cells are skipped, "" if they run
	hermetic bool          // the host's hermetic rule for this cluster is in place
	setupErr error         // the setup step that failed, if one did
	kind     *cluster.Kind // kind mode: the cluster
	created  bool          // kind mode: creation started, teardown deletes it
	// k8sVersion is the Kubernetes version the node image declares (kind mode).
	k8sVersion string
	// nodeCNI: node name -> type of the first plugin of the network
	// configuration the node's runtime uses (detectCNI).
	nodeCNI map[string]string

	phases     harness.Phases
	matrix     harness.Matrix
	testsStart time.Time // end of setup: the matrix (the tests) starts
}

// cniSummary: the CNI the nodes run ("podnet"), or each node's when they differ.
func (s *suite) cniSummary() string {
	seen := map[string]bool{}
	var parts []string
	for _, n := range s.nodes {
		t, ok := s.nodeCNI[n.Name]
		if !ok {
			t = "unknown"
		}
		seen[t] = true
		parts = append(parts, s.short[n.Name]+"="+t)
	}
	if len(seen) == 1 {
		for t := range seen {
			return t
		}
	}
	return strings.Join(parts, ",")
}

// podnetSkip is why podnet-only cells skip ("" when podnet runs on every node).
func (s *suite) podnetSkip() string {
	if c := s.cniSummary(); c != harness.CNIPodnet {
		return "podnet-only check, and the nodes' CNI is " + c + " (first plugin of the runtime's network configuration)"
	}
	return ""
}

func suiteFrom(ctx context.Context) *suite {
	s, ok := ctx.Value(suiteKey{}).(*suite)
	if !ok {
		panic("e2e: no suite state in context") // only reachable by a programming error
	}
	return s
}

// opt are the options of the running suite: one suite per process (go test
// or cnigate), set by Suite before anything reads them.
var opt Options

// Suite validates o and returns the whole run as one test function: setup
// (the cluster in kind mode), one subtest per group of the matrix table
// (Connectivity, Contract, IPAM), then the finish steps (report, logs on
// failure, teardown), which also run after a failed setup and after Ctrl-C
// (ctx cancelled: the cells cut short are skipped, the run fails).
func Suite(ctx context.Context, o Options) (func(t *testing.T), error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	opt = o
	return func(t *testing.T) { runSuite(ctx, t) }, nil
}

func runSuite(ctx context.Context, t *testing.T) {
	// Leave the finish steps time to clean up before -test.timeout panics.
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > 5*time.Minute {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d-3*time.Minute)
			defer cancel()
		}
	}
	s := &suite{gate: opt.Kubeconfig != ""}
	context.AfterFunc(ctx, func() { s.interrupted.Store(true) })
	ctx = context.WithValue(ctx, suiteKey{}, s)
	s.namespace = envconf.RandomName("podnet-e2e", 16)
	cfg := envconf.New()

	var setup []env.Func
	if s.gate {
		klog.Infof("gate mode: kubeconfig %s, no cluster is created and nothing installed", opt.Kubeconfig)
		cfg.WithKubeconfigFile(opt.Kubeconfig)
		setup = append(setup, connectGate)
	} else {
		s.cluster = opt.Cluster
		kubeconfig, err := filepath.Abs(filepath.Join(opt.ReportDir, "kubeconfig"))
		if err != nil {
			t.Fatal(err)
		}
		s.kind = cluster.New(s.cluster, kubeconfig)
		cfg.WithKubeconfigFile(kubeconfig)
		setup = append(setup,
			timed("cluster create", createCluster),
			nodesNotReady,
			timed("image load", loadTestImage),
			timed("CNI load", loadCNI),
			timed("nodes Ready", waitNodesReady),
		)
	}
	if !opt.KeepCluster { // make cluster stops at a cluster with the CNI loaded
		setup = append(setup,
			createNamespace,
			timed("external host", startExternalHost),
			timed("pods Ready", createTestPods),
			timed("CNI detection", detectCNI),
		)
		if !s.gate {
			setup = append(setup, timed("cluster DNS Ready", waitClusterDNS), applyRuntimeBreak)
		}
	}
	defer func() {
		if t.Failed() {
			s.failed.Store(true)
		}
		for _, f := range []struct {
			name string
			f    env.Func
		}{{"report", writeReport}, {"export logs", exportLogsOnFailure}, {"external host", stopExternalHost}, {"teardown", teardown}} {
			_, _ = finishStep(f.name, f.f)(ctx, cfg) // errors are logged and mark the run failed
		}
		if s.interrupted.Load() {
			t.Errorf("interrupted (%v): cells cut short are reported as skipped, the run as failed", context.Cause(ctx))
		} else if s.failed.Load() && !t.Failed() {
			t.Error("a finish step failed (logged above)")
		}
	}()
	for _, f := range setup {
		var err error
		if ctx, err = f(ctx, cfg); err != nil {
			s.failed.Store(true)
			s.setupErr = err
			t.Fatalf("setup: %v", err)
		}
	}
	s.testsStart = time.Now()
	if opt.KeepCluster {
		return
	}
	testEnv, err := env.NewWithContext(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups() {
		t.Run(g, func(t *testing.T) { runGroup(testEnv, t, g) })
	}
}

func createCluster(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	raw, err := kindconfig.Render(kindconfig.Options{Name: s.cluster, Workers: opt.Workers, Image: opt.NodeImage})
	if err != nil {
		return ctx, err
	}
	path, err := filepath.Abs(filepath.Join(opt.ReportDir, "kind-config.yaml"))
	if err != nil {
		return ctx, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return ctx, err
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		return ctx, err
	}
	if err := imagePresent(ctx); err != nil { // before minutes of cluster creation
		return ctx, err
	}
	if exists, err := s.kind.Exists(); err != nil {
		return ctx, err
	} else if exists {
		return ctx, fmt.Errorf("kind cluster %s already exists (a leftover? delete it, or name another with the cluster option)", s.cluster)
	}
	// Hermetic: the rule goes in before kind starts the nodes when the docker
	// network already exists (it outlives clusters), else right after kind
	// made it; either way before any CNI is installed, so before any pod
	// has a network.
	if opt.Hermetic && networkExists(ctx) {
		if err := addHermetic(ctx, s); err != nil {
			return ctx, err
		}
	}
	klog.Infof("creating kind cluster %s: %d workers, node image %s, config %s", s.cluster, opt.Workers, opt.NodeImage, path)
	s.created = true // from here on, teardown deletes whatever kind made
	if err := s.kind.Create(raw, opt.NodeImage); err != nil {
		return ctx, err
	}
	if ctx.Err() != nil {
		return ctx, fmt.Errorf("interrupted while kind created the cluster: %w", context.Cause(ctx))
	}
	if opt.Hermetic {
		if err := addHermetic(ctx, s); err != nil {
			return ctx, err
		}
	}
	return ctx, connect(ctx, cfg)
}

// loadTestImage puts the test image on every node; it must be in the local docker.
func loadTestImage(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	if err := imagePresent(ctx); err != nil {
		return ctx, err
	}
	return ctx, suiteFrom(ctx).kind.LoadImage(ctx, opt.Image)
}

// imagePresent says what to do when the test image is not in the local docker.
func imagePresent(ctx context.Context) error {
	err := cluster.ImagePresent(ctx, opt.Image)
	if errors.Is(err, cluster.ErrNoImage) {
		return fmt.Errorf("test image %w: in a clone of cnigate, `make e2e-image-save` builds it and writes _output/e2e-image.tar; `docker load -i` that tarball on this host (or name an image holding ci/images/busybox and the probe with the image option)", err)
	}
	return err
}

func networkExists(ctx context.Context) bool {
	_, err := harness.Docker(ctx, "network", "inspect", kindNetwork())
	return err == nil
}

func addHermetic(ctx context.Context, s *suite) error {
	br, err := harness.DockerNetworkBridge(ctx, kindNetwork())
	if err != nil {
		return fmt.Errorf("hermetic mode: %w", err)
	}
	if err := harness.AddHermeticRule(br, s.cluster); err != nil {
		return err
	}
	if !s.hermetic {
		klog.Infof("hermetic: host drops forwarded traffic from %s (docker network %s) to any other interface while cluster %s exists (%s, %s)",
			br, kindNetwork(), s.cluster, harness.DockerUserChain, strings.Join(harness.HermeticRule(br, s.cluster), " "))
	}
	s.hermetic = true
	return nil
}

func connectGate(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	if err := connect(ctx, cfg); err != nil {
		return ctx, err
	}
	s := suiteFrom(ctx)
	for _, n := range s.nodes {
		if err := nodeReady(ctx, s, n.Name); err != nil {
			return ctx, fmt.Errorf("gate mode expects podnet already running on every node: %w", err)
		}
	}
	return ctx, nil
}

// connect makes the client, reads the nodes and picks the matrix's workers.
func connect(ctx context.Context, cfg *envconf.Config) error {
	s := suiteFrom(ctx)
	client, err := cfg.NewClient()
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
		want = opt.Workers + 1
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
		}
		return len(list.Items) >= want, nil
	}, wait.WithContext(ctx), wait.WithInterval(time.Second), wait.WithTimeout(2*time.Minute), wait.WithImmediate())
	if err != nil {
		return fmt.Errorf("waiting for %d nodes, each with a podCIDR in kind mode (have %d): %w", want, len(list.Items), err)
	}
	s.nodes, s.short = describeNodes(list.Items)
	var workers []harness.NodeInfo
	for _, n := range s.nodes {
		if !n.ControlPlane {
			workers = append(workers, n)
		}
	}
	want = opt.Workers
	if s.gate && want == 0 {
		want = len(workers)
	}
	if len(workers) < 2 || len(workers) < want {
		return fmt.Errorf("the matrix needs %d workers (at least 2), the cluster has %d", want, len(workers))
	}
	s.workers = workers[:want]
	for _, n := range s.nodes {
		podCIDR := n.PodCIDR
		if podCIDR == "" {
			podCIDR = "none"
		}
		klog.Infof("node %s (%s): InternalIP %s podCIDR %s", n.Name, s.short[n.Name], n.InternalIP, podCIDR)
	}
	return nil
}

// timed records how long a setup step took under a phase name.
func timed(name string, f env.Func) env.Func {
	return func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		out := ctx
		err := suiteFrom(ctx).phases.Time(name, func() error {
			var err error
			out, err = f(ctx, cfg)
			return err
		})
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
		}
		return out, err
	}
}

// finishStep runs a Finish step on a context that outlives Ctrl-C and the
// suite deadline (keeping the suite's values), bounded on its own, and logs
// its error loudly: e2e-framework only logs Finish errors at klog V(2).
func finishStep(name string, f env.Func) env.Func {
	return func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		out, err := f(fctx, cfg)
		if err != nil {
			klog.Errorf("finish %s: %v", name, err)
			suiteFrom(ctx).failed.Store(true)
		}
		if out == nil || out == fctx {
			out = ctx
		}
		return out, nil
	}
}

func writeReport(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	if !s.testsStart.IsZero() && !opt.KeepCluster {
		s.phases.Add("matrix (tests)", time.Since(s.testsStart))
	}
	if err := os.MkdirAll(opt.ReportDir, 0o755); err != nil {
		return ctx, err
	}
	if err := os.WriteFile(filepath.Join(opt.ReportDir, "phases-e2e.tsv"), []byte(s.phases.Lines()), 0o644); err != nil {
		return ctx, err
	}
	if opt.KeepCluster {
		return ctx, nil // no matrix in make cluster
	}
	cni := opt.CNI
	if s.gate {
		cni = s.cniSummary()
	}
	title := "CNI " + cni
	if opt.Break != "" {
		title += ", E2E_BREAK=" + opt.Break
	}
	fmt.Printf("\n=== connectivity matrix (%s)\n%s\n", title, s.matrix.Table())
	meta := map[string]string{"mode": "kind", "cluster": s.cluster, "node_image": opt.NodeImage, "kubernetes": s.k8sVersion,
		"cni": opt.CNI, "break": opt.Break}
	if s.gate {
		meta = map[string]string{"mode": "gate", "kubeconfig": cfg.KubeconfigFile(), "cni": s.cniSummary()}
	}
	meta["mtu"] = fmt.Sprint(opt.MTU)
	if s.extSkip != "" {
		meta["external_skipped"] = s.extSkip
	}
	path := filepath.Join(opt.ReportDir, "matrix.json")
	if err := s.matrix.WriteJSON(path, meta); err != nil {
		return ctx, err
	}
	if opt.ReportName == "" {
		return ctx, nil
	}
	runErr := s.setupErr
	if runErr == nil && s.interrupted.Load() {
		runErr = errors.New("interrupted (Ctrl-C, SIGTERM or the run's deadline): the cells cut short are reported as skipped")
	}
	return ctx, renderReports(path, s.phases.Lines(), runErr)
}

// renderReports writes matrix.json (with the phase timings) in the four
// report formats, as `cnigate report e2e` does.
// A failed setup or an interrupted run is a failed case of its own ("run"):
// a run that checked no cell, or not every cell, must not read as passed.
func renderReports(matrixJSON, phases string, runErr error) error {
	f, err := os.Open(matrixJSON)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	m, err := report.DecodeE2E(f)
	if err != nil {
		return fmt.Errorf("%s: %w", matrixJSON, err)
	}
	if m.Phases, err = report.ReadPhasesTSV(strings.NewReader(phases)); err != nil {
		return err
	}
	r := report.FromE2E(m)
	if runErr != nil {
		r.Cases = append(r.Cases, report.Case{Suite: "run", Name: "run", Result: report.Fail, Detail: runErr.Error()})
	}
	paths, err := report.Write(opt.ReportDir, opt.ReportName, r)
	if err != nil {
		return err
	}
	klog.Infof("reports: %s", strings.Join(paths, " "))
	return nil
}

func exportLogsOnFailure(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	if s.gate || !s.created || !s.failed.Load() || s.interrupted.Load() {
		return ctx, nil
	}
	dest, err := filepath.Abs(filepath.Join(opt.ReportDir, "kind-logs"))
	if err != nil {
		return ctx, err
	}
	klog.Infof("run failed: exporting cluster logs to %s", dest)
	return ctx, s.kind.CollectLogs(dest)
}

func stopExternalHost(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	return ctx, suiteFrom(ctx).external.Stop(ctx)
}

func teardown(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	if s.gate {
		if s.client == nil {
			return ctx, nil
		}
		return envfuncs.DeleteNamespace(s.namespace)(ctx, cfg)
	}
	if opt.KeepCluster && !s.failed.Load() {
		klog.Infof("leaving kind cluster %s running (keep-cluster); its hermetic rule stays until make e2e-clean", s.cluster)
		return ctx, nil
	}
	var err error
	if s.created {
		klog.Infof("deleting kind cluster %s", s.cluster)
		err = s.kind.Delete()
	}
	if opt.Hermetic {
		// also after a failed create: the rule may be in before the cluster
		err = errors.Join(err, harness.RemoveHermeticRules(s.cluster))
	}
	return ctx, err
}

// describeNodes gives nodes stable short names for the matrix: cp, cp2, ...
// for control planes and w1, w2, ... for workers, in name order.
func describeNodes(items []corev1.Node) ([]harness.NodeInfo, map[string]string) {
	var cps, ws []harness.NodeInfo
	for _, n := range items {
		info := harness.NodeInfo{Name: n.Name, PodCIDR: n.Spec.PodCIDR}
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP && !strings.Contains(a.Address, ":") {
				info.InternalIP = a.Address
			}
		}
		_, info.ControlPlane = n.Labels["node-role.kubernetes.io/control-plane"]
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

func sortNodes(ns []harness.NodeInfo) {
	sort.Slice(ns, func(i, j int) bool { return ns[i].Name < ns[j].Name })
}
