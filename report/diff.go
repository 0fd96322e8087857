package report

import (
	"fmt"
	"io"
	"slices"

	"github.com/cnigate/cnigate/results"
)

// Diff is what changed between two runs of the same kind (cnigate report
// diff A B): the question a rollout review asks.
type Diff struct {
	Kind string `json:"kind"` // e2e or bench
	// Cells whose result changed (e2e), by behaviour and name.
	TurnedRed   []CellChange `json:"turned_red"`
	TurnedGreen []CellChange `json:"turned_green"`
	Changed     []CellChange `json:"changed"` // to or from skip, or only in one run
	// Slower and Faster: latency figures whose ratio B/A is beyond
	// Tolerance either way (e2e cells with a latency in both runs; bench
	// contenders in both, ADD and DEL p50 and the burst's wall time).
	Slower    []Delta `json:"slower"`
	Faster    []Delta `json:"faster"`
	Tolerance float64 `json:"tolerance"`
}

// CellChange is one cell's result in A and in B ("" when absent).
type CellChange struct {
	Behaviour string         `json:"behaviour"`
	Name      string         `json:"name"`
	A         results.Result `json:"a"`
	B         results.Result `json:"b"`
	Detail    string         `json:"detail,omitempty"` // B's detail (A's when gone)
}

// Delta is one figure in A and B (milliseconds) and their ratio B/A.
type Delta struct {
	What  string  `json:"what"`
	A     float64 `json:"a_ms"`
	B     float64 `json:"b_ms"`
	Ratio float64 `json:"ratio"`
}

// DiffMatrix compares two e2e matrices; a latency counts as changed when
// its ratio is beyond tol and it moved by at least a millisecond.
func DiffMatrix(a, b *results.Matrix, tol float64) Diff {
	d := Diff{Kind: "e2e", Tolerance: tol}
	key := func(c results.Cell) string { return c.Behaviour + "\x00" + c.Name }
	before := map[string]results.Cell{}
	for _, c := range a.Cells {
		before[key(c)] = c
	}
	seen := map[string]bool{}
	for _, c := range b.Cells {
		seen[key(c)] = true
		old, ok := before[key(c)]
		ch := CellChange{Behaviour: c.Behaviour, Name: c.Name, B: c.Result, Detail: c.Detail}
		if ok {
			ch.A = old.Result
		}
		switch {
		case ok && old.Result == c.Result:
			if old.LatencyMS != nil && c.LatencyMS != nil {
				d.addDelta(c.Behaviour+" "+c.Name, *old.LatencyMS, *c.LatencyMS, 1)
			}
		case c.Result == results.Fail && (!ok || old.Result == results.Pass):
			d.TurnedRed = append(d.TurnedRed, ch)
		case c.Result == results.Pass && ok && old.Result == results.Fail:
			d.TurnedGreen = append(d.TurnedGreen, ch)
		default:
			d.Changed = append(d.Changed, ch)
		}
	}
	for _, c := range a.Cells {
		if !seen[key(c)] {
			d.Changed = append(d.Changed, CellChange{Behaviour: c.Behaviour, Name: c.Name, A: c.Result, Detail: c.Detail})
		}
	}
	d.sort()
	return d
}

// DiffBench compares two bench runs, contender by contender.
func DiffBench(a, b *results.Bench, tol float64) Diff {
	d := Diff{Kind: "bench", Tolerance: tol}
	for _, name := range b.Order {
		cb, okb := b.Contenders[name]
		ca, oka := a.Contenders[name]
		if !oka || !okb {
			continue
		}
		d.addDelta(name+" ADD p50", ca.Add.P50Ms, cb.Add.P50Ms, 0)
		d.addDelta(name+" DEL p50", ca.Del.P50Ms, cb.Del.P50Ms, 0)
		d.addDelta(name+" burst wall", ca.Burst.WallMs, cb.Burst.WallMs, 0)
	}
	d.sort()
	return d
}

// addDelta records a figure beyond the tolerance that moved by at least
// minMs.
func (d *Diff) addDelta(what string, a, b, minMs float64) {
	if a <= 0 || b <= 0 || abs(b-a) < minMs {
		return
	}
	x := Delta{What: what, A: a, B: b, Ratio: b / a}
	switch {
	case x.Ratio > 1+d.Tolerance:
		d.Slower = append(d.Slower, x)
	case x.Ratio < 1/(1+d.Tolerance):
		d.Faster = append(d.Faster, x)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// sort: the largest changes first.
func (d *Diff) sort() {
	slices.SortStableFunc(d.Slower, func(x, y Delta) int { return cmpFloat(y.Ratio, x.Ratio) })
	slices.SortStableFunc(d.Faster, func(x, y Delta) int { return cmpFloat(x.Ratio, y.Ratio) })
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// WriteText prints the diff for a terminal or a review comment.
func (d Diff) WriteText(w io.Writer) error {
	var err error
	p := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	cells := func(title string, cs []CellChange) {
		if len(cs) == 0 {
			return
		}
		p("%s (%d):\n", title, len(cs))
		for _, c := range cs {
			p("  %-45s %-40s %s -> %s  %s\n", c.Behaviour, c.Name, orNone(c.A), orNone(c.B), c.Detail)
		}
	}
	deltas := func(title string, ds []Delta) {
		if len(ds) == 0 {
			return
		}
		p("%s by more than %.0f%% (%d):\n", title, d.Tolerance*100, len(ds))
		for _, x := range ds {
			p("  %-70s %9.2f -> %9.2f ms  x%.2f\n", x.What, x.A, x.B, x.Ratio)
		}
	}
	p("%s diff: %d turned red, %d turned green, %d other changes, %d slower, %d faster\n",
		d.Kind, len(d.TurnedRed), len(d.TurnedGreen), len(d.Changed), len(d.Slower), len(d.Faster))
	cells("turned red", d.TurnedRed)
	cells("turned green", d.TurnedGreen)
	cells("other changes", d.Changed)
	deltas("slower", d.Slower)
	deltas("faster", d.Faster)
	return err
}

func orNone(r results.Result) string {
	if r == "" {
		return "(none)"
	}
	return string(r)
}
