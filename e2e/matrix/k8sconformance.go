package matrix

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/cnigate/cnigate/e2e/k8sconformance"
	"github.com/cnigate/cnigate/results"
)

// The optional upstream Kubernetes conformance stage (e2e/k8sconformance)
// after the matrix, on the same cluster: its own subtest (TestE2E/K8sConformance)
// and phase, not a group of the table nor cells of the matrix.

// PhaseK8sConformance is the stage's phase (phases-e2e.tsv, matrix.json).
const PhaseK8sConformance = "k8s conformance"

// k8sConformanceState is what the stage leaves for the report.
type k8sConformanceState struct {
	matrixEnd      time.Time // the matrix's end: its phase leaves the stage out
	k8sConformance string    // the stage's outcome line ("" when it did not run)
	// k8sConformanceResult: the judged outcome for the record (nil when the
	// stage did not get to judge a run).
	k8sConformanceResult *results.K8sConformance
}

func runK8sConformance(ctx context.Context, t *testing.T, s *suite) {
	start := time.Now()
	defer func() { s.phases.Add(PhaseK8sConformance, time.Since(start)) }()
	dir := filepath.Join(s.opt.ReportDir, "k8s-conformance")
	out, err := judgeK8sConformance(ctx, s, dir)
	if err != nil {
		// the record says so too, not only this test: a stage that could not judge is red
		s.k8sConformance = "could not run: " + err.Error()
		s.k8sConformanceResult = &results.K8sConformance{Seconds: time.Since(start).Seconds(), Artifacts: dir, Error: err.Error()}
		t.Fatalf("k8s-conformance: %v", err)
	}
	s.k8sConformance = out.Line()
	s.k8sConformanceResult = out.Result(dir)
	if !out.OK {
		t.Errorf("k8s-conformance: %s (details above and in %s)", out.Line(), filepath.Join(dir, k8sconformance.OutcomeFile))
	}
}

// judgeK8sConformance loads the test images (kind) and runs the stage.
func judgeK8sConformance(ctx context.Context, s *suite, dir string) (k8sconformance.Outcome, error) {
	o := s.opt.K8sConformance
	target := k8sconformance.Target{Dir: dir, Out: os.Stdout}
	if s.gate {
		target.Kubeconfig, target.Context, target.CNI = s.opt.Kubeconfig, s.opt.Context, s.cniSummary()
		// e2e.test reads a named file, else $KUBECONFIG, else in-cluster: name ~/.kube/config
		// when client-go's loading rules (the matrix's) would have used it
		if target.Kubeconfig == "" && os.Getenv(clientcmd.RecommendedConfigPathEnvVar) == "" {
			if _, err := os.Stat(clientcmd.RecommendedHomeFile); err == nil {
				target.Kubeconfig = clientcmd.RecommendedHomeFile
			}
		}
		klog.Infof("k8s-conformance: the nodes pull the e2e test images from their upstream registries unless KUBE_TEST_REPO_LIST names a mirror (docs/e2e.md)")
	} else {
		kubeconfig, err := filepath.Abs(filepath.Join(s.opt.ReportDir, "kubeconfig"))
		if err != nil {
			return k8sconformance.Outcome{}, err
		}
		target.Kubeconfig, target.CNI = kubeconfig, s.opt.CNI
		images, err := k8sconformance.Images(ctx, o.E2ETest)
		if err != nil {
			return k8sconformance.Outcome{}, err
		}
		if err := s.phases.Time("k8s conformance images", func() error {
			for _, img := range images {
				if err := s.kind.LoadImage(ctx, img); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return k8sconformance.Outcome{}, fmt.Errorf("%w: ci/k8s-conformance.sh builds the e2e test images", err)
		}
	}
	if err := s.phases.Time(phaseClusterWhole, func() error { return waitClusterWhole(ctx, s) }); err != nil {
		return k8sconformance.Outcome{}, err
	}
	return k8sconformance.Run(ctx, o, target)
}

// phaseClusterWhole is the wait for the cluster to be whole before the stage.
const phaseClusterWhole = "k8s conformance cluster whole"

// waitClusterWhole waits until the cluster is whole again after the matrix
// (whole.go): the Healing group restarts and deletes nodes, and a spec run
// into a cluster still short of a node, a kube-proxy or CoreDNS fails for
// the cluster, not for the CNI.
func waitClusterWhole(ctx context.Context, s *suite) error {
	cs, err := kubernetes.NewForConfig(s.rest)
	if err != nil {
		return err
	}
	w := wholeCheck{Namespaces: cniNamespaces, PodCIDRs: !s.gate, DNSOptional: s.gate}
	return w.waitWhole(ctx, cs, wholeTimeout, wholeInterval, func(line string) { fmt.Println("k8s-conformance: " + line) })
}
