package clusterbench

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cnigate/cnigate/report"
	"github.com/cnigate/cnigate/results"
	"github.com/cnigate/cnigate/results/resultstest"
)

func round(cni string, burstMs, teardownMs float64, sandbox, ready []float64) Round {
	r := Round{ClusterBenchRound: results.ClusterBenchRound{CNI: cni, Round: 1, Pods: len(sandbox), BurstMs: burstMs, TeardownMs: teardownMs,
		Sandbox: Summarize(sandbox), Ready: Summarize(ready), StoreBefore: map[string]int{"w1": 0}, StorePeak: map[string]int{"w1": len(sandbox)}}}
	r.sandboxMs, r.readyMs = sandbox, ready
	return r
}

// The cluster-bench.json the CLI writes, from the smallest run (one round
// of each CNI), read back as `cnigate report` reads it (unknown fields
// refused) and as checked in, then rendered.
func TestResultProducesAStrictClusterBenchJSONThatRenders(t *testing.T) {
	rounds := []Round{round("podnet", 900, 400, []float64{100, 300}, []float64{150, 350}), round("bridge", 1000, 500, []float64{200, 250}, []float64{250, 300})}
	o := Options{Cluster: "cb", Workers: 2, PodsPerWorker: 1, Rounds: 1}
	res := Result(o, time.Date(2026, 12, 6, 18, 0, 0, 0, time.UTC), rounds)
	dir := t.TempDir()
	path := filepath.Join(dir, "cluster-bench.json")
	if err := results.WriteFile(path, res); err != nil {
		t.Fatal(err)
	}
	var back results.ClusterBench
	resultstest.CheckProduced(t, path, "cluster-bench.json", &back)
	if back.Schema != "cluster-bench/v1" || !reflect.DeepEqual(&back, res) {
		t.Fatalf("read back %+v\nwrote %+v", back, *res)
	}

	paths, err := report.Write(dir, "cluster-bench", report.FromClusterBench(&back))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != len(report.Formats) {
		t.Fatalf("wrote %v, want every format", paths)
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
