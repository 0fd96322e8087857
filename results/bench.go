package results

import (
	"errors"
	"fmt"
)

// Bench is a bench run (bench.json): figures per contender, the ratios of
// every pair, the targets, and a gate's verdict.
//
// v1 (from v0): the "schema" field only.
type Bench struct {
	Schema  string      `json:"schema"`
	Machine Machine     `json:"machine"`
	Config  BenchConfig `json:"config"`
	// Baseline is the contender the headline ratios are computed against.
	Baseline string `json:"baseline"`
	// Order is the contenders in table order.
	Order      []string                   `json:"order"`
	Contenders map[string]*BenchContender `json:"contenders"`
	// Ratios["a/b"] is a's figure over b's, for every ordered pair of
	// contenders, keyed by the Metric* names.
	Ratios  map[string]map[string]float64 `json:"ratios"`
	Targets []BenchTarget                 `json:"targets"`
	// Gate is the verdict of a gate run (candidate vs baseline).
	Gate *BenchGate `json:"gate,omitempty"`
}

// The metrics of Bench.Ratios; targets and the gate name theirs the same way.
const (
	MetricAddP50   = "add_p50"
	MetricDelP50   = "del_p50"
	MetricBurst    = "burst" // wall time of the ADD burst plus the DEL burst
	MetricAddP99   = "add_p99"
	MetricDelP99   = "del_p99"
	MetricBurstAdd = "burst_add"
	MetricBurstDel = "burst_del"
	// The gate's CPU metrics: the CPU time of the sequential ADDs and DELs.
	MetricAddCPU = "add_cpu"
	MetricDelCPU = "del_cpu"
)

var metricNames = map[string]string{MetricAddP50: "ADD p50", MetricDelP50: "DEL p50", MetricBurst: "burst wall",
	MetricAddCPU: "ADD CPU", MetricDelCPU: "DEL CPU", MetricBurstAdd: "burst ADD wall", MetricBurstDel: "burst DEL wall"}

// MetricName is a metric as people read it ("ADD p50"), else its key.
func MetricName(metric string) string {
	if n, ok := metricNames[metric]; ok {
		return n
	}
	return metric
}

// Machine is where a bench ran.
type Machine struct {
	Cores     int          `json:"cores"`
	CPU       string       `json:"cpu"`
	MemoryGiB float64      `json:"memory_gib"`
	Kernel    string       `json:"kernel"`
	Go        string       `json:"go"`
	IPTables  string       `json:"iptables"`
	Date      string       `json:"date"`
	LoadAvg   []LoadSample `json:"loadavg"`
	// CPUUse splits the cores between the benchmark and everything else, per phase.
	CPUUse []PhaseCPU `json:"cpu_use"`
}

// LoadSample is /proc/loadavg at a moment of the run.
type LoadSample struct {
	At      string `json:"at"`
	LoadAvg string `json:"loadavg"` // /proc/loadavg: 1, 5, 15 minutes, runnable/all, last pid
}

// PhaseCPU is how the cores were used during one phase, in cores (1.0 = one
// core busy for the whole phase).
type PhaseCPU struct {
	Phase       string  `json:"phase"`
	Seconds     float64 `json:"seconds"`
	LoadAvg     string  `json:"loadavg_at_start"`
	BenchCores  float64 `json:"bench_cores"`
	OthersCores float64 `json:"others_cores"`
	StealCores  float64 `json:"steal_cores"`
	IdleCores   float64 `json:"idle_cores"`
}

// BenchConfig is the run's parameters.
type BenchConfig struct {
	N                      int    `json:"n"`
	Burst                  int    `json:"burst"`
	BurstRounds            int    `json:"burst_rounds"`
	RSSRuns                int    `json:"rss_runs"`
	Network                string `json:"network"`
	Subnet                 string `json:"subnet"`
	Bridge                 string `json:"bridge"`
	MTU                    int    `json:"mtu"`
	IPMasq                 *bool  `json:"ipmasq,omitempty"` // set when -ipmasq overrode the configs
	CNIVersion             string `json:"cni_version"`
	RSSLauncherBaselineKiB int64  `json:"rss_launcher_baseline_kib"`
	MemorySkipped          string `json:"memory_skipped,omitempty"`
	BurstSkipped           string `json:"burst_skipped,omitempty"`
	// State is where the contenders' data dirs live unless
	// their own State says otherwise: "tmpfs", or "host: <dir>, <filesystem>".
	State string `json:"state,omitempty"`
}

