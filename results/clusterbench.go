package results

import (
	"errors"
	"fmt"
)

// ClusterBench is a cluster bench run (cluster-bench.json): pod start-up
// through podnet and through the reference conflist on one kind cluster.
//
// v1 (from v0): the "schema" field only.
type ClusterBench struct {
	Schema        string `json:"schema"`
	Date          string `json:"date"`
	Cluster       string `json:"cluster"`
	Workers       int    `json:"workers"`
	PodsPerWorker int    `json:"pods_per_worker"`
	RoundsPerCNI  int    `json:"rounds_per_cni"`
	// Timing says how the moments were taken.
	Timing string `json:"timing"`
	// CNIs pools each CNI's rounds: the contender first, the reference second.
	CNIs   []ClusterBenchCNI   `json:"cnis"`
	Rounds []ClusterBenchRound `json:"rounds"`
	Target ClusterBenchTarget  `json:"target"`
}

// ClusterBenchCNI pools one CNI's rounds.
type ClusterBenchCNI struct {
	CNI     string         `json:"cni"`
	Sandbox LatencySummary `json:"sandbox"`
	Ready   LatencySummary `json:"ready"`
	// Burst and Teardown summarise the rounds' wall times.
	Burst    LatencySummary `json:"burst"`
	Teardown LatencySummary `json:"teardown"`
}

// ClusterBenchRound is one burst of one CNI.
type ClusterBenchRound struct {
	CNI   string `json:"cni"`
	Round int    `json:"round"`
	Pods  int    `json:"pods"`
	// Sandbox: PodScheduled -> PodReadyToStartContainers; Ready: PodScheduled -> Ready.
	Sandbox LatencySummary `json:"sandbox"`
	Ready   LatencySummary `json:"ready"`
	// BurstMs: first create -> last pod Ready. TeardownMs: delete -> every
	// pod gone and every worker's store back to its count before the burst.
	BurstMs    float64 `json:"burst_ms"`
	TeardownMs float64 `json:"teardown_ms"`
	// SameEvent counts the pods whose PodReadyToStartContainers and Ready
	// arrived in one watch event (one kubelet status update carried both).
	SameEvent int `json:"sandbox_and_ready_in_one_event"`
	// StoreBefore is each worker's reservation count before the burst (and after teardown).
	StoreBefore map[string]int `json:"store_before"`
	// StorePeak is each worker's reservation count once every pod was Ready.
	StorePeak map[string]int `json:"store_peak"`
}

// ClusterBenchTarget is the goal: the contender's PodScheduled ->
// PodReadyToStartContainers p99 <= the reference's.
type ClusterBenchTarget struct {
	What         string  `json:"what"`
	PodnetP99    float64 `json:"podnet_p99_ms"`
	ReferenceP99 float64 `json:"reference_p99_ms"`
	Met          bool    `json:"met"`
}

// LatencySummary is a latency distribution in milliseconds.
type LatencySummary struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// Spec implements File.
func (*ClusterBench) Spec() Spec { return Spec{Kind: KindClusterBench, Version: 1, Oldest: 0} }

func (c *ClusterBench) schemaField() *string { return &c.Schema }

func (c *ClusterBench) upgrade(int) error { return nil } // v0 is v1 without the schema field

// Check refuses a run without its two CNIs.
func (c *ClusterBench) Check() error {
	if len(c.CNIs) != 2 {
		return errors.New(`"cnis" must pool two CNIs, the contender and the reference: not the figures of a cluster bench run`)
	}
	for i, r := range c.Rounds {
		if r.CNI != c.CNIs[0].CNI && r.CNI != c.CNIs[1].CNI {
			return fmt.Errorf("round %d: CNI %q is not one of \"cnis\"", i, r.CNI)
		}
	}
	return nil
}
