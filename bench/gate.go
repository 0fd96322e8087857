package bench

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/cnigate/cnigate/results"
)

// GateOptions turn a run into a gate between two builds: is Candidate slower
// than the table's baseline by more than Tolerance?
//
// The test: the sequential phase interleaves the two, so round i gives a pair
// (candidate's latency c_i, baseline's latency b_i) measured back to back, in
// alternating order, on the same machine state and with the same number of
// pods already attached. The statistic is the median of the paired ratios
// c_i/b_i, of ADD and of DEL: how much slower the candidate's process is than
// its neighbour's, typically. Pairing helps on a shared machine: the part of
// the spread the two processes of a pair share (the machine's state, the pods
// attached) cancels in c_i/b_i, so its interval is mostly narrower than that
// of the ratio of the two p50s (bench/README.md has the figures).
// Its confidence interval is a percentile bootstrap over the rounds:
// Resamples times, draw len(pairs) pairs with replacement and take the median
// of their ratios; the interval is the (1-Confidence)/2 and (1+Confidence)/2
// quantiles of those medians. A metric regresses when the interval's lower
// bound exceeds 1+Tolerance: the candidate is slower by more than the
// tolerance with that confidence (a one-sided test at level
// (1-Confidence)/2). The gate fails when ADD or DEL regresses, in latency
// or in CPU time (MetricAddCPU).
// With burst rounds (at least minBurstPairs), the walls of the ADD burst and
// of the DEL burst are gated the same way: round r of the two runs back to
// back (in alternating order), so round r is a pair; they have far
// fewer pairs than the sequential phase, hence wider intervals, and catch
// only what is large against the burst's spread. The seed is
// fixed, so the verdict is reproducible from the samples in bench.json. The
// ratio of the two p50s is reported next to it.
//
// The CPU metrics (results.MetricAddCPU, MetricDelCPU) are the CPU time
// (user + system, the plugin and the children it waited for) of the
// sequential ADDs and DELs, paired and judged the same way against
// CPUTolerance. Wall time on a shared machine stretches with the other work
// on the cores; CPU time barely does, so its interval is far narrower there
// and a change that costs CPU is caught at a few percent; a slowdown that
// waits (a lock, a sleep) costs no CPU and is left to the latency metrics.
type GateOptions struct {
	Candidate    string
	Tolerance    float64
	CPUTolerance float64
	Confidence   float64
	Resamples    int
	Seed         uint64
}

// DefaultGate is the gate of make bench BASELINE=...: 10% tolerance, a 95%
// interval, 10,000 resamples.
func DefaultGate() GateOptions {
	return GateOptions{Tolerance: 0.10, CPUTolerance: 0.10, Confidence: 0.95, Resamples: 10000, Seed: 1}
}

// Validate checks the options and that the candidate is a contender of t
// other than its baseline.
func (g GateOptions) Validate(t Table) error {
	if err := g.validOptions(); err != nil {
		return err
	}
	return t.gateable(g.Candidate)
}

func (g GateOptions) validOptions() error {
	switch {
	case g.Candidate == "":
		return fmt.Errorf("gate: no candidate")
	case g.Tolerance < 0 || math.IsNaN(g.Tolerance):
		return fmt.Errorf("gate: tolerance %v must be at least 0", g.Tolerance)
	case g.CPUTolerance < 0 || math.IsNaN(g.CPUTolerance):
		return fmt.Errorf("gate: CPU tolerance %v must be at least 0", g.CPUTolerance)
	case !(g.Confidence > 0 && g.Confidence < 1):
		return fmt.Errorf("gate: confidence %v must be between 0 and 1", g.Confidence)
	case g.Resamples < 100:
		return fmt.Errorf("gate: resamples %d must be at least 100", g.Resamples)
	}
	return nil
}

const gateMethod = "median of the paired ratios candidate/baseline of interleaved rounds, percentile bootstrap CI over the rounds; regression when the CI's lower bound > 1+tolerance"

// minPairs is the fewest pairs the gate decides on: below it the interval
// says little, and the gate fails rather than pass on no evidence.
const minPairs = 20

