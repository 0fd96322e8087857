package clusterbench

import (
	"math"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cnigate/cnigate/e2e/harness/probe"
	"github.com/cnigate/cnigate/results"
)

// PodTimes are the moments a pod's conditions were first seen true, by the
// arrival of the watch event that carried them (millisecond resolution; the
// conditions' lastTransitionTime only has 1 s).
type PodTimes struct {
	Node      string
	Scheduled time.Time
	Sandbox   time.Time // PodReadyToStartContainers
	Ready     time.Time
}

// Observe records, at the arrival time at of an event carrying p, the
// conditions first seen true. A pod seen Ready counts as scheduled and with
// a sandbox by then if the events that said so were missed.
func (pt *PodTimes) Observe(p *corev1.Pod, at time.Time) {
	if pt.Node == "" {
		pt.Node = p.Spec.NodeName
	}
	set := func(t *time.Time, cond bool) {
		if cond && t.IsZero() {
			*t = at
		}
	}
	set(&pt.Scheduled, probe.PodConditionTrue(p, corev1.PodScheduled))
	set(&pt.Sandbox, probe.PodConditionTrue(p, corev1.PodReadyToStartContainers))
	set(&pt.Ready, probe.PodConditionTrue(p, corev1.PodReady))
}

// Complete is whether all three moments were seen.
func (pt *PodTimes) Complete() bool {
	return !pt.Scheduled.IsZero() && !pt.Sandbox.IsZero() && !pt.Ready.IsZero()
}

// Percentile is the nearest-rank q-quantile (0 < q <= 1) of sorted; 0 when empty.
func Percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Summarize sorts a copy of samples (ms) and takes its percentiles.
func Summarize(samples []float64) results.LatencySummary {
	s := slices.Clone(samples)
	slices.Sort(s)
	sum := results.LatencySummary{N: len(s), P50: Percentile(s, 0.50), P90: Percentile(s, 0.90), P99: Percentile(s, 0.99)}
	if len(s) > 0 {
		sum.Max = s[len(s)-1]
	}
	return sum
}

// Latencies are the pods' PodScheduled -> PodReadyToStartContainers and
// PodScheduled -> Ready times in ms (complete pods only).
func Latencies(pods map[string]*PodTimes) (sandbox, ready []float64) {
	for _, pt := range pods {
		if !pt.Complete() {
			continue
		}
		sandbox = append(sandbox, ms(pt.Sandbox.Sub(pt.Scheduled)))
		ready = append(ready, ms(pt.Ready.Sub(pt.Scheduled)))
	}
	return sandbox, ready
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
