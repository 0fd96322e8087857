package matrix

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cnigate/cnigate/e2e/harness/nodenet"
)

func TestPairPlanK(t *testing.T) {
	for _, tc := range []struct {
		plan    string
		workers int
		want    int
		err     string
	}{
		{plan: "all", workers: 500, want: 0},
		{plan: "auto", workers: 2, want: 0},
		{plan: "auto", workers: 10, want: 0},
		{plan: "auto", workers: 11, want: 3},
		{plan: "", workers: 200, want: 3},
		{plan: "2", workers: 50, want: 2},
		{plan: "4", workers: 5, want: 0}, // 4 of 4 other workers: every pair
		{plan: "9", workers: 5, want: 0},
		{plan: "0", workers: 50, err: `pair-plan "0"`},
		{plan: "-1", workers: 50, err: `pair-plan "-1"`},
		{plan: "some", workers: 50, err: `want "auto", "all" or a number`},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.plan, tc.workers), func(t *testing.T) {
			k, err := pairPlanK(tc.plan, tc.workers)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil || k != tc.want {
				t.Fatalf("k %d err %v, want %d", k, err, tc.want)
			}
		})
	}
}

// fakeWorkers: n workers named w0001..., dealt to the zones in turn (no
// zone label when zones is empty); sizes, when given, says how many each
// zone gets instead.
func fakeWorkers(n int, zones []string, sizes ...int) []nodenet.NodeInfo {
	nodes := make([]nodenet.NodeInfo, 0, n)
	for i := range n {
		node := nodenet.NodeInfo{Name: fmt.Sprintf("w%04d", i+1)}
		switch {
		case len(sizes) > 0:
			for z, end := 0, 0; z < len(sizes); z++ {
				end += sizes[z]
				if i < end {
					node.Zone = zones[z]
					break
				}
			}
		case len(zones) > 0:
			node.Zone = zones[i%len(zones)]
		}
		nodes = append(nodes, node)
	}
	return nodes
}

// TestPlanPairsCoversEveryWorkerKTimes: every worker is a source and a
// destination exactly k times, never of itself, no pair twice, n*k pairs;
// across zones when the zones allow it; the same seed gives the same plan.
func TestPlanPairsCoversEveryWorkerKTimes(t *testing.T) {
	abc := []string{"a", "b", "c"}
	for _, tc := range []struct {
		name  string
		nodes []nodenet.NodeInfo
		k     int
		// minCross: the least share of pairs whose ends are in different zones.
		minCross float64
	}{
		{name: "3 workers, k 1, no zones", nodes: fakeWorkers(3, nil), k: 1},
		{name: "10 workers, k 3, no zones", nodes: fakeWorkers(10, nil), k: 3},
		{name: "12 workers, 3 zones, k 2", nodes: fakeWorkers(12, abc), k: 2, minCross: 1},
		{name: "100 workers, 3 zones, k 3", nodes: fakeWorkers(100, abc), k: 3, minCross: 0.97},
		{name: "1000 workers, 4 zones, k 3", nodes: fakeWorkers(1000, []string{"a", "b", "c", "d"}), k: 3, minCross: 1},
		// one big zone: at most 30 of its 70 workers' pairs can leave it
		// (the others have 30 workers, k slots each), so 0.6 is the bound.
		{name: "100 workers, zones of 70/20/10, k 2", nodes: fakeWorkers(100, abc, 70, 20, 10), k: 2, minCross: 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pairs := planPairs(tc.nodes, tc.k, 7)
			n := len(tc.nodes)
			if len(pairs) != n*tc.k {
				t.Fatalf("%d pairs, want n*k = %d", len(pairs), n*tc.k)
			}
			from, to, seen := map[string]int{}, map[string]int{}, map[nodePair]bool{}
			cross := 0
			for _, p := range pairs {
				if p.From == p.To || seen[p] {
					t.Fatalf("pair %s: itself or twice", p)
				}
				seen[p] = true
				from[p.From.Name]++
				to[p.To.Name]++
				if p.From.Zone != p.To.Zone {
					cross++
				}
			}
			for _, w := range tc.nodes {
				if from[w.Name] != tc.k || to[w.Name] != tc.k {
					t.Fatalf("%s: source %d times, destination %d times, want %d", w.Name, from[w.Name], to[w.Name], tc.k)
				}
			}
			if share := float64(cross) / float64(len(pairs)); share < tc.minCross {
				t.Errorf("%.2f of the pairs cross zones, want at least %.2f", share, tc.minCross)
			}
			if again := planPairs(slices.Clone(tc.nodes), tc.k, 7); !slices.Equal(again, pairs) {
				t.Error("the same seed gave another plan")
			}
			if n > 3 && slices.Equal(planPairs(tc.nodes, tc.k, 8), pairs) {
				t.Error("another seed gave the same plan")
			}
		})
	}
	if got := planPairs(fakeWorkers(4, nil), 3, 1); len(got) != 12 {
		t.Errorf("k = n-1: %d pairs, want all 12", len(got))
	}
}

