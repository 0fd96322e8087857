package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cnigate/cnigate/results"
	"github.com/cnigate/cnigate/results/resultstest"
)

// What bench.json is made of, from fixed latencies: finish's figures,
// ratios and targets and the gate's verdict, written as `cnigate bench`
// writes it, decoded strictly and equal to the checked-in copy.
func TestFinishProducesAStrictBenchJSON(t *testing.T) {
	mk := func(name string, addMs int, targets ...Target) *contender {
		c := &contender{spec: spec{name: name, targets: targets, families: []string{"ipv4"}}}
		for i := range minPairs {
			d := time.Duration(addMs+i%3) * time.Millisecond
			c.addTiming.durations, c.addTiming.rounds, c.addTiming.cpuRounds = append(c.addTiming.durations, d), append(c.addTiming.rounds, d), append(c.addTiming.cpuRounds, d/4)
			c.delTiming.durations, c.delTiming.rounds, c.delTiming.cpuRounds = append(c.delTiming.durations, d), append(c.delTiming.rounds, d), append(c.delTiming.cpuRounds, d/4)
		}
		c.res.Burst.Rounds = []results.BenchBurstRound{{AddWallMs: float64(10 * addMs), DelWallMs: float64(5 * addMs), AddCPUMs: float64(8 * addMs), DelCPUMs: float64(4 * addMs)}}
		c.res.State = StateTmpfs
		return c
	}
	o := Defaults()
	o.N, o.Burst, o.BurstRounds, o.RSSRuns = minPairs, 2, 1, 0
	rep := &results.Bench{Config: configOf(o), Baseline: "bridge",
		Machine: results.Machine{Cores: 2, CPU: "test", Kernel: "6.1", Go: "go1", Date: "2026-12-06T18:00:00Z",
			LoadAvg: []results.LoadSample{{At: "start", LoadAvg: "0.10 0.20 0.30 1/100 1"}},
			CPUUse:  []results.PhaseCPU{{Phase: "sequential", Seconds: 1, BenchCores: 0.5, OthersCores: 0.1}}}}
	rep.Config.CNIVersion = "1.1.0" // not the library's current: the checked-in copy stays put
	rep.Config.MemorySkipped = "no maxrss launcher given (bench/maxrss)"
	podnet, bridge := mk("podnet", 10, Target{Metric: results.MetricAddP50, Against: "bridge", Limit: 1}), mk("bridge", 40)
	rep.Config.State = StateTmpfs
	bridge.res.State = "host: /tmp, ext4 with a journal"
	finish(rep, []*contender{podnet, bridge})
	g := DefaultGate()
	g.Candidate, g.Resamples = "podnet", 200
	rep.Gate = g.gate("bridge", podnet, bridge)

	path := filepath.Join(t.TempDir(), "bench.json")
	if err := results.WriteFile(path, rep); err != nil {
		t.Fatal(err)
	}
	var back results.Bench
	resultstest.CheckProduced(t, path, "bench.json", &back)
	if !back.Passed() || back.Regressed() || len(back.Targets) != 1 || !back.Targets[0].Met || back.Gate.Verdict != results.VerdictPass {
		t.Errorf("bench.json: passed %v, regressed %v, targets %+v, gate %+v", back.Passed(), back.Regressed(), back.Targets, back.Gate)
	}
	var table strings.Builder
	WriteTable(&table, &back)
	for _, want := range []string{"podnet vs bridge (baseline bridge)", "ADD p50: median paired ratio", "gate verdict: pass",
		"data dirs: tmpfs\n", ", ipv4, data dir on host: /tmp, ext4 with a journal\n", "burst ADD CPU (ms)"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

// Run itself, the producer, on its smallest real input: the kernel floor
// alone, two pods, one burst. It creates network namespaces: root only.
func TestRunProducesAStrictBenchJSON(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: bench.Run creates network namespaces (sudo go test ./bench -run TestRunProduces)")
	}
	floor := filepath.Join(t.TempDir(), "floor")
	if out, err := exec.Command("go", "build", "-o", floor, "./floor").CombinedOutput(); err != nil {
		t.Fatalf("go build ./bench/floor: %v\n%s", err, out)
	}
	o := Defaults()
	o.N, o.Burst, o.BurstRounds, o.RSSRuns, o.Settle = 2, 2, 1, 0, 0
	o.Marker = filepath.Join(t.TempDir(), "cleaned") // not the machine's: a real bench must not wait for this test
	o.Log = t.Logf
	t.Setenv("TMPDIR", t.TempDir()) // to see that Run leaves nothing there, mounted or not
	// A run with every data dir on tmpfs neither waits for the previous
	// run's cleanup on the host nor says it cleaned up there.
	written := time.Now().Add(-time.Minute).Truncate(time.Second)
	if err := os.WriteFile(o.Marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(o.Marker, written, written); err != nil {
		t.Fatal(err)
	}
	o.Settle = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := Run(ctx, Table{Baseline: "floor", Contenders: []Contender{{Name: "floor", Plugin: floor, Floor: true}}}, o); err != nil {
		t.Fatalf("a run on tmpfs only: %v (it must not wait -settle)", err)
	}
	if fi, err := os.Stat(o.Marker); err != nil || !fi.ModTime().Equal(written) {
		t.Fatalf("a run on tmpfs only touched the marker: %v, %v", fi.ModTime(), err)
	}
	// With one contender on the host, it writes the marker (the settle
	// wait itself: TestSettleAfterPrevious).
	o.Settle = 0
	table := Table{Baseline: "floor", Contenders: []Contender{
		{Name: "floor", Plugin: floor, Floor: true},
		{Name: "floor-host", Plugin: floor, Floor: true, State: StateHost},
	}}
	rep, err := Run(context.Background(), table, o)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(o.Marker); err != nil || !fi.ModTime().After(written) {
		t.Errorf("a run with a contender on the host did not write the marker: %v", err)
	}
	if left, err := os.ReadDir(os.Getenv("TMPDIR")); err != nil || len(left) != 0 {
		t.Errorf("left in TMPDIR: %v (%v)", left, err)
	}
	host := "host: " + os.Getenv("TMPDIR") + ", "
	if rep.Config.State != StateTmpfs || rep.Contenders["floor"].State != StateTmpfs || !strings.HasPrefix(rep.Contenders["floor-host"].State, host) {
		t.Errorf("states: run %q, floor %q, floor-host %q (want tmpfs, tmpfs, %q...)", rep.Config.State, rep.Contenders["floor"].State, rep.Contenders["floor-host"].State, host)
	}
	path := filepath.Join(t.TempDir(), "bench.json")
	if err := results.WriteFile(path, rep); err != nil {
		t.Fatal(err)
	}
	var back results.Bench
	if err := results.ReadFile(path, &back); err != nil {
		t.Fatal(err)
	}
	if c := back.Contenders["floor"]; c == nil || c.Add.N != 2 || len(c.Add.SamplesMs) != 2 || c.Burst.Size != 2 || c.Burst.AddCPUMs <= 0 || c.Burst.DelCPUMs <= 0 || !back.Passed() {
		t.Errorf("bench.json: %+v", back.Contenders["floor"])
	}
}

// TestCPUP50SkipsFailedRounds: the CPU figure is the median over the
// successful processes only (a failed round is 0 in both series), and the
// CPU ratios a target can name come from it.
func TestCPUP50SkipsFailedRounds(t *testing.T) {
	msd := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	var l results.BenchLatency
	summarizeLatency(&l, timing{
		durations: []time.Duration{msd(10), msd(20), msd(30)},
		rounds:    []time.Duration{0, msd(10), msd(20), msd(30)},
		cpuRounds: []time.Duration{0, msd(2), msd(100), msd(3)},
	})
	if l.CPUP50Ms != 3 {
		t.Errorf("CPUP50Ms = %v, want 3 (median of 2, 3, 100; the failed round left out)", l.CPUP50Ms)
	}
	r := ratios(&results.BenchContender{Add: results.BenchLatency{CPUP50Ms: 5.5}}, &results.BenchContender{Add: results.BenchLatency{CPUP50Ms: 5}})
	if r[results.MetricAddCPU] != 1.1 {
		t.Errorf("add_cpu ratio = %v, want 1.1", r[results.MetricAddCPU])
	}
}
