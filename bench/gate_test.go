package bench

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cnigate/cnigate/results"
)

// noisyRounds simulates n interleaved rounds on a noisy shared machine: each
// round has a load factor both processes of the pair share (drifting, with
// bursts of outside work), each process its own log-normal noise (sigma) and
// now and then a stall. The baseline takes 10 ms times the load and noise, the
// candidate that times scale, plus shift (wall time the load does not
// stretch, like a sleep). The seed makes it deterministic.
func noisyRounds(seed uint64, n int, scale float64, shift time.Duration, sigma float64) (cand, baseline []time.Duration) {
	const base = 10 * time.Millisecond
	rng := rand.New(rand.NewPCG(seed, 42))
	load := 1.0
	for range n {
		load = 0.9*load + 0.1*(1+rng.Float64()) // drifts between ~1 and ~2
		round := load
		if rng.IntN(20) == 0 {
			round *= 2 // someone's compile hits the round
		}
		noise := func() float64 {
			x := math.Exp(sigma * rng.NormFloat64())
			if rng.IntN(50) == 0 {
				x *= 4 // a stall
			}
			return x
		}
		b := time.Duration(float64(base) * round * noise())
		// A shift is wall time the machine's load does not stretch (a sleep).
		c := time.Duration(float64(base)*scale*round*noise()) + shift
		cand, baseline = append(cand, c), append(baseline, b)
	}
	return cand, baseline
}

// noisy is the log-normal sigma of one process that gives the spread of real
// interleaved ADD pairs with 1.1 to 1.5 of the 2 cores busy with other work
// (log(c_i/b_i) of the same binary twice: robust sd 0.48, sd 0.53).
const noisy = 0.35

func TestGateJudge(t *testing.T) {
	g := DefaultGate()
	g.Candidate = "candidate"
	for _, tc := range []struct {
		name       string
		n          int
		scale      float64
		shift      time.Duration
		sigma      float64
		regression bool
	}{
		{"identical, quiet", 200, 1, 0, 0.1, false},
		{"identical, noisy", 200, 1, 0, noisy, false},
		{"identical, very noisy", 200, 1, 0, 2 * noisy, false},
		{"identical, few pairs", 30, 1, 0, noisy, false},
		{"5% slower: within the tolerance", 200, 1.05, 0, 0.3, false},
		{"5% slower, quiet: within the tolerance", 200, 1.05, 0, 0.05, false},
		{"15% slower, quiet: beyond it", 200, 1.15, 0, 0.05, true},
		{"5% faster", 200, 0.95, 0, 0.3, false},
		{"+5 ms on 10 ms", 200, 1, 5 * time.Millisecond, 0.3, true},
		{"+5 ms on 10 ms, noisy", 200, 1, 5 * time.Millisecond, noisy, true},
		{"+5 ms on 10 ms, 100 pairs, noisy", 100, 1, 5 * time.Millisecond, noisy, true},
		{"+1 ms on 10 ms: within the tolerance", 200, 1, time.Millisecond, noisy, false},
		{"30% slower", 200, 1.3, 0, 0.3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cand, base := noisyRounds(7, tc.n, tc.scale, tc.shift, tc.sigma)
			m := g.judge("add_p50", cand, base)
			if m.Regression != tc.regression {
				t.Fatalf("%s: regression %v, want %v", m.Text(&results.BenchGate{Tolerance: g.Tolerance, Confidence: g.Confidence}), m.Regression, tc.regression)
			}
			if !(m.Low <= m.Ratio && m.Ratio <= m.High) || m.Pairs != tc.n {
				t.Fatalf("%s: the point estimate is outside its interval or pairs are lost", m.Text(&results.BenchGate{Tolerance: g.Tolerance, Confidence: g.Confidence}))
			}
		})
	}
}

// The checks bench/README.md ("The gate between two builds") and
// docs/measurements/2026-11-30-bench-gate.md record on the real machine, here
// over many seeds: no false alarm for the same binary twice, no miss for
// +5 ms per ADD.
func TestGateErrorRates(t *testing.T) {
	g := DefaultGate()
	g.Candidate, g.Resamples = "candidate", 1000
	falseAlarms, misses := 0, 0
	const runs = 100
	for seed := range uint64(runs) {
		g.Seed = seed
		cand, base := noisyRounds(seed, 200, 1, 0, noisy)
		if g.judge("add_p50", cand, base).Regression {
			falseAlarms++
		}
		cand, base = noisyRounds(seed, 200, 1, 5*time.Millisecond, noisy)
		if !g.judge("add_p50", cand, base).Regression {
			misses++
		}
	}
	if falseAlarms > 0 || misses > 0 {
		t.Fatalf("over %d seeds: %d false alarms, %d missed +5 ms slowdowns", runs, falseAlarms, misses)
	}
}

func TestGateIntervalCoversTheTruth(t *testing.T) {
	// A 95% interval of the median ratio should contain the true one (1.2
	// here: the candidate scaled, the noise symmetric) in about 95% of the
	// runs; far fewer means a broken interval.
	g := DefaultGate()
	g.Candidate, g.Resamples = "c", 1000
	covered := 0
	const runs = 100
	for seed := range uint64(runs) {
		g.Seed = seed
		cand, base := noisyRounds(seed+1000, 200, 1.2, 0, 0.3)
		if m := g.judge("add_p50", cand, base); m.Low <= 1.2 && 1.2 <= m.High {
			covered++
		}
	}
	if covered < 88 {
		t.Fatalf("the 95%% interval covered the true ratio in %d of %d runs", covered, runs)
	}
}

