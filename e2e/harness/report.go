package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Result of one matrix cell.
type Result string

// Cell results.
const (
	Pass Result = "pass"
	Fail Result = "FAIL"
	Skip Result = "skip"
)

// Cell is one named check of the connectivity matrix.
type Cell struct {
	Behaviour string        `json:"behaviour"`
	Name      string        `json:"name"`
	From      string        `json:"from"`
	To        string        `json:"to"`
	Protocol  string        `json:"protocol"`
	Result    Result        `json:"result"`
	Latency   time.Duration `json:"-"`
	Attempts  int           `json:"attempts"`
	Detail    string        `json:"detail,omitempty"`
}

// MarshalJSON adds the latency in milliseconds.
func (c Cell) MarshalJSON() ([]byte, error) {
	type plain Cell
	var ms *float64
	if c.Latency > 0 {
		v := float64(c.Latency.Microseconds()) / 1000
		ms = &v
	}
	return json.Marshal(struct {
		plain
		LatencyMS *float64 `json:"latency_ms"`
	}{plain(c), ms})
}

// Matrix collects cells from concurrently running checks.
type Matrix struct {
	mu    sync.Mutex
	cells []Cell
}

// Add records a cell.
func (m *Matrix) Add(c Cell) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cells = append(m.cells, c)
}

// Cells returns the recorded cells in a stable order (behaviour order of
// first appearance, then name).
func (m *Matrix) Cells() []Cell {
	m.mu.Lock()
	defer m.mu.Unlock()
	order := map[string]int{}
	for _, c := range m.cells {
		if _, ok := order[c.Behaviour]; !ok {
			order[c.Behaviour] = len(order)
		}
	}
	out := append([]Cell(nil), m.cells...)
	sort.SliceStable(out, func(i, j int) bool {
		if order[out[i].Behaviour] != order[out[j].Behaviour] {
			return order[out[i].Behaviour] < order[out[j].Behaviour]
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Counts returns how many cells passed, failed and were skipped.
func (m *Matrix) Counts() (pass, fail, skip int) {
	for _, c := range m.Cells() {
		switch c.Result {
		case Pass:
			pass++
		case Fail:
			fail++
		default:
			skip++
		}
	}
	return
}

// Table renders the matrix for humans.
func (m *Matrix) Table() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "BEHAVIOUR\tFROM\tTO\tPROTO\tRESULT\tLATENCY\tDETAIL")
	for _, c := range m.Cells() {
		lat := "-"
		if c.Latency > 0 {
			lat = fmt.Sprintf("%.2fms", float64(c.Latency.Microseconds())/1000)
		}
		detail := c.Detail
		if len(detail) > 90 {
			detail = detail[:87] + "..."
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Behaviour, c.From, c.To, c.Protocol, c.Result, lat, detail)
	}
	_ = w.Flush() // a strings.Builder does not fail
	p, f, s := m.Counts()
	fmt.Fprintf(&b, "%d passed, %d failed, %d skipped\n", p, f, s)
	return b.String()
}

// WriteJSON writes the matrix (matrix.json).
func (m *Matrix) WriteJSON(path string, meta map[string]string) error {
	p, f, s := m.Counts()
	doc := struct {
		Meta   map[string]string `json:"meta,omitempty"`
		Passed int               `json:"passed"`
		Failed int               `json:"failed"`
		Skip   int               `json:"skipped"`
		Cells  []Cell            `json:"cells"`
	}{meta, p, f, s, m.Cells()}
	return writeJSONFile(path, doc)
}

func writeJSONFile(path string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(raw, '\n'), 0o644)
}

// Phases records how long each phase of the suite took.
type Phases struct {
	mu   sync.Mutex
	list []Phase
}

// Phase is one timed step.
type Phase struct {
	Name    string
	Seconds float64
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
	p.list = append(p.list, Phase{Name: name, Seconds: d.Seconds()})
}

// Lines renders "name<TAB>seconds" lines, one per phase (ci/e2e.sh prints them).
func (p *Phases) Lines() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, ph := range p.list {
		fmt.Fprintf(&b, "%s\t%.1f\n", ph.Name, ph.Seconds)
	}
	return b.String()
}
