package matrix

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/klog/v2"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/envfuncs"

	"github.com/cnigate/cnigate/e2e/harness/host"
	"github.com/cnigate/cnigate/report"
	"github.com/cnigate/cnigate/results"
)

// Finish: the report, the logs of a failed run, the external host, teardown.

func writeReport(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	if !s.testsStart.IsZero() && !s.opt.KeepCluster {
		end := s.matrixEnd // the k8s-conformance stage after the matrix has its own phase
		if end.IsZero() {
			end = time.Now()
		}
		s.phases.Add(results.PhaseMatrix, end.Sub(s.testsStart))
	}
	if err := os.MkdirAll(s.opt.ReportDir, 0o755); err != nil {
		return ctx, err
	}
	if err := os.WriteFile(filepath.Join(s.opt.ReportDir, "phases-e2e.tsv"), []byte(s.phases.Lines()), 0o644); err != nil {
		return ctx, err
	}
	if s.opt.KeepCluster {
		return ctx, nil // no matrix in make cluster
	}
	cni := s.opt.CNI
	if s.gate {
		cni = s.cniSummary()
	}
	title := "CNI " + cni
	if s.opt.Break != "" {
		title += ", E2E_BREAK=" + s.opt.Break
	}
	meta := map[string]string{"mode": "kind", "cluster": s.cluster, "node_image": s.opt.NodeImage, "kubernetes": s.k8sVersion,
		"cni": s.opt.CNI, "break": s.opt.Break}
	if s.gate {
		// "gate": the mode's name in matrix.json since v0 (existing-cluster mode)
		meta = map[string]string{"mode": "gate", "access": s.access, "cni": s.cniSummary()}
	}
	workers := len(s.workers) // the workers the matrix used
	if !s.gate {
		workers = s.opt.Workers // also when setup failed before finding them
	}
	meta["workers"] = fmt.Sprint(workers)
	if !s.opt.Tests.Empty() { // a partial run: the cells not selected are skipped
		meta["test"] = s.opt.Tests.String()
	}
	mem := hostMemMeta(s, meta)
	fmt.Printf("\n=== connectivity matrix (%s)\n%s%s\n", title, s.matrix.Table(), mem)
	meta["mtu"] = fmt.Sprint(s.opt.MTU)
	if s.otherPairs != nil {
		meta["pair_plan"] = fmt.Sprintf("%s (seed %d)", s.opt.PairPlan, s.opt.PairSeed)
		meta["other_node_pairs"] = s.pairPlanText()
	}
	if s.k8sConformance != "" {
		meta["k8s_conformance"] = s.k8sConformance
	}
	if s.extSkip != "" {
		meta["external_skipped"] = s.extSkip
	}
	m := s.matrix.Result(meta, s.phases.List())
	m.Readiness = s.readiness
	m.K8sConformance = s.k8sConformanceResult
	switch {
	case s.setupErr != nil:
		m.RunError = s.setupErr.Error()
	case s.interrupted.Load():
		m.RunError = "interrupted (Ctrl-C, SIGTERM or the run's deadline): the cells cut short are reported as skipped"
	}
	m.Record = record(ctx, s)
	m.Coverage, s.coverageErr = coverage(s, m)
	if m.Coverage != nil {
		fmt.Printf("coverage: %s\n", m.Coverage.Summary(m))
	}
	if s.diagTar != "" {
		meta["diagnosis"] = s.diagTar
		fmt.Printf("diagnosis bundle (the red run's nodes, pods, events): %s\n", s.diagTar)
	}
	if err := results.WriteFile(filepath.Join(s.opt.ReportDir, "matrix.json"), m); err != nil {
		return ctx, err
	}
	if s.opt.ReportName == "" {
		return ctx, nil
	}
	// Rendered from the matrix in hand, as `cnigate report e2e` renders matrix.json.
	paths, err := report.Write(s.opt.ReportDir, s.opt.ReportName, report.FromE2E(m))
	if err != nil {
		return ctx, err
	}
	klog.Infof("reports: %s", strings.Join(paths, " "))
	return ctx, nil
}

// hostMemMeta adds the host's memory figures to meta (MiB, MemTotal -
// MemAvailable) and returns them as a line for the summary. Gate mode says
// it does not measure: the cluster's memory is not this host's.
func hostMemMeta(s *suite, meta map[string]string) string {
	if s.hostMem == nil {
		meta["host_mem"] = "not measured: existing cluster, it runs elsewhere"
		return "host memory: not measured (existing cluster: it runs elsewhere)\n"
	}
	st := s.hostMem()
	if st.Err != nil || st.Samples == 0 {
		meta["host_mem"] = fmt.Sprintf("not measured: %v", st.Err)
		return fmt.Sprintf("host memory: not measured (%v)\n", st.Err)
	}
	meta[results.MetaHostMemStart] = host.MiB(st.Start)
	meta[results.MetaHostMemPeak] = host.MiB(st.Peak)
	meta[results.MetaHostMemRise] = host.MiB(st.Rise())
	return fmt.Sprintf("host memory used (MemTotal - MemAvailable): peak %s MiB, +%s MiB over the start (%s MiB), %d samples 1 s apart\n",
		meta[results.MetaHostMemPeak], meta[results.MetaHostMemRise], meta[results.MetaHostMemStart], st.Samples)
}

func exportLogsOnFailure(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	if s.gate || !s.created || !s.failed.Load() || s.interrupted.Load() {
		return ctx, nil
	}
	dest, err := filepath.Abs(filepath.Join(s.opt.ReportDir, "kind-logs"))
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
	if s.opt.KeepCluster && !s.failed.Load() {
		klog.Infof("leaving kind cluster %s running (keep-cluster); its hermetic rule stays until make e2e-clean", s.cluster)
		return ctx, nil
	}
	var err error
	if s.created {
		klog.Infof("deleting kind cluster %s", s.cluster)
		err = s.kind.Delete()
	}
	if s.opt.Hermetic {
		// also after a failed create: the rule may be in before the cluster
		removed, rerr := host.RemoveHermeticRules(s.cluster)
		for _, r := range removed {
			klog.Infof("removed hermetic rule: %s", r)
		}
		err = errors.Join(err, rerr)
	}
	return ctx, err
}