func TestGateFailuresAndTooFewPairs(t *testing.T) {
	g := DefaultGate()
	g.Candidate = "c"
	cand, base := noisyRounds(3, 40, 1, 0, 0.2)
	for i := range 10 {
		cand[2*i] = 0 // failed processes: their rounds drop out
	}
	m := g.judge("del_p50", cand, base)
	if m.Pairs != 30 || m.Regression {
		t.Fatalf("with 10 failed rounds: %+v", m)
	}
	m = g.judge("add_p50", cand[:15], base[:15])
	if !m.Regression || !strings.Contains(m.Text(&results.BenchGate{Tolerance: g.Tolerance, Confidence: g.Confidence}), "not enough data") {
		t.Fatalf("15 rounds: %+v, want a regression for lack of data", m)
	}
}

func TestGateIsDeterministic(t *testing.T) {
	g := DefaultGate()
	g.Candidate = "c"
	cand, base := noisyRounds(5, 200, 1.1, 0, 0.4)
	a, b := g.judge("add_p50", cand, base), g.judge("add_p50", cand, base)
	if a != b {
		t.Fatalf("same samples and seed, different verdicts: %+v vs %+v", a, b)
	}
}

func TestGateOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		mutate     func(*GateOptions)
	}{
		{"no candidate", "no candidate", func(g *GateOptions) { g.Candidate = "" }},
		{"negative tolerance", "tolerance -0.1", func(g *GateOptions) { g.Tolerance = -0.1 }},
		{"confidence 1", "confidence 1", func(g *GateOptions) { g.Confidence = 1 }},
		{"few resamples", "resamples 10", func(g *GateOptions) { g.Resamples = 10 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := DefaultGate()
			g.Candidate = "c"
			tc.mutate(&g)
			if err := g.validOptions(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("validate() = %v, want %q", err, tc.want)
			}
		})
	}
	tb := Table{Baseline: "b", Contenders: []Contender{{Name: "a"}, {Name: "b"}}}
	if err := tb.gateable("b"); err == nil || !strings.Contains(err.Error(), "is the baseline") {
		t.Errorf("gateable(baseline) = %v", err)
	}
	if err := tb.gateable("z"); err == nil || !strings.Contains(err.Error(), "not a contender") {
		t.Errorf("gateable(unknown) = %v", err)
	}
	if err := tb.gateable("a"); err != nil {
		t.Errorf("gateable(a) = %v", err)
	}
}

func TestGateBurstWalls(t *testing.T) {
	rounds := []results.BenchBurstRound{
		{AddWallMs: 100, DelWallMs: 50},
		{AddWallMs: 110, DelWallMs: 60, AddFailures: 1},
		{AddWallMs: 120, DelWallMs: 70, Leftovers: 2},
		{AddWallMs: 130, DelWallMs: 80, DuplicateIPs: 1},
	}
	add, del := burstWalls(rounds)
	wantAdd := []time.Duration{100 * time.Millisecond, 0, 120 * time.Millisecond, 0}
	wantDel := []time.Duration{50 * time.Millisecond, 60 * time.Millisecond, 0, 80 * time.Millisecond}
	for i := range rounds {
		if add[i] != wantAdd[i] || del[i] != wantDel[i] {
			t.Fatalf("round %d: ADD %v DEL %v, want %v and %v (a round with a failure drops out)", i, add[i], del[i], wantAdd[i], wantDel[i])
		}
	}
}

func TestGateJudgesBursts(t *testing.T) {
	g := DefaultGate()
	g.Candidate = "candidate"
	for _, tc := range []struct {
		name       string
		rounds     int
		scale      float64
		metrics    int
		regression bool
	}{
		{"no burst rounds: ADD and DEL latency and CPU only", 0, 1, 4, false},
		{"too few burst rounds: not gated", minBurstPairs - 1, 2, 4, false},
		{"same speed", 10, 1, 6, false},
		{"bursts twice as long", 10, 2, 6, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cAdd, bAdd := noisyRounds(11, 200, 1, 0, 0.05)
			cand := &contender{addTiming: timing{rounds: cAdd, cpuRounds: cAdd}, delTiming: timing{rounds: cAdd, cpuRounds: cAdd}}
			base := &contender{addTiming: timing{rounds: bAdd, cpuRounds: bAdd}, delTiming: timing{rounds: bAdd, cpuRounds: bAdd}}
			cb, bb := noisyRounds(12, tc.rounds, tc.scale, 0, 0.05)
			for i := range tc.rounds {
				cand.res.Burst.Rounds = append(cand.res.Burst.Rounds, results.BenchBurstRound{AddWallMs: ms(cb[i]), DelWallMs: ms(cb[i])})
				base.res.Burst.Rounds = append(base.res.Burst.Rounds, results.BenchBurstRound{AddWallMs: ms(bb[i]), DelWallMs: ms(bb[i])})
			}
			res := g.gate("baseline", cand, base)
			if len(res.Metrics) != tc.metrics || res.Regression != tc.regression {
				t.Fatalf("%d metrics, regression %v; want %d, %v: %+v", len(res.Metrics), res.Regression, tc.metrics, tc.regression, res.Metrics)
			}
		})
	}
}