// BenchContender is one contender's figures.
type BenchContender struct {
	Binary string `json:"binary"`
	Floor  bool   `json:"floor,omitempty"`
	// Subnet is the contender's IPv4 subnet, Families what each pod gets,
	// Preload what its store held before the first phase.
	Subnet   string   `json:"subnet"`
	Families []string `json:"families"`
	Preload  *Preload `json:"preload,omitempty"`
	// State is where its data dir was (as BenchConfig.State).
	State string       `json:"state,omitempty"`
	Add   BenchLatency `json:"add"`
	Del   BenchLatency `json:"del"`
	Burst BenchBurst   `json:"burst"`
	RSS   BenchRSS     `json:"rss"`
	// PeakRSSKiB is the larger of RSS's two, PeakRSSMiB the same in MiB.
	PeakRSSKiB int64   `json:"peak_rss_kib"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	// Failures and DuplicateIPs add up the sequential and burst phases.
	Failures     int      `json:"failures"`
	DuplicateIPs int      `json:"duplicate_ips"`
	Errors       []string `json:"errors,omitempty"`
}

// Latency is one sequential command's figures (ADD or DEL).
func (c *BenchContender) Latency(cmd string) *BenchLatency {
	if cmd == "ADD" {
		return &c.Add
	}
	return &c.Del
}

// Clean is whether the contender ran clean: no failed process, no duplicate
// address, no pod left unconfigured, no bad ADD result, nothing left behind
// by DEL.
func (c *BenchContender) Clean() bool {
	return c.Add.Failures+c.Del.Failures+c.Burst.Failures == 0 && c.Add.DuplicateIPs+c.Burst.DuplicateIPs == 0 &&
		c.Add.Unconfigured+c.Burst.Unconfigured == 0 && c.Add.BadResults+c.Burst.BadResults == 0 &&
		c.Del.Leftovers+c.Burst.Leftovers == 0
}

// Preload is what a contender's store held before the first phase.
type Preload struct {
	// Reservations is how many attachments already held an address.
	Reservations int `json:"reservations"`
	// Format is the on-disk layout ("podnet-store").
	Format string `json:"format"`
}

// BenchRSS is the peak resident set of the ADD and the DEL processes.
type BenchRSS struct {
	AddKiB int64 `json:"add_kib"`
	DelKiB int64 `json:"del_kib"`
}

// BenchLatency is the sequential figures of one command; the percentiles are
// over the successful processes.
type BenchLatency struct {
	N        int     `json:"n"`
	Failures int     `json:"failures"`
	P50Ms    float64 `json:"p50_ms"`
	P90Ms    float64 `json:"p90_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MinMs    float64 `json:"min_ms"`
	MaxMs    float64 `json:"max_ms"`
	// CPUP50Ms is the median CPU time (user + system, the plugin process and
	// its children) of the successful processes: what the command cost the
	// machine, which other work on the cores barely moves.
	CPUP50Ms     float64 `json:"cpu_p50_ms,omitempty"`
	DuplicateIPs int     `json:"duplicate_ips,omitempty"` // ADD: addresses on more than one pod
	Unconfigured int     `json:"unconfigured,omitempty"`  // ADD: pods left without an address
	BadResults   int     `json:"bad_results,omitempty"`   // ADD: results not matching the pod (a family missing, another address)
	Leftovers    int     `json:"leftovers,omitempty"`     // DEL: interfaces (and, preloaded, reservations) left behind
	// SamplesMs is every successful process's latency, in run order.
	SamplesMs []float64 `json:"samples_ms"`
}

// BenchBurst is the median round (wall times) and the totals over all rounds.
type BenchBurst struct {
	Size      int     `json:"size"`
	AddWallMs float64 `json:"add_wall_ms"`
	DelWallMs float64 `json:"del_wall_ms"`
	WallMs    float64 `json:"wall_ms"` // ADD burst + DEL burst
	// AddCPUMs and DelCPUMs are, per round, the CPU time of all its
	// plugin processes together (user + system, with the children they
	// waited for; not kernel workers), the median over rounds: what the
	// plugins spent, where the wall time also counts the waits (for a lock,
	// for the other processes on the cores). Absent in files from before
	// they were measured.
	AddCPUMs     float64           `json:"add_cpu_ms,omitempty"`
	DelCPUMs     float64           `json:"del_cpu_ms,omitempty"`
	Failures     int               `json:"failures"`
	DuplicateIPs int               `json:"duplicate_ips"`
	Unconfigured int               `json:"unconfigured"`
	BadResults   int               `json:"bad_results"`
	Leftovers    int               `json:"leftovers"`
	Rounds       []BenchBurstRound `json:"rounds"`
}

// BenchBurstRound is one burst round.
type BenchBurstRound struct {
	AddWallMs    float64 `json:"add_wall_ms"`
	DelWallMs    float64 `json:"del_wall_ms"`
	AddCPUMs     float64 `json:"add_cpu_ms,omitempty"`
	DelCPUMs     float64 `json:"del_cpu_ms,omitempty"`
	AddFailures  int     `json:"add_failures"`
	DelFailures  int     `json:"del_failures"`
	DuplicateIPs int     `json:"duplicate_ips"`
	Unconfigured int     `json:"unconfigured"`
	BadResults   int     `json:"bad_results"`
	Leftovers    int     `json:"leftovers"`
}

