package clusterbench

import (
	"fmt"
	"slices"

	"github.com/cnigate/cnigate/e2e/harness"
	"github.com/cnigate/cnigate/report"
)

// Result is the run as _artifacts/cluster-bench.json holds it.
type Result struct {
	Date          string `json:"date"`
	Cluster       string `json:"cluster"`
	Workers       int    `json:"workers"`
	PodsPerWorker int    `json:"pods_per_worker"`
	RoundsPerCNI  int    `json:"rounds_per_cni"`
	// Timing says how the moments were taken.
	Timing string      `json:"timing"`
	CNIs   []CNIResult `json:"cnis"`
	Rounds []Round     `json:"rounds"`
	Target Target      `json:"target"`
}

// Timing is how the bench takes its moments.
const Timing = "arrival time of the watch event that first shows each condition True (ms resolution, includes the API server's " +
	"and watch's delivery lag); the conditions' lastTransitionTime has only 1 s resolution, so it is not used"

// CNIResult pools one CNI's rounds.
type CNIResult struct {
	CNI     string  `json:"cni"`
	Sandbox Summary `json:"sandbox"`
	Ready   Summary `json:"ready"`
	// Burst and Teardown summarise the rounds' wall times.
	Burst    Summary `json:"burst"`
	Teardown Summary `json:"teardown"`
}

// Target is the goal: podnet's PodScheduled -> PodReadyToStartContainers p99 <= the reference's.
type Target struct {
	What         string  `json:"what"`
	PodnetP99    float64 `json:"podnet_p99_ms"`
	ReferenceP99 float64 `json:"reference_p99_ms"`
	Met          bool    `json:"met"`
}

// Pool summarises rounds per CNI (in CNIs order) and checks the target.
func Pool(rounds []Round) ([]CNIResult, Target) {
	var out []CNIResult
	for _, cni := range CNIs {
		var sandbox, ready, burst, teardown []float64
		for _, r := range rounds {
			if r.CNI != cni {
				continue
			}
			sandbox = append(sandbox, r.sandboxMs...)
			ready = append(ready, r.readyMs...)
			burst = append(burst, r.BurstMs)
			teardown = append(teardown, r.TeardownMs)
		}
		out = append(out, CNIResult{CNI: cni, Sandbox: Summarize(sandbox), Ready: Summarize(ready), Burst: Summarize(burst), Teardown: Summarize(teardown)})
	}
	t := Target{What: "podnet p99 PodScheduled -> PodReadyToStartContainers <= reference (bridge + host-local + portmap) p99",
		PodnetP99: out[0].Sandbox.P99, ReferenceP99: out[1].Sandbox.P99}
	t.Met = out[0].Sandbox.N > 0 && out[1].Sandbox.N > 0 && t.PodnetP99 <= t.ReferenceP99
	return out, t
}

// Report lays the result out for the four report formats: a table podnet
// vs the reference, one case per round, the target as a bench target.
func (res *Result) Report() *report.Report {
	r := &report.Report{Kind: "bench", Title: "cnigate cluster bench: pod start-up through the CNI",
		Facts: []report.Fact{
			{Name: "date", Value: res.Date},
			{Name: "cluster", Value: fmt.Sprintf("kind %s, %d workers, %d pods per worker per burst, %d rounds per CNI (interleaved)", res.Cluster, res.Workers, res.PodsPerWorker, res.RoundsPerCNI)},
			{Name: "timing", Value: res.Timing},
		}}
	names := make([]string, len(res.CNIs))
	for i, c := range res.CNIs {
		names[i] = c.CNI
	}
	v := &report.BenchView{Order: names, Baseline: harness.CNIBridge, Header: []string{"metric (ms)", names[0], names[1], names[0] + "/" + names[1]}}
	row := func(label string, get func(CNIResult) float64) {
		a, b := get(res.CNIs[0]), get(res.CNIs[1])
		ratio := "-"
		if b != 0 {
			ratio = fmt.Sprintf("%.2fx", a/b)
		}
		v.Rows = append(v.Rows, []string{label, fmt.Sprintf("%.0f", a), fmt.Sprintf("%.0f", b), ratio})
	}
	row("sandbox p50 (PodScheduled -> PodReadyToStartContainers)", func(c CNIResult) float64 { return c.Sandbox.P50 })
	row("sandbox p90", func(c CNIResult) float64 { return c.Sandbox.P90 })
	row("sandbox p99", func(c CNIResult) float64 { return c.Sandbox.P99 })
	row("ready p50 (PodScheduled -> Ready)", func(c CNIResult) float64 { return c.Ready.P50 })
	row("ready p90", func(c CNIResult) float64 { return c.Ready.P90 })
	row("ready p99", func(c CNIResult) float64 { return c.Ready.P99 })
	row("burst wall, median of rounds (create -> all Ready)", func(c CNIResult) float64 { return c.Burst.P50 })
	row("teardown wall, median of rounds (delete -> gone, stores back)", func(c CNIResult) float64 { return c.Teardown.P50 })
	ratio := 0.0
	if res.Target.ReferenceP99 > 0 {
		ratio = res.Target.PodnetP99 / res.Target.ReferenceP99
	}
	v.Targets = []report.BenchTarget{{What: res.Target.What, Ratio: ratio, Limit: 1, Met: res.Target.Met}}
	r.Bench = v
	for _, rd := range res.Rounds {
		r.Cases = append(r.Cases, report.Case{Suite: rd.CNI, Name: fmt.Sprintf("round %d", rd.Round), Result: report.Pass,
			Seconds: (rd.BurstMs + rd.TeardownMs) / 1000,
			Detail: fmt.Sprintf("%d pods Ready; sandbox p50/p90/p99 %.0f/%.0f/%.0f ms; ready p50/p90/p99 %.0f/%.0f/%.0f ms; burst %.1f s; teardown %.1f s; reservations %v -> %v -> back",
				rd.Pods, rd.Sandbox.P50, rd.Sandbox.P90, rd.Sandbox.P99, rd.Ready.P50, rd.Ready.P90, rd.Ready.P99, rd.BurstMs/1000, rd.TeardownMs/1000, rd.StoreBefore, rd.StorePeak)})
	}
	if !slices.ContainsFunc(r.Cases, func(c report.Case) bool { return c.Result == report.Pass }) {
		r.Notes = append(r.Notes, "no round completed")
	}
	return r
}
