package report

import (
	"fmt"
	"slices"

	"github.com/cnigate/cnigate/results"
)

// FromClusterBench lays a cluster bench out as a bench report: a table of
// the contender vs the reference, one case per round, the target as a bench
// target.
func FromClusterBench(res *results.ClusterBench) *Report {
	r := &Report{Kind: "bench", Title: "cnigate cluster bench: pod start-up through the CNI",
		Facts: []Fact{
			{Name: "date", Value: res.Date},
			{Name: "cluster", Value: fmt.Sprintf("kind %s, %d workers, %d pods per worker per burst, %d rounds per CNI (interleaved)", res.Cluster, res.Workers, res.PodsPerWorker, res.RoundsPerCNI)},
			{Name: "timing", Value: res.Timing},
		}}
	names := make([]string, len(res.CNIs))
	for i, c := range res.CNIs {
		names[i] = c.CNI
	}
	// CNIs are the contender then the reference, the baseline of the ratio.
	v := &BenchView{Order: names, Baseline: names[1], Header: []string{"metric (ms)", names[0], names[1], names[0] + "/" + names[1]}}
	row := func(label string, get func(results.ClusterBenchCNI) float64) {
		a, b := get(res.CNIs[0]), get(res.CNIs[1])
		ratio := "-"
		if b != 0 {
			ratio = fmt.Sprintf("%.2fx", a/b)
		}
		v.Rows = append(v.Rows, []string{label, fmt.Sprintf("%.0f", a), fmt.Sprintf("%.0f", b), ratio})
	}
	row("sandbox p50 (PodScheduled -> PodReadyToStartContainers)", func(c results.ClusterBenchCNI) float64 { return c.Sandbox.P50 })
	row("sandbox p90", func(c results.ClusterBenchCNI) float64 { return c.Sandbox.P90 })
	row("sandbox p99", func(c results.ClusterBenchCNI) float64 { return c.Sandbox.P99 })
	row("ready p50 (PodScheduled -> Ready)", func(c results.ClusterBenchCNI) float64 { return c.Ready.P50 })
	row("ready p90", func(c results.ClusterBenchCNI) float64 { return c.Ready.P90 })
	row("ready p99", func(c results.ClusterBenchCNI) float64 { return c.Ready.P99 })
	row("burst wall, median of rounds (create -> all Ready)", func(c results.ClusterBenchCNI) float64 { return c.Burst.P50 })
	row("teardown wall, median of rounds (delete -> gone, stores back)", func(c results.ClusterBenchCNI) float64 { return c.Teardown.P50 })
	ratio := 0.0
	if res.Target.ReferenceP99 > 0 {
		ratio = res.Target.PodnetP99 / res.Target.ReferenceP99
	}
	v.Targets = []results.BenchTarget{{What: res.Target.What, Ratio: ratio, Limit: 1, Met: res.Target.Met}}
	r.Bench = v
	for _, rd := range res.Rounds {
		r.Cases = append(r.Cases, Case{Suite: rd.CNI, Name: fmt.Sprintf("round %d", rd.Round), Result: results.Pass,
			Seconds: (rd.BurstMs + rd.TeardownMs) / 1000,
			Detail: fmt.Sprintf("%d pods Ready; sandbox p50/p90/p99 %.0f/%.0f/%.0f ms; ready p50/p90/p99 %.0f/%.0f/%.0f ms; burst %.1f s; teardown %.1f s; reservations %v -> %v -> back",
				rd.Pods, rd.Sandbox.P50, rd.Sandbox.P90, rd.Sandbox.P99, rd.Ready.P50, rd.Ready.P90, rd.Ready.P99, rd.BurstMs/1000, rd.TeardownMs/1000, rd.StoreBefore, rd.StorePeak)})
	}
	if !slices.ContainsFunc(r.Cases, func(c Case) bool { return c.Result == results.Pass }) {
		r.Notes = append(r.Notes, "no round completed")
	}
	return r
}
