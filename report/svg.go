package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"strings"

	"github.com/cnigate/cnigate/results"
)

// palette colours contenders in the charts (Okabe-Ito, readable by people
// with colour-blindness).
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"}

func colour(i int) string { return palette[i%len(palette)] }

// niceStep is a round tick step that gives about n ticks up to max.
func niceStep(max float64, n int) float64 {
	if max <= 0 {
		return 1
	}
	raw := max / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

func esc(s string) string { return html.EscapeString(s) }

// cdfSVG plots the empirical CDF of each contender's latencies. The x axis
// ends at the largest p99.5 of the contenders (the slowest tail would
// flatten the rest); curves that go further are clipped there.
func cdfSVG(id, title string, order []string, samples map[string][]float64) template.HTML {
	const w, h, left, right, top, bottom = 640.0, 300.0, 50.0, 130.0, 20.0, 40.0
	pw, ph := w-left-right, h-top-bottom
	var xmax float64
	sorted := map[string][]float64{}
	for _, n := range order {
		s := slices.Clone(samples[n])
		slices.Sort(s)
		sorted[n] = s
		if len(s) > 0 {
			xmax = math.Max(xmax, s[min(len(s)-1, int(math.Ceil(0.995*float64(len(s))))-1)])
		}
	}
	if xmax == 0 {
		xmax = 1
	}
	step := niceStep(xmax, 6)
	xmax = math.Ceil(xmax/step) * step
	x := func(v float64) float64 { return left + math.Min(v, xmax)/xmax*pw }
	y := func(p float64) float64 { return top + (1-p)*ph }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="%s" class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s"><title>%s</title>`, esc(id), w, h, esc(title), esc(title))
	for v := 0.0; v <= xmax+step/2; v += step {
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/><text class="tick" x="%.1f" y="%.1f" text-anchor="middle">%g</text>`,
			x(v), top, x(v), top+ph, x(v), top+ph+14, v)
	}
	for _, p := range []float64{0, 0.25, 0.5, 0.75, 0.9, 1} {
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/><text class="tick" x="%.1f" y="%.1f" text-anchor="end">%g</text>`,
			left, y(p), left+pw, y(p), left-4, y(p)+4, p)
	}
	fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%.1f" text-anchor="middle">latency (ms), one process per command</text>`, left+pw/2, h-6)
	for i, n := range order {
		s := sorted[n]
		if len(s) == 0 {
			continue
		}
		var d strings.Builder
		fmt.Fprintf(&d, "M%.1f,%.1f", x(s[0]), y(0))
		for k, v := range s {
			fmt.Fprintf(&d, "H%.1fV%.1f", x(v), y(float64(k+1)/float64(len(s))))
		}
		fmt.Fprintf(&b, `<path class="cdf" data-contender="%s" d="%s" stroke="%s"><title>%s: %d samples, p50 %s ms</title></path>`,
			esc(n), d.String(), colour(i), esc(n), len(s), ms(s[(len(s)-1)/2]))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="12" height="3" fill="%s"/><text class="legend" x="%.1f" y="%.1f">%s</text>`,
			left+pw+12, top+10+float64(i)*18, colour(i), left+pw+28, top+14+float64(i)*18, esc(n))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text in it went through esc
}

// burstSVG draws a bar per contender: the median ADD burst then the median
// DEL burst, stacked (their sum is the burst wall time).
func burstSVG(order []string, add, del map[string]float64) template.HTML {
	const w, left, right, barH, gap, top = 640.0, 90.0, 90.0, 22.0, 10.0, 10.0
	h := top + float64(len(order))*(barH+gap) + 40
	pw := w - left - right
	var xmax float64
	for _, n := range order {
		xmax = math.Max(xmax, add[n]+del[n])
	}
	if xmax == 0 {
		xmax = 1
	}
	step := niceStep(xmax, 5)
	xmax = math.Ceil(xmax/step) * step
	x := func(v float64) float64 { return v / xmax * pw }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="bursts" class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="burst wall times"><title>burst wall times (median round)</title>`, w, h)
	for v := 0.0; v <= xmax+step/2; v += step {
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/><text class="tick" x="%.1f" y="%.1f" text-anchor="middle">%g</text>`,
			left+x(v), top, left+x(v), h-30, left+x(v), h-16, v)
	}
	for i, n := range order {
		yy := top + float64(i)*(barH+gap)
		fmt.Fprintf(&b, `<text class="label" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, left-6, yy+barH/2+4, esc(n))
		fmt.Fprintf(&b, `<rect class="bar add" data-contender="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: ADD burst %.0f ms</title></rect>`,
			esc(n), left, yy, x(add[n]), barH, colour(i), esc(n), add[n])
		fmt.Fprintf(&b, `<rect class="bar del" data-contender="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" fill-opacity="0.45"><title>%s: DEL burst %.0f ms</title></rect>`,
			esc(n), left+x(add[n]), yy, x(del[n]), barH, colour(i), esc(n), del[n])
		fmt.Fprintf(&b, `<text class="value" x="%.1f" y="%.1f">%.0f + %.0f ms</text>`, left+x(add[n]+del[n])+6, yy+barH/2+4, add[n], del[n])
	}
	fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%.1f" text-anchor="middle">wall time (ms): ADD burst (solid) + DEL burst (light)</text>`, left+pw/2, h-2)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text in it went through esc
}

// waterfallSVG draws the phases one after the other on a time axis.
func waterfallSVG(phases results.Phases) template.HTML {
	const w, left, right, barH, gap, top = 640.0, 170.0, 60.0, 18.0, 6.0, 10.0
	h := top + float64(len(phases))*(barH+gap) + 40
	pw := w - left - right
	var total float64
	for _, p := range phases {
		total += p.Seconds
	}
	if total == 0 {
		total = 1
	}
	step := niceStep(total, 6)
	xmax := math.Ceil(total/step) * step
	x := func(v float64) float64 { return left + v/xmax*pw }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="waterfall" class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="phase timings"><title>phase timings</title>`, w, h)
	for v := 0.0; v <= xmax+step/2; v += step {
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/><text class="tick" x="%.1f" y="%.1f" text-anchor="middle">%g</text>`,
			x(v), top, x(v), h-30, x(v), h-16, v)
	}
	start := 0.0
	for i, p := range phases {
		yy := top + float64(i)*(barH+gap)
		fmt.Fprintf(&b, `<text class="label" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, left-6, yy+barH/2+4, esc(p.Name))
		fmt.Fprintf(&b, `<rect class="phase" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %.1f s (from %.1f s)</title></rect>`,
			x(start), yy, math.Max(x(start+p.Seconds)-x(start), 1), barH, colour(i), esc(p.Name), p.Seconds, start)
		fmt.Fprintf(&b, `<text class="value" x="%.1f" y="%.1f">%.1f s</text>`, x(start+p.Seconds)+4, yy+barH/2+4, p.Seconds)
		start += p.Seconds
	}
	fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%.1f" text-anchor="middle">seconds since the suite started</text>`, left+pw/2, h-2)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text in it went through esc
}

// latencyShade is a pass cell's background: green, darker the slower the
// cell is against the slowest of its grid (log scale: latencies span decades).
func latencyShade(latency *float64, max float64) string {
	if latency == nil || max <= 0 {
		return "hsl(130, 50%, 80%)"
	}
	f := math.Log1p(*latency) / math.Log1p(max)
	return fmt.Sprintf("hsl(130, 50%%, %.0f%%)", 85-f*40)
}