// BenchTarget is one speed goal of the table and whether it was met.
type BenchTarget struct {
	What      string  `json:"what"`
	Contender string  `json:"contender"`
	Metric    string  `json:"metric"`
	Against   string  `json:"against"`
	Ratio     float64 `json:"ratio"`
	Limit     float64 `json:"limit"`
	Met       bool    `json:"met"`
}

// The gate's verdicts.
const (
	VerdictPass       = "pass"
	VerdictRegression = "REGRESSION"
)

// BenchGate is the verdict of a gate run: is the candidate slower than the
// baseline by more than the tolerance?
type BenchGate struct {
	Candidate string  `json:"candidate"`
	Baseline  string  `json:"baseline"`
	Tolerance float64 `json:"tolerance"`
	// CPUTolerance is the tolerance of the CPU metrics (MetricAddCPU, MetricDelCPU).
	CPUTolerance float64 `json:"cpu_tolerance,omitempty"`
	Confidence   float64 `json:"confidence"`
	Resamples    int     `json:"resamples"`
	Seed         uint64  `json:"seed"`
	Method       string  `json:"method"`
	// Metrics are add_p50 and del_p50.
	Metrics []BenchGateMetric `json:"metrics"`
	// Regression is true when any metric regressed.
	Regression bool `json:"regression"`
	// Verdict is VerdictPass or VerdictRegression.
	Verdict string `json:"verdict"`
}

// BenchGateMetric is one gated ratio with its confidence interval.
type BenchGateMetric struct {
	Metric string `json:"metric"`
	// Pairs is the rounds where both processes succeeded.
	Pairs        int     `json:"pairs"`
	CandidateP50 float64 `json:"candidate_p50_ms"`
	BaselineP50  float64 `json:"baseline_p50_ms"`
	// P50Ratio is CandidateP50/BaselineP50, for reference.
	P50Ratio float64 `json:"p50_ratio"`
	// Ratio is the median paired ratio, Low and High its interval.
	Ratio      float64 `json:"ratio"`
	Low        float64 `json:"ci_low"`
	High       float64 `json:"ci_high"`
	Regression bool    `json:"regression"`
	// Insufficient says why there was too little data to decide (then
	// Regression is true: no pass on no evidence).
	Insufficient string `json:"insufficient,omitempty"`
}

// Text is the metric's verdict line, the same in the bench's table and the
// reports.
func (m BenchGateMetric) Text(g *BenchGate) string {
	if m.Insufficient != "" {
		return fmt.Sprintf("%s: not enough data (%s): %s", MetricName(m.Metric), m.Insufficient, VerdictRegression)
	}
	verdict := VerdictPass
	if m.Regression {
		verdict = VerdictRegression
	}
	return fmt.Sprintf("%s: median paired ratio %.3fx, %.0f%% CI [%.3f, %.3f], limit %.2fx (p50 %.2f vs %.2f ms, %d pairs): %s",
		MetricName(m.Metric), m.Ratio, g.Confidence*100, m.Low, m.High, 1+g.ToleranceOf(m.Metric), m.CandidateP50, m.BaselineP50, m.Pairs, verdict)
}

// ToleranceOf is the tolerance the gate applies to metric.
func (g *BenchGate) ToleranceOf(metric string) float64 {
	if metric == MetricAddCPU || metric == MetricDelCPU {
		return g.CPUTolerance
	}
	return g.Tolerance
}

// Passed is whether every contender ran clean (see BenchContender.Clean).
// Speed targets are reported, not part of this verdict.
func (b *Bench) Passed() bool {
	for _, c := range b.Contenders {
		if !c.Clean() {
			return false
		}
	}
	return true
}

// Regressed is whether the gate (if any) found the candidate slower than the
// baseline by more than the tolerance.
func (b *Bench) Regressed() bool { return b.Gate != nil && b.Gate.Regression }

// Spec implements File.
func (*Bench) Spec() Spec { return Spec{Kind: KindBench, Version: 1, Oldest: 0} }

func (b *Bench) schemaField() *string { return &b.Schema }

func (b *Bench) upgrade(int) error { return nil } // v0 is v1 without the schema field

// Check refuses a bench without contenders, an order naming one without
// figures, and a baseline that is not a contender.
func (b *Bench) Check() error {
	if len(b.Order) == 0 || len(b.Contenders) == 0 {
		return errors.New(`no "order" or no "contenders": not the figures of a bench run (or one older than the contender table)`)
	}
	for _, n := range b.Order {
		if b.Contenders[n] == nil {
			return fmt.Errorf("contender %q of \"order\" has no figures", n)
		}
	}
	if b.Contenders[b.Baseline] == nil {
		return fmt.Errorf("\"baseline\" %q is not a contender", b.Baseline)
	}
	if g := b.Gate; g != nil && (b.Contenders[g.Candidate] == nil || b.Contenders[g.Baseline] == nil) {
		return fmt.Errorf("gate: candidate %q or baseline %q is not a contender", g.Candidate, g.Baseline)
	}
	return nil
}
