package report

import (
	"sort"

	"github.com/cnigate/cnigate/results"
)

// E2EView is the matrix laid out for the page: one from x to grid per protocol.
type E2EView struct {
	Grids  []E2EGrid      `json:"grids"`
	Phases results.Phases `json:"phases,omitempty"`
	// Quality: the data-path quality figures (quality.go).
	Quality *QualityView `json:"quality,omitempty"`
}

// E2EGrid is the matrix of one protocol.
type E2EGrid struct {
	Protocol string   `json:"protocol"`
	From     []string `json:"from"`
	To       []string `json:"to"`
	// Cells[i][j] are the checks from From[i] to To[j] (several behaviours
	// may check one pair); empty when the pair is not checked.
	Cells [][][]results.Cell `json:"cells"`
	// MaxLatencyMS is the largest latency of the grid, for shading.
	MaxLatencyMS float64 `json:"max_latency_ms"`
}

// FromE2E turns a matrix into a report. A run error is a failed case of its
// own ("run"): a run that checked no cell, or not every cell, must not read
// as passed.
func FromE2E(m *results.Matrix) *Report {
	r := &Report{Kind: "e2e", Title: "cnigate e2e: connectivity matrix", E2E: &E2EView{Phases: m.Phases}}
	keys := make([]string, 0, len(m.Meta))
	for k := range m.Meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r.Facts = append(r.Facts, Fact{Name: k, Value: m.Meta[k]})
	}
	var protocols []string
	byProto := map[string][]results.Cell{}
	for _, c := range m.Cells {
		if _, ok := byProto[c.Protocol]; !ok {
			protocols = append(protocols, c.Protocol)
		}
		byProto[c.Protocol] = append(byProto[c.Protocol], c)
		kase := Case{Suite: c.Behaviour, Name: c.Name, Result: c.Result, Detail: c.Detail}
		if c.LatencyMS != nil {
			kase.Seconds = *c.LatencyMS / 1000
		}
		r.Cases = append(r.Cases, kase)
	}
	for _, p := range protocols {
		r.E2E.Grids = append(r.E2E.Grids, grid(p, byProto[p]))
	}
	r.E2E.Quality = qualityView(m)
	if m.RunError != "" {
		r.Cases = append(r.Cases, Case{Suite: "run", Name: "run", Result: results.Fail, Detail: m.RunError})
	}
	return r
}

// grid lays cells out by from and to, in order of first appearance.
func grid(protocol string, cells []results.Cell) E2EGrid {
	g := E2EGrid{Protocol: protocol}
	fromIdx, toIdx := map[string]int{}, map[string]int{}
	for _, c := range cells {
		if _, ok := fromIdx[c.From]; !ok {
			fromIdx[c.From] = len(g.From)
			g.From = append(g.From, c.From)
		}
		if _, ok := toIdx[c.To]; !ok {
			toIdx[c.To] = len(g.To)
			g.To = append(g.To, c.To)
		}
	}
	g.Cells = make([][][]results.Cell, len(g.From))
	for i := range g.Cells {
		g.Cells[i] = make([][]results.Cell, len(g.To))
	}
	for _, c := range cells {
		i, j := fromIdx[c.From], toIdx[c.To]
		g.Cells[i][j] = append(g.Cells[i][j], c)
		if c.LatencyMS != nil && *c.LatencyMS > g.MaxLatencyMS {
			g.MaxLatencyMS = *c.LatencyMS
		}
	}
	return g
}
