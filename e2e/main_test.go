package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/envfuncs"
	"sigs.k8s.io/e2e-framework/support"
	"sigs.k8s.io/e2e-framework/support/kind"

	"github.com/cnigate/cnigate/e2e/harness"
	kindconfig "github.com/cnigate/cnigate/kind-config"
)

var (
	flagRun         = flag.Bool("e2e.run", false, "run the e2e suite (ci/e2e.sh sets it); without it the package does nothing")
	flagCluster     = flag.String("e2e.cluster", "cnigate-e2e", "kind cluster name")
	flagWorkers     = flag.Int("e2e.workers", kindconfig.DefaultWorkers, "kind workers to create; in gate mode, workers to use (0: all)")
	flagNodeImage   = flag.String("e2e.node-image", "", "kind node image ref (last line of ci/node-image.sh)")
	flagKind        = flag.String("e2e.kind", "", "path of the pinned kind binary (_output/bin/kind)")
	flagPlugin      = flag.String("e2e.plugin", "../bin/podnet", "podnet binary to install on the nodes")
	flagImage       = flag.String("e2e.image", "cnigate/e2e-busybox:1.35", "test image (ci/images/busybox)")
	flagPullPolicy  = flag.String("e2e.image-pull-policy", string(corev1.PullNever), "imagePullPolicy of the test pods")
	flagArtifacts   = flag.String("e2e.artifacts", "../_artifacts", "directory for matrix.json, phase timings, kind logs")
	flagKeep        = flag.Bool("e2e.keep-cluster", false, "make cluster: stop after podnet is loaded and the nodes are Ready, leave the cluster running")
	flagExtNet      = flag.String("e2e.external-network", "kind", "docker network of the external host")
	flagCellTimeout = flag.Duration("e2e.cell-timeout", 45*time.Second, "how long one cell retries before it fails")
	flagChurn       = flag.Int("e2e.churn-rounds", 3, "delete/recreate rounds of the churn check")
	flagNodePort    = flag.Int("e2e.node-http-port", 18080, "port the hostNetwork helper pods serve HTTP on (pod -> node cells)")
	flagNetwork     = flag.String("e2e.pod-network", kindconfig.PodSubnet, "podnet's network (the cluster pod subnet)")
	flagCNI         = flag.String("e2e.cni", "podnet", "CNI installed on the kind nodes: podnet (then portmap) or bridge (reference bridge + host-local, then portmap)")
	flagCNIBin      = flag.String("e2e.cni-bin", "", "directory of the pinned reference CNI plugins, copied to nodes whose image lacks one the conflist needs")
	flagMTU         = flag.Int("e2e.mtu", 1500, "the pod network's MTU: the MTU cells send packets of exactly this size")
	flagBreak       = flag.String("e2e.break", "", "break one thing on purpose (kind mode): portmap, hairpin, mtu or coredns")
	flagHermetic    = flag.Bool("e2e.hermetic", true, "while the kind cluster exists, drop forwarded traffic from its docker network to any other host interface (DOCKER-USER rule)")
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
	extSkip  string // why the NAT cells are skipped, "" if they run
	hermetic bool   // the host's hermetic rule for this cluster is in place
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

var testEnv env.Environment

func TestMain(m *testing.M) {
	cfg, err := envconf.NewFromFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	if !*flagRun {
		fmt.Println("e2e: skipped (needs a cluster; run it with `make e2e`, which passes -e2e.run)")
		os.Exit(0)
	}
	os.Exit(run(m, cfg))
}

func run(m *testing.M, cfg *envconf.Config) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Leave the Finish steps time to clean up before go test's -timeout panics.
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > 5*time.Minute {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d-3*time.Minute)
			defer cancel()
		}
	}
	s := &suite{gate: cfg.KubeconfigFile() != ""}
	context.AfterFunc(ctx, func() { s.interrupted.Store(true) })
	ctx = context.WithValue(ctx, suiteKey{}, s)
	s.namespace = envconf.RandomName("podnet-e2e", 16)

	var err error
	if testEnv, err = env.NewWithContext(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	if !validBreak(*flagBreak) {
		fmt.Fprintf(os.Stderr, "e2e: -e2e.break=%q: want portmap, hairpin, mtu or coredns\n", *flagBreak)
		return 2
	}
	if s.gate && *flagBreak != "" {
		fmt.Fprintln(os.Stderr, "e2e: -e2e.break is for clusters the harness creates, never for a gate cluster")
		return 2
	}
	var setup []env.Func
	if s.gate {
		klog.Infof("gate mode: kubeconfig %s, no cluster is created and nothing installed", cfg.KubeconfigFile())
		setup = append(setup, connectGate)
	} else {
		s.cluster = *flagCluster
		provider := kind.NewProvider().WithOpts(kind.WithPath(*flagKind))
		setup = append(setup,
			rememberCluster(provider),
			timed("cluster create", createCluster(provider)),
			nodesNotReady,
			timed("image load", envfuncs.LoadDockerImageToCluster(s.cluster, *flagImage)),
			timed("CNI load", loadCNI),
			timed("nodes Ready", waitNodesReady),
		)
	}
	if !*flagKeep { // make cluster stops at a cluster with podnet loaded
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
	for i, f := range setup {
		setup[i] = markFailure(f)
	}
	setup = append(setup, func(ctx context.Context, _ *envconf.Config) (context.Context, error) {
		s.testsStart = time.Now()
		return ctx, nil
	})
	testEnv.Setup(setup...)
	testEnv.AfterEachTest(func(ctx context.Context, _ *envconf.Config, t *testing.T) (context.Context, error) {
		if t.Failed() {
			suiteFrom(ctx).failed.Store(true)
		}
		return ctx, nil
	})
	testEnv.Finish(
		finishStep("report", writeReport),
		finishStep("export logs", exportLogsOnFailure),
		finishStep("external host", stopExternalHost),
		finishStep("teardown", teardown),
	)
	code := testEnv.Run(m)
	if s.interrupted.Load() {
		fmt.Fprintf(os.Stderr, "e2e: interrupted (%v): cells cut short are reported as skipped, the run as failed\n", context.Cause(ctx))
	}
	if code == 0 && (s.failed.Load() || s.interrupted.Load()) {
		code = 1
	}
	return code
}

// rememberCluster puts the kind provider into the context before the cluster
// is created, so that DestroyCluster and ExportClusterLogs find it even when
// creation fails half-way (CreateClusterWithConfig only stores it on success).
func rememberCluster(p support.E2EClusterProvider) env.Func {
	return func(ctx context.Context, _ *envconf.Config) (context.Context, error) {
		name := suiteFrom(ctx).cluster
		return context.WithValue(ctx, support.ClusterNameContextKey(name), p.SetDefaults().WithName(name)), nil
	}
}

func createCluster(p support.E2EClusterProvider) env.Func {
	return func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		s := suiteFrom(ctx)
		if *flagNodeImage == "" {
			return ctx, errors.New("-e2e.node-image is empty: ci/e2e.sh passes the ref ci/node-image.sh prints")
		}
		if *flagKind == "" {
			return ctx, errors.New("-e2e.kind is empty: pass the pinned kind (_output/bin/kind), else e2e-framework would `go install` another version")
		}
		raw, err := kindconfig.Render(kindconfig.Options{Name: s.cluster, Workers: *flagWorkers, Image: *flagNodeImage})
		if err != nil {
			return ctx, err
		}
		path, err := filepath.Abs(filepath.Join(*flagArtifacts, "kind-config.yaml"))
		if err != nil {
			return ctx, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return ctx, err
		}
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			return ctx, err
		}
		// Hermetic: the rule goes in before kind starts the nodes when the docker
		// network already exists (it outlives clusters), else right after kind
		// made it; either way before any CNI is installed, so before any pod
		// has a network.
		if *flagHermetic && networkExists(ctx) {
			if err := addHermetic(ctx, s); err != nil {
				return ctx, err
			}
		}
		klog.Infof("creating kind cluster %s: %d workers, node image %s, config %s", s.cluster, *flagWorkers, *flagNodeImage, path)
		ctx, err = envfuncs.CreateClusterWithConfig(p, s.cluster, path, kind.WithImage(*flagNodeImage))(ctx, cfg)
		if err != nil {
			return ctx, err
		}
		if *flagHermetic {
			if err := addHermetic(ctx, s); err != nil {
				return ctx, err
			}
		}
		return ctx, connect(ctx, cfg)
	}
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
		want = *flagWorkers + 1
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
	want = *flagWorkers
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

