package report

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cnigate/cnigate/results"
)

// clone deep-copies a results value through JSON.
func clone[T any](t *testing.T, v *T) *T {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// matrixPair: the fixture matrix before, and after it one passed cell
// failed, the failed one passed, one cell is gone, one is new, and one
// passed cell got 10x slower.
func matrixPair(t *testing.T) (a, b *results.Matrix) {
	t.Helper()
	a = &results.Matrix{}
	if err := results.ReadFile("../results/testdata/matrix.json", a); err != nil {
		t.Fatal(err)
	}
	b = clone(t, a)
	red, green, slow, gone := -1, -1, -1, -1
	for i, c := range b.Cells {
		switch {
		case c.Result == results.Fail && green < 0:
			green = i
		case c.Result == results.Pass && c.LatencyMS != nil && red < 0:
			red = i
		case c.Result == results.Pass && c.LatencyMS != nil && slow < 0:
			slow = i
		case c.Result == results.Pass && gone < 0:
			gone = i
		}
	}
	if red < 0 || green < 0 || slow < 0 || gone < 0 {
		t.Fatal("the fixture lacks a failed cell or three passed ones")
	}
	b.Cells[red].Result, b.Cells[red].Detail = results.Fail, "no answer in 45s"
	b.Cells[green].Result = results.Pass
	v := *b.Cells[slow].LatencyMS*10 + 10
	b.Cells[slow].LatencyMS = &v
	b.Cells = append(b.Cells, results.Cell{Behaviour: "new behaviour", Name: "http:a->b", Result: results.Pass})
	b.Cells = append(b.Cells[:gone], b.Cells[gone+1:]...)
	return a, b
}

func TestDiffMatrixNamesWhatTurned(t *testing.T) {
	a, b := matrixPair(t)
	d := DiffMatrix("before.json", a, "after.json", b, DefaultDiffTolerance)
	if len(d.TurnedRed) != 1 || len(d.TurnedGreen) != 1 || len(d.Added) != 1 || len(d.Removed) != 1 || len(d.SlowerCells) != 1 {
		t.Fatalf("red %d green %d added %d removed %d slower %d, want 1 each", len(d.TurnedRed), len(d.TurnedGreen), len(d.Added), len(d.Removed), len(d.SlowerCells))
	}
	if d.TurnedRed[0].Detail != "no answer in 45s" || d.TurnedRed[0].Before != results.Pass {
		t.Errorf("turned red: %+v", d.TurnedRed[0])
	}
	if d.Unchanged != len(a.Cells)-3 { // the slower cell passed in both: unchanged
		t.Errorf("unchanged %d, want %d", d.Unchanged, len(a.Cells)-3)
	}
	if !d.Regressed() {
		t.Error("a cell turned red and the diff says no regression")
	}
	same := DiffMatrix("a", a, "a", a, DefaultDiffTolerance)
	if same.Regressed() || same.Unchanged != len(a.Cells) || same.LatencyRatio == nil || same.LatencyRatio.Moved != Same {
		t.Errorf("a run against itself: %s", same.Headline())
	}
}

// benchRun: two contenders with 300 ADD and DEL samples around 8 and 5 ms
// (+-10%, seeded) and 7 burst rounds; podnet's ADD times slowdown.
func benchRun(seed uint64, slowdown float64) *results.Bench {
	rng := rand.New(rand.NewPCG(seed, 7))
	around := func(ms float64, n int) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = ms * (0.9 + 0.2*rng.Float64())
		}
		return xs
	}
	b := &results.Bench{Order: []string{"podnet", "floor"}, Contenders: map[string]*results.BenchContender{}}
	for _, name := range b.Order {
		c := &results.BenchContender{}
		c.Add.SamplesMs, c.Del.SamplesMs = around(8, 300), around(5, 300)
		for _, w := range around(900, 7) {
			c.Burst.Rounds = append(c.Burst.Rounds, results.BenchBurstRound{AddWallMs: w, DelWallMs: w / 2})
		}
		if name == "podnet" {
			for i := range c.Add.SamplesMs {
				c.Add.SamplesMs[i] *= slowdown
			}
		}
		b.Contenders[name] = c
	}
	return b
}

func TestDiffBenchFindsASlowerADD(t *testing.T) {
	for _, tc := range []struct {
		name     string
		slowdown float64
		want     string
	}{
		{"same binary, another run", 1, Same},
		{"ADD 10% slower", 1.1, Slower},
		{"ADD 10% faster", 0.9, Faster},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := benchRun(1, 1), benchRun(2, tc.slowdown)
			d := DiffBench("a", a, "b", b, DefaultDiffTolerance)
			found := false
			for _, x := range d.Bench {
				if x.Contender == "podnet" && x.Metric == results.MetricAddP50 {
					found = true
					if x.Moved != tc.want {
						t.Errorf("podnet ADD: %s (x%.3f [%.3f, %.3f]), want %s", x.Moved, x.Ratio, x.Low, x.High, tc.want)
					}
				} else if x.Moved != Same {
					t.Errorf("%s %s moved %s, nothing changed there", x.Contender, x.Metric, x.Moved)
				}
			}
			if !found {
				t.Fatal("no podnet ADD p50 in the diff")
			}
			if got := d.Regressed(); got != (tc.want == Slower) {
				t.Errorf("regressed %v", got)
			}
		})
	}
}

func TestDiffRendersBothFormats(t *testing.T) {
	a, b := matrixPair(t)
	d := DiffMatrix("before.json", a, "after.json", b, DefaultDiffTolerance)
	var md, page bytes.Buffer
	if err := WriteDiffMarkdown(&md, d); err != nil {
		t.Fatal(err)
	}
	if err := WriteDiffHTML(&page, d); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Turned red (1)", "no answer in 45s", "## Slower cells"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	if !strings.Contains(page.String(), `id="verdict">regressed<`) {
		t.Error("the page does not say regressed")
	}
}
