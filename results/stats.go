package results

import (
	"math"
	"math/rand/v2"
	"slices"
)

// The statistics the bench gate decides with and `cnigate report diff`
// shows: one nearest-rank median and one percentile bootstrap.

// P50 is the nearest-rank median of xs, sorting xs in place (the bootstrap
// calls it on its scratch draws).
func P50(xs []float64) float64 {
	slices.Sort(xs)
	return xs[max(int(math.Ceil(float64(len(xs))/2))-1, 0)]
}

// BootstrapMedian returns the median of xs and its percentile bootstrap
// interval at confidence conf, from resamples draws seeded with seed.
func BootstrapMedian(xs []float64, resamples int, conf float64, seed uint64) (median, low, high float64) {
	n := len(xs)
	median = P50(slices.Clone(xs))
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	meds := make([]float64, resamples)
	draw := make([]float64, n)
	for r := range meds {
		for k := range n {
			draw[k] = xs[rng.IntN(n)]
		}
		meds[r] = P50(draw)
	}
	low, high = BootstrapInterval(meds, conf)
	return median, low, high
}

// BootstrapInterval is the percentile interval at confidence conf of a
// bootstrap's statistics (sorted in place).
func BootstrapInterval(stats []float64, conf float64) (low, high float64) {
	slices.Sort(stats)
	n := len(stats)
	q := func(p float64) float64 { return stats[min(max(int(math.Floor(p*float64(n))), 0), n-1)] }
	return q((1 - conf) / 2), q((1 + conf) / 2)
}
