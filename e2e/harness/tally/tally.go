package tally

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/cnigate/cnigate/results"
)

// Matrix collects the cells (results.Cell) of concurrently running checks.
type Matrix struct {
	mu    sync.Mutex
	cells []results.Cell
}

// Add records a cell.
func (m *Matrix) Add(c results.Cell) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cells = append(m.cells, c)
}

// Cells returns the recorded cells in a stable order (behaviour order of
// first appearance, then name).
func (m *Matrix) Cells() []results.Cell {
	m.mu.Lock()
	defer m.mu.Unlock()
	order := map[string]int{}
	for _, c := range m.cells {
		if _, ok := order[c.Behaviour]; !ok {
			order[c.Behaviour] = len(order)
		}
	}
	out := append([]results.Cell(nil), m.cells...)
	sort.SliceStable(out, func(i, j int) bool {
		if order[out[i].Behaviour] != order[out[j].Behaviour] {
			return order[out[i].Behaviour] < order[out[j].Behaviour]
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Result is the matrix.json of the cells recorded so far, counted.
func (m *Matrix) Result(meta map[string]string, phases results.Phases) *results.Matrix {
	r := &results.Matrix{Meta: meta, Cells: m.Cells(), Phases: phases}
	r.Count()
	return r
}

// Table renders the matrix for humans (a failure in capitals, to stand out).
func (m *Matrix) Table() string {
	r := m.Result(nil, nil)
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "BEHAVIOUR\tFROM\tTO\tPROTO\tRESULT\tLATENCY\tDETAIL")
	for _, c := range r.Cells {
		lat := "-"
		if c.LatencyMS != nil {
			lat = fmt.Sprintf("%.2fms", *c.LatencyMS)
		}
		detail := c.Detail
		if len(detail) > 90 {
			detail = detail[:87] + "..."
		}
		result := string(c.Result)
		if c.Result == results.Fail {
			result = strings.ToUpper(result)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Behaviour, c.From, c.To, c.Protocol, result, lat, detail)
	}
	_ = w.Flush() // a strings.Builder does not fail
	fmt.Fprintf(&b, "%d passed, %d failed, %d skipped\n", r.Passed, r.Failed, r.Skipped)
	return b.String()
}

// Phases records how long each phase of the suite took.
type Phases struct {
	mu   sync.Mutex
	list results.Phases
}

// Time runs f and records its duration under name.
func (p *Phases) Time(name string, f func() error) error {
	start := time.Now()
	err := f()
	p.Add(name, time.Since(start))
	return err
}

// Add records a phase measured elsewhere.
func (p *Phases) Add(name string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, results.Phase{Name: name, Seconds: d.Seconds()})
}

// List is the phases recorded so far, in order.
func (p *Phases) List() results.Phases {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append(results.Phases(nil), p.list...)
}

// Lines renders phases-e2e.tsv ("name<TAB>seconds" lines; ci/e2e.sh prints them).
func (p *Phases) Lines() string { return p.List().TSV() }
