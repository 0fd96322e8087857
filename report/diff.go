package report

import (
	"bytes"
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/cnigate/cnigate/results"
)

// A diff answers what a rollout review asks of two runs: which cells turned
// red or green, which got slower, and whether the bench moved beyond its
// noise. `cnigate report diff BEFORE AFTER`.

// Diff is what changed from run A (before) to run B (after).
type Diff struct {
	Kind string `json:"kind"` // e2e or bench
	A    string `json:"a"`
	B    string `json:"b"`
	// e2e
	TurnedRed    []CellChange `json:"turned_red,omitempty"`
	TurnedGreen  []CellChange `json:"turned_green,omitempty"`
	NowSkipped   []CellChange `json:"now_skipped,omitempty"` // ran before, skipped now
	NowRun       []CellChange `json:"now_run,omitempty"`     // skipped before, ran now
	Added        []CellChange `json:"added,omitempty"`
	Removed      []CellChange `json:"removed,omitempty"`
	Unchanged    int          `json:"unchanged"`
	SlowerCells  []CellChange `json:"slower_cells,omitempty"` // passed in both, latency up by more than cellSlowdown
	LatencyRatio *Delta       `json:"latency_ratio,omitempty"`
	// bench
	Bench []BenchDelta `json:"bench,omitempty"`
	// Tolerance: a bench delta (or the cells' median latency ratio) counts
	// as slower or faster only when its whole confidence interval is beyond
	// 1 +- Tolerance.
	Tolerance float64 `json:"tolerance"`
}

// CellChange is one cell in A and in B.
type CellChange struct {
	Behaviour string         `json:"behaviour"`
	Name      string         `json:"name"`
	Before    results.Result `json:"before,omitempty"`
	After     results.Result `json:"after,omitempty"`
	Detail    string         `json:"detail,omitempty"` // B's, else A's
	BeforeMs  float64        `json:"before_ms,omitempty"`
	AfterMs   float64        `json:"after_ms,omitempty"`
}

// Delta is a ratio B/A with its bootstrap confidence interval and what it
// means against the tolerance: slower, faster or same.
type Delta struct {
	Before float64 `json:"before"`
	After  float64 `json:"after"`
	Ratio  float64 `json:"ratio"`
	Low    float64 `json:"low,omitempty"` // none with FewSamples
	High   float64 `json:"high,omitempty"`
	N      [2]int  `json:"n"` // samples in A and B
	Moved  string  `json:"moved"`
}

// BenchDelta is one contender's metric from A to B.
type BenchDelta struct {
	Contender string `json:"contender"`
	Metric    string `json:"metric"`
	Delta
}

// The directions a Delta moved.
const (
	Slower = "slower"
	Faster = "faster"
	Same   = "same"
	// FewSamples: fewer than minDiffSamples on a side; no interval is honest.
	FewSamples = "too few samples"
)

// minDiffSamples: a bootstrap over fewer samples (a 1-round burst) gives an
// interval of nothing; such a figure is shown, never judged.
const minDiffSamples = 5

// DefaultDiffTolerance is the move a diff reports: 5%, as the bench gate's (bench.DefaultGate).
const DefaultDiffTolerance = 0.05

// cellSlowdown: a cell passed in both runs is listed as slower when its
// latency grew by more than this factor and by at least cellSlowdownMs (one
// exchange's latency is noisy; the lists stay short).
const (
	cellSlowdown   = 2.0
	cellSlowdownMs = 5.0
)

const (
	diffResamples  = 2000
	diffConfidence = 0.95
)

// Regressed reports whether a cell turned red or a bench figure (or the
// cells' latency) got slower beyond the tolerance.
func (d *Diff) Regressed() bool {
	if len(d.TurnedRed) > 0 || (d.LatencyRatio != nil && d.LatencyRatio.Moved == Slower) {
		return true
	}
	for _, b := range d.Bench {
		if b.Moved == Slower {
			return true
		}
	}
	return false
}

// Headline says the diff in one line.
func (d *Diff) Headline() string {
	if d.Kind == "e2e" {
		s := fmt.Sprintf("%d turned red, %d turned green, %d now skipped, %d added, %d removed, %d unchanged",
			len(d.TurnedRed), len(d.TurnedGreen), len(d.NowSkipped), len(d.Added), len(d.Removed), d.Unchanged)
		if d.LatencyRatio != nil {
			s += fmt.Sprintf("; cell latency %s (x%.2f)", d.LatencyRatio.Moved, d.LatencyRatio.Ratio)
		}
		return s
	}
	var slower, faster []string
	for _, b := range d.Bench {
		name := b.Contender + " " + results.MetricName(b.Metric)
		switch b.Moved {
		case Slower:
			slower = append(slower, fmt.Sprintf("%s x%.2f", name, b.Ratio))
		case Faster:
			faster = append(faster, fmt.Sprintf("%s x%.2f", name, b.Ratio))
		}
	}
	if len(slower)+len(faster) == 0 {
		return fmt.Sprintf("no figure moved beyond ±%.0f%%", 100*d.Tolerance)
	}
	var parts []string
	if len(slower) > 0 {
		parts = append(parts, "slower: "+strings.Join(slower, ", "))
	}
	if len(faster) > 0 {
		parts = append(parts, "faster: "+strings.Join(faster, ", "))
	}
	return strings.Join(parts, "; ")
}

