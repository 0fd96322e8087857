package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// E2EMatrix decodes the e2e suite's matrix.json.
type E2EMatrix struct {
	Meta    map[string]string `json:"meta,omitempty"`
	Passed  int               `json:"passed"`
	Failed  int               `json:"failed"`
	Skipped int               `json:"skipped"`
	Cells   []E2ECell         `json:"cells"`
	// Phases are the suite's phase timings, in order; matrix.json does not
	// carry them yet (ReadPhasesTSV reads phases-e2e.tsv), a future one may.
	Phases []E2EPhase `json:"phases,omitempty"`
}

// E2ECell is one named check of the matrix.
type E2ECell struct {
	Behaviour string   `json:"behaviour"`
	Name      string   `json:"name"`
	From      string   `json:"from"`
	To        string   `json:"to"`
	Protocol  string   `json:"protocol"`
	Result    string   `json:"result"` // "pass", "FAIL" or "skip"
	Attempts  int      `json:"attempts"`
	Detail    string   `json:"detail,omitempty"`
	LatencyMS *float64 `json:"latency_ms"`
}

// E2EPhase is one timed step of the suite (they run one after the other).
type E2EPhase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// DecodeE2E reads a matrix.json.
func DecodeE2E(r io.Reader) (E2EMatrix, error) {
	var m E2EMatrix
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return m, fmt.Errorf("matrix JSON: %w", err)
	}
	for i, c := range m.Cells {
		if c.Name == "" || c.Protocol == "" || c.Result == "" {
			return m, fmt.Errorf("matrix JSON: cell %d lacks a name, protocol or result", i)
		}
	}
	return m, nil
}

// ReadPhasesTSV reads phases-e2e.tsv: "name<TAB>seconds" lines.
func ReadPhasesTSV(r io.Reader) ([]E2EPhase, error) {
	var out []E2EPhase
	s := bufio.NewScanner(r)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" {
			continue
		}
		name, secs, ok := strings.Cut(line, "\t")
		v, err := strconv.ParseFloat(strings.TrimSpace(secs), 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("phases line %d: want name<TAB>seconds, got %q", n, line)
		}
		out = append(out, E2EPhase{Name: name, Seconds: v})
	}
	return out, s.Err()
}

// E2EView is the matrix laid out for the page: one from x to grid per protocol.
type E2EView struct {
	Grids  []E2EGrid  `json:"grids"`
	Phases []E2EPhase `json:"phases,omitempty"`
}

// E2EGrid is the matrix of one protocol.
type E2EGrid struct {
	Protocol string   `json:"protocol"`
	From     []string `json:"from"`
	To       []string `json:"to"`
	// Cells[i][j] are the checks from From[i] to To[j] (several behaviours
	// may check one pair); empty when the pair is not checked.
	Cells [][][]E2ECell `json:"cells"`
	// MaxLatencyMS is the largest latency of the grid, for shading.
	MaxLatencyMS float64 `json:"max_latency_ms"`
}

// FromE2E turns a matrix into a report.
func FromE2E(m E2EMatrix) *Report {
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
	byProto := map[string][]E2ECell{}
	for _, c := range m.Cells {
		if _, ok := byProto[c.Protocol]; !ok {
			protocols = append(protocols, c.Protocol)
		}
		byProto[c.Protocol] = append(byProto[c.Protocol], c)
		kase := Case{Suite: c.Behaviour, Name: c.Name, Result: e2eResult(c.Result), Detail: c.Detail}
		if c.LatencyMS != nil {
			kase.Seconds = *c.LatencyMS / 1000
		}
		r.Cases = append(r.Cases, kase)
	}
	for _, p := range protocols {
		r.E2E.Grids = append(r.E2E.Grids, grid(p, byProto[p]))
	}
	return r
}

func e2eResult(s string) Result {
	switch strings.ToLower(s) {
	case "pass":
		return Pass
	case "fail":
		return Fail
	}
	return Skip
}

// grid lays cells out by from and to, in order of first appearance.
func grid(protocol string, cells []E2ECell) E2EGrid {
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
	g.Cells = make([][][]E2ECell, len(g.From))
	for i := range g.Cells {
		g.Cells[i] = make([][]E2ECell, len(g.To))
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
