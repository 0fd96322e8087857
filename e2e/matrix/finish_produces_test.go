package matrix

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/cnigate/cnigate/e2e/harness/host"
	"github.com/cnigate/cnigate/report"
	"github.com/cnigate/cnigate/results"
	"github.com/cnigate/cnigate/results/resultstest"
)

// writeReport, the producer of matrix.json, on the smallest run: one cell of
// each result and a few phases. Its matrix.json decodes strictly and is the
// checked-in one; the reports it renders in the same process carry the run.
func TestWriteReportProducesAStrictMatrixJSON(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setupErr error
		want     []string // in the Markdown report
	}{
		{name: "a run", want: []string{"1 passed, 1 failed, 1 skipped", "| shell-w1 |"}},
		{name: "setup failed", setupErr: errors.New("create cluster: boom"), want: []string{"1 passed, 2 failed, 1 skipped", "create cluster: boom"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := &suite{opt: Options{ReportDir: dir, ReportName: "e2e-podnet", CNI: "podnet", Workers: 2, MTU: 1500, NodeImage: "cnigate/node:test"},
				clusterFacts: clusterFacts{cluster: "cnigate-e2e", k8sVersion: "v1.34.4"},
				bookkeeping: bookkeeping{setupErr: tc.setupErr,
					hostMem: func() host.MemPeakStats {
						return host.MemPeakStats{Start: 1000 << 20, Peak: 3000 << 20, Samples: 10}
					}}}
			s.start, s.clock = time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC), func() time.Time { return time.Date(2026, 12, 6, 21, 9, 30, 0, time.UTC) }
			s.phases.Add(results.PhaseClusterCreate, 41200*time.Millisecond)
			s.phases.Add(results.PhasePodsReady, 9400*time.Millisecond)
			pass := results.Cell{Behaviour: "pod -> pod on the same node", Name: "icmp:shell-w1->web-w1", From: "shell-w1", To: "web-w1", Protocol: "icmp", Result: results.Pass, Attempts: 1, Detail: "3/3 replies"}
			pass.SetLatency(81 * time.Microsecond)
			s.matrix.Add(pass)
			s.matrix.Add(results.Cell{Behaviour: "pod -> external host", Name: "http:shell-w1->external", From: "shell-w1", To: "external", Protocol: "http", Result: results.Fail, Attempts: 23, Detail: "server saw 10.244.1.3"})
			s.matrix.Add(results.Cell{Behaviour: "pod -> external host", Name: "icmp:shell-w1->external", From: "shell-w1", To: "external", Protocol: "icmp", Result: results.Skip, Detail: "no external host"})
			ctx := context.WithValue(context.Background(), suiteKey{}, s)
			if _, err := writeReport(ctx, envconf.New()); err != nil {
				t.Fatal(err)
			}
			var m results.Matrix
			golden := "matrix.json"
			if tc.setupErr != nil {
				golden = "matrix-setup-failed.json"
			}
			resultstest.CheckProduced(t, filepath.Join(dir, "matrix.json"), golden, &m)
			if len(m.Phases) != 2 || m.Failed != 1 || m.Meta["workers"] != "2" || (m.RunError != "") != (tc.setupErr != nil) {
				t.Errorf("matrix.json: %+v", m)
			}
			md, err := os.ReadFile(filepath.Join(dir, "e2e-podnet.md"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.want {
				if !strings.Contains(string(md), want) {
					t.Errorf("e2e-podnet.md lacks %q:\n%s", want, md)
				}
			}
			for _, f := range report.Files("e2e-podnet") {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Error(err)
				}
			}
			tsv, err := os.ReadFile(filepath.Join(dir, "phases-e2e.tsv"))
			if err != nil || string(tsv) != m.Phases.TSV() {
				t.Errorf("phases-e2e.tsv %q, %v; want the phases of matrix.json", tsv, err)
			}
		})
	}
}