// DiffMatrix compares two e2e runs cell by cell (a cell is its behaviour and
// name).
func DiffMatrix(aName string, a *results.Matrix, bName string, b *results.Matrix, tolerance float64) *Diff {
	d := &Diff{Kind: "e2e", A: aName, B: bName, Tolerance: tolerance}
	key := func(c results.Cell) string { return c.Behaviour + "\x00" + c.Name }
	before := map[string]results.Cell{}
	for _, c := range a.Cells {
		before[key(c)] = c
	}
	var ratios []float64
	seen := map[string]bool{}
	for _, c := range b.Cells {
		k := key(c)
		seen[k] = true
		old, ok := before[k]
		ch := CellChange{Behaviour: c.Behaviour, Name: c.Name, Before: old.Result, After: c.Result, Detail: c.Detail}
		if old.LatencyMS != nil {
			ch.BeforeMs = *old.LatencyMS
		}
		if c.LatencyMS != nil {
			ch.AfterMs = *c.LatencyMS
		}
		switch {
		case !ok:
			ch.Before = ""
			d.Added = append(d.Added, ch)
		case c.Result == results.Fail && old.Result != results.Fail:
			d.TurnedRed = append(d.TurnedRed, ch)
		case c.Result == results.Pass && old.Result == results.Fail:
			d.TurnedGreen = append(d.TurnedGreen, ch)
		case c.Result == results.Skip && old.Result != results.Skip:
			d.NowSkipped = append(d.NowSkipped, ch)
		case c.Result != results.Skip && old.Result == results.Skip:
			d.NowRun = append(d.NowRun, ch)
		default:
			d.Unchanged++
		}
		if ok && c.Result == results.Pass && old.Result == results.Pass && ch.BeforeMs > 0 && ch.AfterMs > 0 {
			ratios = append(ratios, ch.AfterMs/ch.BeforeMs)
			if ch.AfterMs > cellSlowdown*ch.BeforeMs && ch.AfterMs-ch.BeforeMs >= cellSlowdownMs {
				d.SlowerCells = append(d.SlowerCells, ch)
			}
		}
	}
	for _, c := range a.Cells {
		if !seen[key(c)] {
			d.Removed = append(d.Removed, CellChange{Behaviour: c.Behaviour, Name: c.Name, Before: c.Result, Detail: c.Detail})
		}
	}
	slices.SortFunc(d.SlowerCells, func(x, y CellChange) int {
		return cmp.Compare(y.AfterMs/y.BeforeMs, x.AfterMs/x.BeforeMs)
	})
	if len(ratios) >= minDiffSamples {
		// The cells are paired (the same check in both runs): the median of
		// their latency ratios, bootstrapped.
		med, low, high := results.BootstrapMedian(ratios, diffResamples, diffConfidence, 1)
		d.LatencyRatio = &Delta{Ratio: med, Low: low, High: high, N: [2]int{len(ratios), len(ratios)}, Moved: moved(low, high, tolerance)}
	}
	return d
}

// DiffBench compares two bench runs: for each contender in both, ADD and DEL
// p50 and the burst wall time, each a ratio of medians (B over A) with a
// bootstrap interval from resampling each run's samples. Two runs are not
// paired rounds as in the gate (bench --gate), so the interval is wider: a
// small move is only reported when both runs have many samples.
func DiffBench(aName string, a *results.Bench, bName string, b *results.Bench, tolerance float64) *Diff {
	d := &Diff{Kind: "bench", A: aName, B: bName, Tolerance: tolerance}
	for _, name := range b.Order {
		cb, okB := b.Contenders[name]
		ca, okA := a.Contenders[name]
		if !okA || !okB {
			continue
		}
		for _, m := range []struct {
			metric string
			xa, xb []float64
		}{
			{results.MetricAddP50, ca.Add.SamplesMs, cb.Add.SamplesMs},
			{results.MetricDelP50, ca.Del.SamplesMs, cb.Del.SamplesMs},
			{results.MetricBurst, burstWalls(ca.Burst), burstWalls(cb.Burst)},
		} {
			if len(m.xa) == 0 || len(m.xb) == 0 {
				continue
			}
			d.Bench = append(d.Bench, BenchDelta{Contender: name, Metric: m.metric, Delta: ratioOfMedians(m.xa, m.xb, tolerance)})
		}
	}
	return d
}