// minBurstPairs is the same for the burst walls, whose pairs are whole
// bursts (seconds each): with fewer burst rounds the bursts are not gated.
const minBurstPairs = 5

// judge decides one metric from the per-round latencies of the two
// contenders (0: that process failed).
func (g GateOptions) judge(metric string, cand, base []time.Duration) results.BenchGateMetric {
	return g.judgeMin(metric, cand, base, minPairs)
}

// judgeMin is judge with another least number of pairs.
func (g GateOptions) judgeMin(metric string, cand, base []time.Duration, minPairs int) results.BenchGateMetric {
	m := results.BenchGateMetric{Metric: metric}
	var c, b []float64
	for i := range min(len(cand), len(base)) {
		if cand[i] > 0 && base[i] > 0 {
			c, b = append(c, ms(cand[i])), append(b, ms(base[i]))
		}
	}
	m.Pairs = len(c)
	if m.Pairs < minPairs {
		m.Insufficient = fmt.Sprintf("%d pairs where both succeeded, the gate needs %d", m.Pairs, minPairs)
		m.Regression = true
		return m
	}
	m.CandidateP50, m.BaselineP50 = results.P50(slices.Clone(c)), results.P50(slices.Clone(b))
	m.P50Ratio = m.CandidateP50 / m.BaselineP50
	ratios := make([]float64, len(c))
	for i := range c {
		ratios[i] = c[i] / b[i]
	}
	m.Ratio, m.Low, m.High = results.BootstrapMedian(ratios, g.Resamples, g.Confidence, g.Seed)
	tolerance := g.Tolerance
	if metric == results.MetricAddCPU || metric == results.MetricDelCPU {
		tolerance = g.CPUTolerance
	}
	m.Regression = m.Low > 1+tolerance
	return m
}

// gate judges ADD and DEL of the candidate against the baseline.
func (g GateOptions) gate(baseline string, cand, base *contender) *results.BenchGate {
	res := &results.BenchGate{
		Candidate: g.Candidate, Baseline: baseline, Tolerance: g.Tolerance, CPUTolerance: g.CPUTolerance, Confidence: g.Confidence,
		Resamples: g.Resamples, Seed: g.Seed, Method: gateMethod,
		Metrics: []results.BenchGateMetric{
			g.judge(results.MetricAddP50, cand.addTiming.rounds, base.addTiming.rounds),
			g.judge(results.MetricDelP50, cand.delTiming.rounds, base.delTiming.rounds),
			g.judge(results.MetricAddCPU, cand.addTiming.cpuRounds, base.addTiming.cpuRounds),
			g.judge(results.MetricDelCPU, cand.delTiming.cpuRounds, base.delTiming.cpuRounds),
		},
	}
	if len(cand.res.Burst.Rounds) >= minBurstPairs && len(base.res.Burst.Rounds) >= minBurstPairs {
		cAdd, cDel := burstWalls(cand.res.Burst.Rounds)
		bAdd, bDel := burstWalls(base.res.Burst.Rounds)
		res.Metrics = append(res.Metrics,
			g.judgeMin(results.MetricBurstAdd, cAdd, bAdd, minBurstPairs),
			g.judgeMin(results.MetricBurstDel, cDel, bDel, minBurstPairs))
	}
	res.Verdict = results.VerdictPass
	for _, m := range res.Metrics {
		if m.Regression {
			res.Regression, res.Verdict = true, results.VerdictRegression
		}
	}
	return res
}

// burstWalls are the ADD and DEL burst walls per round; a round with a
// failed process counts as failed (0), as a failed process does in judge.
func burstWalls(rounds []results.BenchBurstRound) (add, del []time.Duration) {
	for _, r := range rounds {
		a := time.Duration(r.AddWallMs * float64(time.Millisecond))
		d := time.Duration(r.DelWallMs * float64(time.Millisecond))
		if r.AddFailures > 0 || r.DuplicateIPs > 0 || r.Unconfigured > 0 {
			a = 0
		}
		if r.DelFailures > 0 || r.Leftovers > 0 {
			d = 0
		}
		add, del = append(add, a), append(del, d)
	}
	return add, del
}