// measuredCellCost is what one cell costs in wall time per slot, measured on
// kind (docs/measurements/2026-12-06-pair-plan.md: the Connectivity and
// Contract groups of make e2e, 62 cells in 10.1 s at 4 cells at once).
const measuredCellCost = 650 * time.Millisecond

// TestPairPlanSimulation builds the real rows' cells on fake clusters of 10,
// 100 and 1,000 workers in 3 zones, with all pairs and with the auto plan,
// and logs the cell counts and the expected run time at the measured cost
// per cell, 8 cells at once (go test ./e2e/matrix -run TestPairPlanSimulation -v).
// All pairs at 1,000 workers are counted, not built (a billion cells).
func TestPairPlanSimulation(t *testing.T) {
	cellsOf := func(workers []nodenet.NodeInfo, plan string) int {
		s := fakeSuite("podnet", true, true)
		s.workers = workers
		s.nodes = append(s.nodes[:1:1], workers...)
		s.short = map[string]string{s.nodes[0].Name: "cp"}
		for i, w := range workers {
			s.short[w.Name] = fmt.Sprintf("w%d", i+1)
			s.nodeCNI[w.Name] = "podnet"
		}
		s.opt.PairPlan, s.opt.PairSeed = plan, 1
		if err := s.planPairs(); err != nil {
			t.Fatal(err)
		}
		pods := fakePods(s)
		total := 0
		for _, r := range rows() {
			if r.run == nil && r.group != gHealing {
				total += len(r.rowCells(s, "ipv4", pods))
			}
		}
		return total
	}
	// Cells per ordered pair of the other-node rows, from 10 workers: all
	// pairs (90) against one pair per worker (10).
	ten := fakeWorkers(10, []string{"a", "b", "c"})
	perPair := (cellsOf(ten, "all") - cellsOf(ten, "1")) / (90 - 10)
	if perPair < 10 {
		t.Fatalf("%d cells per pair of workers: the other-node rows are not planned", perPair)
	}
	const parallel = 8
	t.Logf("%8s %14s %10s %14s %10s", "workers", "all pairs", "time", "auto plan", "time")
	plannedAt := map[int]int{}
	for _, n := range []int{10, 100, 1000} {
		workers := fakeWorkers(n, []string{"a", "b", "c"})
		planned := cellsOf(workers, "auto")
		k, _ := pairPlanK("auto", n)
		all := planned
		if k > 0 {
			all += perPair * (n*(n-1) - n*k)
		}
		at := func(cells int) time.Duration {
			return (time.Duration(cells) * measuredCellCost / parallel).Round(time.Second)
		}
		t.Logf("%8d %14d %10s %14d %10s", n, all, at(all), planned, at(planned))
		if n > autoAllPairsWorkers && planned > all/10 {
			t.Errorf("%d workers: the plan has %d cells of %d", n, planned, all)
		}
		plannedAt[n] = planned
	}
	// O(n): ten times the workers, at most ten times the cells.
	if plannedAt[1000] > 10*plannedAt[100] {
		t.Errorf("the plan grows faster than the workers: %d cells at 100 workers, %d at 1,000", plannedAt[100], plannedAt[1000])
	}
}