func burstWalls(b results.BenchBurst) []float64 {
	var out []float64
	for _, r := range b.Rounds {
		out = append(out, r.AddWallMs+r.DelWallMs)
	}
	return out
}

// ratioOfMedians is median(b)/median(a) with a bootstrap interval from
// resampling a and b independently.
func ratioOfMedians(a, b []float64, tolerance float64) Delta {
	ma, mb := results.P50(slices.Clone(a)), results.P50(slices.Clone(b))
	if len(a) < minDiffSamples || len(b) < minDiffSamples {
		return Delta{Before: ma, After: mb, Ratio: mb / ma, N: [2]int{len(a), len(b)}, Moved: FewSamples}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ratios := make([]float64, diffResamples)
	ra, rb := make([]float64, len(a)), make([]float64, len(b))
	for i := range ratios {
		for j := range ra {
			ra[j] = a[rng.IntN(len(a))]
		}
		for j := range rb {
			rb[j] = b[rng.IntN(len(b))]
		}
		ratios[i] = results.P50(rb) / results.P50(ra)
	}
	low, high := results.BootstrapInterval(ratios, diffConfidence)
	return Delta{Before: ma, After: mb, Ratio: mb / ma, Low: low, High: high, N: [2]int{len(a), len(b)}, Moved: moved(low, high, tolerance)}
}

func moved(low, high, tolerance float64) string {
	switch {
	case low > 1+tolerance:
		return Slower
	case high < 1-tolerance:
		return Faster
	}
	return Same
}

// WriteDiffMarkdown writes the diff as Markdown (also what the CLI prints).
func WriteDiffMarkdown(w io.Writer, d *Diff) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# What changed: %s → %s\n\n**%s**\n", d.A, d.B, d.Headline())
	cells := func(title string, cs []CellChange) {
		if len(cs) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n## %s (%d)\n\n| behaviour | cell | before | after | detail |\n|---|---|---|---|---|\n", title, len(cs))
		for _, c := range cs {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdEscape(c.Behaviour), mdEscape(c.Name), orDash(string(c.Before)), orDash(string(c.After)), mdEscape(c.Detail))
		}
	}
	cells("Turned red", d.TurnedRed)
	cells("Turned green", d.TurnedGreen)
	cells("Now skipped", d.NowSkipped)
	cells("Now run", d.NowRun)
	cells("Added", d.Added)
	cells("Removed", d.Removed)
	if len(d.SlowerCells) > 0 {
		fmt.Fprintf(&b, "\n## Slower cells (latency x%.0f or more, passed in both)\n\n| behaviour | cell | before (ms) | after (ms) |\n|---|---|---:|---:|\n", cellSlowdown)
		for _, c := range d.SlowerCells {
			fmt.Fprintf(&b, "| %s | %s | %.2f | %.2f |\n", mdEscape(c.Behaviour), mdEscape(c.Name), c.BeforeMs, c.AfterMs)
		}
	}
	if l := d.LatencyRatio; l != nil {
		fmt.Fprintf(&b, "\nMedian latency ratio of the %d cells that passed in both: x%.3f, %.0f%% CI [%.3f, %.3f]: %s.\n", l.N[0], l.Ratio, 100*diffConfidence, l.Low, l.High, l.Moved)
	}
	if len(d.Bench) > 0 {
		fmt.Fprintf(&b, "\n## Bench\n\n| contender | metric | before (ms) | after (ms) | ratio | %.0f%% CI | samples | moved |\n|---|---|---:|---:|---:|---|---|---|\n", 100*diffConfidence)
		for _, x := range d.Bench {
			ci := fmt.Sprintf("[%.3f, %.3f]", x.Low, x.High)
			if x.Moved == FewSamples {
				ci = "—"
			}
			fmt.Fprintf(&b, "| %s | %s | %.2f | %.2f | x%.3f | %s | %d / %d | %s |\n", x.Contender, results.MetricName(x.Metric), x.Before, x.After, x.Ratio, ci, x.N[0], x.N[1], x.Moved)
		}
		fmt.Fprintf(&b, "\nA figure moved when its whole interval is beyond 1 ± %.2f.\n", d.Tolerance)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

//go:embed templates/diff.html.tmpl
var diffTemplate string

var diffPage = template.Must(template.New("diff").Funcs(template.FuncMap{
	"metricName": results.MetricName,
	"pct":        func(x float64) float64 { return 100 * x },
}).Parse(diffTemplate))

// WriteDiffHTML writes the diff as a self-contained page.
func WriteDiffHTML(w io.Writer, d *Diff) error {
	var b bytes.Buffer
	if err := diffPage.Execute(&b, struct {
		*Diff
		Regressed bool
		Headline  string
	}{d, d.Regressed(), d.Headline()}); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}
