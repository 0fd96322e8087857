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

	"github.com/cnigate/cnigate/e2e/harness"
	"github.com/cnigate/cnigate/report"
)

// Finish: the report, the logs of a failed run, the external host, teardown.

func writeReport(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	if !s.testsStart.IsZero() && !s.opt.KeepCluster {
		s.phases.Add(report.PhaseMatrix, time.Since(s.testsStart))
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
		meta = map[string]string{"mode": "gate", "kubeconfig": cfg.KubeconfigFile(), "cni": s.cniSummary()}
	}
	workers := len(s.workers) // the workers the matrix used
	if !s.gate {
		workers = s.opt.Workers // also when setup failed before finding them
	}
	meta["workers"] = fmt.Sprint(workers)
	mem := hostMemMeta(s, meta)
	fmt.Printf("\n=== connectivity matrix (%s)\n%s%s\n", title, s.matrix.Table(), mem)
	meta["mtu"] = fmt.Sprint(s.opt.MTU)
	if s.extSkip != "" {
		meta["external_skipped"] = s.extSkip
	}
	path := filepath.Join(s.opt.ReportDir, "matrix.json")
	if err := s.matrix.WriteJSON(path, meta); err != nil {
		return ctx, err
	}
	if s.opt.ReportName == "" {
		return ctx, nil
	}
	runErr := s.setupErr
	if runErr == nil && s.interrupted.Load() {
		runErr = errors.New("interrupted (Ctrl-C, SIGTERM or the run's deadline): the cells cut short are reported as skipped")
	}
	return ctx, renderReports(s.opt, path, s.phases.Lines(), runErr)
}

// hostMemMeta adds the host's memory figures to meta (MiB, MemTotal -
// MemAvailable) and returns them as a line for the summary. Gate mode says
// it does not measure: the cluster's memory is not this host's.
func hostMemMeta(s *suite, meta map[string]string) string {
	if s.hostMem == nil {
		meta["host_mem"] = "not measured: gate mode, the cluster runs elsewhere"
		return "host memory: not measured (gate mode: the cluster runs elsewhere)\n"
	}
	st := s.hostMem()
	if st.Err != nil || st.Samples == 0 {
		meta["host_mem"] = fmt.Sprintf("not measured: %v", st.Err)
		return fmt.Sprintf("host memory: not measured (%v)\n", st.Err)
	}
	meta[report.MetaHostMemStart] = harness.MiB(st.Start)
	meta[report.MetaHostMemPeak] = harness.MiB(st.Peak)
	meta[report.MetaHostMemRise] = harness.MiB(st.Rise())
	return fmt.Sprintf("host memory used (MemTotal - MemAvailable): peak %s MiB, +%s MiB over the start (%s MiB), %d samples 1 s apart\n",
		meta[report.MetaHostMemPeak], meta[report.MetaHostMemRise], meta[report.MetaHostMemStart], st.Samples)
}

// renderReports writes matrix.json (with the phase timings) in the four
// report formats, as `cnigate report e2e` does.
// A failed setup or an interrupted run is a failed case of its own ("run"):
// a run that checked no cell, or not every cell, must not read as passed.
func renderReports(o Options, matrixJSON, phases string, runErr error) error {
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
	paths, err := report.Write(o.ReportDir, o.ReportName, r)
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
		removed, rerr := harness.RemoveHermeticRules(s.cluster)
		for _, r := range removed {
			klog.Infof("removed hermetic rule: %s", r)
		}
		err = errors.Join(err, rerr)
	}
	return ctx, err
}