// markFailure makes a failed setup step count as a failed run, so Finish exports the logs.
func markFailure(f env.Func) env.Func {
	return func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		out, err := f(ctx, cfg)
		if err != nil {
			suiteFrom(ctx).failed.Store(true)
			if out == nil {
				out = ctx
			}
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
	if !s.testsStart.IsZero() && !*flagKeep {
		s.phases.Add("matrix (tests)", time.Since(s.testsStart))
	}
	if err := os.MkdirAll(*flagArtifacts, 0o755); err != nil {
		return ctx, err
	}
	if err := os.WriteFile(filepath.Join(*flagArtifacts, "phases-e2e.tsv"), []byte(s.phases.Lines()), 0o644); err != nil {
		return ctx, err
	}
	if *flagKeep {
		return ctx, nil // no matrix in make cluster
	}
	cni := *flagCNI
	if s.gate {
		cni = s.cniSummary()
	}
	title := "CNI " + cni
	if *flagBreak != "" {
		title += ", E2E_BREAK=" + *flagBreak
	}
	fmt.Printf("\n=== connectivity matrix (%s)\n%s\n", title, s.matrix.Table())
	meta := map[string]string{"mode": "kind", "cluster": s.cluster, "node_image": *flagNodeImage, "kubernetes": s.k8sVersion,
		"cni": *flagCNI, "break": *flagBreak}
	if s.gate {
		meta = map[string]string{"mode": "gate", "kubeconfig": cfg.KubeconfigFile(), "cni": s.cniSummary()}
	}
	meta["mtu"] = fmt.Sprint(*flagMTU)
	if s.extSkip != "" {
		meta["external_skipped"] = s.extSkip
	}
	return ctx, s.matrix.WriteJSON(filepath.Join(*flagArtifacts, "matrix.json"), meta)
}

func exportLogsOnFailure(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	if s.gate || !s.failed.Load() || s.interrupted.Load() {
		return ctx, nil
	}
	dest, err := filepath.Abs(filepath.Join(*flagArtifacts, "kind-logs"))
	if err != nil {
		return ctx, err
	}
	klog.Infof("run failed: exporting cluster logs to %s", dest)
	return envfuncs.ExportClusterLogs(s.cluster, dest)(ctx, cfg)
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
	if *flagKeep {
		klog.Infof("leaving kind cluster %s running (-e2e.keep-cluster); its hermetic rule stays until make e2e-clean", s.cluster)
		return ctx, nil
	}
	ctx, err := envfuncs.DestroyCluster(s.cluster)(ctx, cfg)
	if *flagHermetic {
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
