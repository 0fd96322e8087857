package clusterbench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnigate/cnigate/report"
)

func TestReportRendersTheTableAndTarget(t *testing.T) {
	rounds := []Round{
		{CNI: "podnet", Round: 1, Pods: 2, BurstMs: 900, TeardownMs: 400, sandboxMs: []float64{100, 300}, readyMs: []float64{150, 350}},
		{CNI: "bridge", Round: 1, Pods: 2, BurstMs: 1000, TeardownMs: 500, sandboxMs: []float64{200, 250}, readyMs: []float64{250, 300}},
	}
	res := Result{Cluster: "cb", Workers: 2, PodsPerWorker: 1, RoundsPerCNI: 1, Timing: Timing, Rounds: rounds}
	res.CNIs, res.Target = Pool(rounds)
	dir := t.TempDir()
	paths, err := report.Write(dir, "cluster-bench", res.Report())
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 4 {
		t.Fatalf("wrote %v, want the four formats", paths)
	}
	md, err := os.ReadFile(filepath.Join(dir, "cluster-bench.md"))
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "cluster-bench.html"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), "ADD latency") {
		t.Error("the page shows ADD latency charts, but a cluster bench has no CNI-command samples")
	}
	for _, want := range []string{
		"| sandbox p99 | 300 | 250 | 1.20x |",
		"1.20x, MISSED", // podnet p99 300 > bridge 250
		"teardown wall",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
