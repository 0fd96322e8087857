package clusterbench

import (
	"time"

	"github.com/cnigate/cnigate/results"
)

// Timing is how the bench takes its moments.
const Timing = "arrival time of the watch event that first shows each condition True (ms resolution, includes the API server's " +
	"and watch's delivery lag); the conditions' lastTransitionTime has only 1 s resolution, so it is not used"

// Result is the run as cluster-bench.json holds it: o's parameters, the
// rounds, and their pools per CNI with the target.
func Result(o Options, date time.Time, rounds []Round) *results.ClusterBench {
	res := &results.ClusterBench{Date: date.UTC().Format(time.RFC3339), Cluster: o.Cluster, Workers: o.Workers,
		PodsPerWorker: o.PodsPerWorker, RoundsPerCNI: o.Rounds, Timing: Timing}
	for _, r := range rounds {
		res.Rounds = append(res.Rounds, r.ClusterBenchRound)
	}
	res.CNIs, res.Target = Pool(rounds)
	return res
}

// Pool summarises rounds per CNI (in CNIs order) and checks the target:
// podnet's PodScheduled -> PodReadyToStartContainers p99 <= the reference's.
func Pool(rounds []Round) ([]results.ClusterBenchCNI, results.ClusterBenchTarget) {
	var out []results.ClusterBenchCNI
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
		out = append(out, results.ClusterBenchCNI{CNI: cni, Sandbox: Summarize(sandbox), Ready: Summarize(ready), Burst: Summarize(burst), Teardown: Summarize(teardown)})
	}
	t := results.ClusterBenchTarget{What: "podnet p99 PodScheduled -> PodReadyToStartContainers <= reference (bridge + host-local + portmap) p99",
		PodnetP99: out[0].Sandbox.P99, ReferenceP99: out[1].Sandbox.P99}
	t.Met = out[0].Sandbox.N > 0 && out[1].Sandbox.N > 0 && t.PodnetP99 <= t.ReferenceP99
	return out, t
}
