package matrix

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"k8s.io/klog/v2"

	"github.com/cnigate/cnigate/e2e/harness/nodenet"
)

// A pair plan is which ordered pairs of different workers the "other node"
// rows run. All n(n-1) pairs are the most thorough and fine on a few nodes,
// but grow as n^2 (933 cells at 8 workers); on a cluster of hundreds of
// nodes the matrix runs a plan instead: every worker a source and a
// destination of each behaviour exactly k times (n*k pairs), spread across
// zones when the nodes carry a topology label, chosen from a seed so that a
// run can be repeated and the record lists what ran.

// PairPlanAuto is the default --pair-plan: all pairs up to
// autoAllPairsWorkers workers, autoPairsPerNode per worker above.
const (
	PairPlanAuto        = "auto"
	PairPlanAll         = "all"
	autoAllPairsWorkers = 10
	autoPairsPerNode    = 3
)

// pairPlanK parses --pair-plan for n workers: the pairs per worker, or 0 for
// all pairs.
func pairPlanK(plan string, n int) (int, error) {
	switch plan {
	case PairPlanAll:
		return 0, nil
	case PairPlanAuto, "":
		if n <= autoAllPairsWorkers {
			return 0, nil
		}
		return autoPairsPerNode, nil
	}
	k, err := strconv.Atoi(plan)
	if err != nil || k < 1 {
		return 0, fmt.Errorf("pair-plan %q: want %q, %q or a number of pairs per worker (1 or more)", plan, PairPlanAuto, PairPlanAll)
	}
	if k >= n-1 {
		return 0, nil // k destinations per worker out of n-1: that is every pair
	}
	return k, nil
}

// nodePair is an ordered pair of workers: From's pods send to To's.
type nodePair struct{ From, To nodenet.NodeInfo }

func (p nodePair) String() string { return p.From.Name + "->" + p.To.Name }

// planPairs returns k pairs per worker (k >= 1, k < len(nodes)-1; else every
// ordered pair): the workers are shuffled within each zone with the seed,
// then dealt round-robin across zones into a ring, and worker i is paired
// with the workers d steps ahead for k offsets d. Each offset is a
// permutation, so every worker is a source and a destination exactly k times
// and no pair repeats; offsets that are a multiple of the zone count would
// pair a zone with itself on a balanced ring, so they come last.
func planPairs(nodes []nodenet.NodeInfo, k int, seed uint64) []nodePair {
	n := len(nodes)
	if k <= 0 || k >= n-1 {
		var all []nodePair
		for _, a := range nodes {
			for _, b := range nodes {
				if a.Name != b.Name {
					all = append(all, nodePair{a, b})
				}
			}
		}
		return all
	}
	ring, zones := zoneRing(nodes, seed)
	offsets := make([]int, 0, n-1)
	for d := 1; d < n; d++ {
		if zones < 2 || d%zones != 0 {
			offsets = append(offsets, d)
		}
	}
	for d := zones; zones >= 2 && d < n; d += zones {
		offsets = append(offsets, d)
	}
	pairs := make([]nodePair, 0, n*k)
	for _, d := range offsets[:k] {
		for i, a := range ring {
			pairs = append(pairs, nodePair{a, ring[(i+d)%n]})
		}
	}
	return pairs
}

// zoneRing orders the workers for planPairs: each zone's workers shuffled
// with the seed and spread evenly around the ring (worker j of a zone of m
// sits at (j+0.5)/m), so that neighbours are of different zones as far as the
// zone sizes allow. It returns the ring and the number of zones ("" is a
// zone of its own).
func zoneRing(nodes []nodenet.NodeInfo, seed uint64) ([]nodenet.NodeInfo, int) {
	byZone := map[string][]nodenet.NodeInfo{}
	for _, n := range nodes {
		byZone[n.Zone] = append(byZone[n.Zone], n)
	}
	type seat struct {
		pos  float64
		zone string
		node nodenet.NodeInfo
	}
	seats := make([]seat, 0, len(nodes))
	for z, names := range byZone {
		// the shuffle starts from the same order on every run
		slices.SortFunc(names, func(a, b nodenet.NodeInfo) int { return strings.Compare(a.Name, b.Name) })
		rng := rand.New(rand.NewPCG(seed, hashZone(z)))
		rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
		for j, n := range names {
			seats = append(seats, seat{(float64(j) + 0.5) / float64(len(names)), z, n})
		}
	}
	slices.SortFunc(seats, func(a, b seat) int {
		return cmp.Or(cmp.Compare(a.pos, b.pos), strings.Compare(a.zone, b.zone))
	})
	ring := make([]nodenet.NodeInfo, len(seats))
	for i, s := range seats {
		ring[i] = s.node
	}
	return ring, len(byZone)
}

// hashZone seeds each zone's shuffle apart: the shuffle of one zone does
// not depend on which other zones exist.
func hashZone(z string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(z)) //nolint:errcheck // a hash.Hash never fails to write
	return h.Sum64()
}

// planPairs fixes the run's other-node pairs once the workers are known, and
// logs the plan (the record lists it too).
func (s *suite) planPairs() error {
	k, err := pairPlanK(s.opt.PairPlan, len(s.workers))
	if err != nil {
		return err
	}
	s.otherPairs = planPairs(s.workers, k, s.opt.PairSeed)
	if k > 0 {
		klog.Infof("pair plan: %d pairs per worker of %d workers (seed %d), %d pairs instead of %d (matrix.json lists them)",
			k, len(s.workers), s.opt.PairSeed, len(s.otherPairs), len(s.workers)*(len(s.workers)-1))
	}
	return nil
}

// pairsOfOtherNodes: the plan's pairs, or every ordered pair of different
// workers when no plan was made (tests build suites by hand).
func (s *suite) pairsOfOtherNodes() []nodePair {
	if s.otherPairs != nil {
		return s.otherPairs
	}
	return planPairs(s.workers, 0, 0)
}

// pairPlanText lists the pairs by short name: "w1->w2 w2->w3 ...".
func (s *suite) pairPlanText() string {
	var b strings.Builder
	for i, p := range s.pairsOfOtherNodes() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s.short[p.From.Name] + "->" + s.short[p.To.Name])
	}
	return b.String()
}
