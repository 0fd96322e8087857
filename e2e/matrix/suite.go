package matrix

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/klog/v2"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/cnigate/cnigate/e2e/cluster"
	"github.com/cnigate/cnigate/e2e/harness/host"
	kindconfig "github.com/cnigate/cnigate/kind-config"
	"github.com/cnigate/cnigate/results"
)

// The run: Suite, the order of the setup steps, the groups of the table, finish.

// Suite validates o and returns the whole run as one test function: setup
// (the cluster in kind mode), one subtest per group of the matrix table
// (Connectivity, Contract, IPAM), then the finish steps (report, logs on
// failure, teardown), which also run after a failed setup and after Ctrl-C
// (ctx cancelled: the cells cut short are skipped, the run fails).
func Suite(ctx context.Context, o Options) (func(t *testing.T), error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return func(t *testing.T) { runSuite(ctx, t, o) }, nil
}

func runSuite(ctx context.Context, t *testing.T, o Options) {
	// Leave the finish steps time to clean up before -test.timeout panics.
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > 5*time.Minute {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d-3*time.Minute)
			defer cancel()
		}
	}
	if f := flag.Lookup("test.parallel"); f != nil {
		klog.Infof("cells run %s at a time (-test.parallel)", f.Value)
	}
	// s.gate: existing-cluster mode (the field keeps its old name)
	s := &suite{opt: o, sel: newSelection(o.Tests), clusterFacts: clusterFacts{gate: o.Existing()}}
	s.start = time.Now()
	s.opt.ImagePullPolicy = string(pullPolicy(o))
	s.families = []string{kindconfig.IPv4} // kind's default; an existing cluster's are read in connectGate
	if !s.gate && o.IPFamily != "" {
		s.families = kindconfig.Families(o.IPFamily)
	}
	context.AfterFunc(ctx, func() { s.interrupted.Store(true) })
	ctx = context.WithValue(ctx, suiteKey{}, s)
	s.namespace = envconf.RandomName("podnet-e2e", 16)
	cfg := envconf.New()

	var setup []env.Func
	if s.gate {
		klog.Infof("existing-cluster mode: no cluster is created and nothing installed")
		setup = append(setup, connectGate)
	} else {
		// kind: the nodes are containers here, so the host's memory is the
		// cluster's; sampled from before the cluster exists to the report.
		if !s.opt.KeepCluster { // make cluster writes no report to put it in
			s.hostMem = host.SampleHostMemory(ctx, time.Second)
		}
		s.cluster = s.opt.Cluster
		kubeconfig, err := filepath.Abs(filepath.Join(s.opt.ReportDir, "kubeconfig"))
		if err != nil {
			t.Fatal(err)
		}
		s.kind = cluster.New(s.cluster, kubeconfig)
		cfg.WithKubeconfigFile(kubeconfig)
		setup = append(setup,
			timed(results.PhaseClusterCreate, createCluster),
			nodesNotReady,
			timed("image load", loadTestImage),
			timed("CNI load", loadCNI),
			timed("nodes Ready", waitNodesReady),
		)
	}
	if !s.opt.KeepCluster { // make cluster stops at a cluster with the CNI loaded
		setup = append(setup,
			createNamespace,
			createAPIServer6,
			timed("external host", startExternalHost),
			timed(results.PhasePodsReady, createTestPods),
			collectReadiness,
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
		}{{"diagnosis", diagnoseOnFailure}, {"report", writeReport}, {"export logs", exportLogsOnFailure}, {"external host", stopExternalHost}, {"teardown", teardown}} {
			_, _ = finishStep(f.name, f.f)(ctx, cfg) // errors are logged and mark the run failed
		}
		if s.interrupted.Load() {
			t.Errorf("interrupted (%v): cells cut short are reported as skipped, the run as failed", context.Cause(ctx))
		} else if s.failed.Load() && !t.Failed() {
			t.Error("a finish step failed (logged above)")
		}
		if s.coverageErr != "" {
			t.Error(s.coverageErr)
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
	if s.opt.KeepCluster {
		return
	}
	testEnv, err := env.NewWithContext(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups() {
		t.Run(g, func(t *testing.T) {
			// One pass per family, one after another, each handed its family
			// and a subtest named by it, but on an IPv4-only cluster.
			if g == gHealing || g == gHealth { // once: Healing's cells name their family, Health's have none
				runGroup(testEnv, t, g, s.firstFamily())
				return
			}
			for _, name := range s.families {
				f := ipFamily(name)
				if s.label(f) == "" {
					runGroup(testEnv, t, g, f)
					continue
				}
				t.Run(name, func(t *testing.T) { runGroup(testEnv, t, g, f) })
			}
		})
	}
	s.matrixEnd = time.Now()
	if s.opt.K8sConformance.Enabled && !s.interrupted.Load() {
		// once per cluster: on a dual-stack cluster the same specs cover both families
		t.Run("K8sConformance", func(t *testing.T) { runK8sConformance(ctx, t, s) })
	}
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
