package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"strings"

	"github.com/cnigate/cnigate/results"
)

//go:embed templates/page.html.tmpl
var pageTemplate string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"ms":       ms,
	"htmlMark": htmlMark,
	"mul100":   func(x float64) float64 { return x * 100 },
	"add1":     func(x float64) float64 { return 1 + x },
	// safeCSS marks the styles e2eCell builds (from numbers only) as CSS.
	"safeCSS": func(s string) template.CSS { return template.CSS(s) }, //nolint:gosec // built from numbers
}).Parse(pageTemplate))

// htmlCell is one e2e grid cell as the page draws it.
type htmlCell struct {
	Class, Style, Text, Title string
	Entries                   []results.Cell
}

type htmlGrid struct {
	Protocol  string
	Behaviour string
	Failed    int
	From, To  []string
	Rows      [][]htmlCell
}

type htmlPage struct {
	*Report
	Summary Summary
	OK      bool
	Grids   []htmlGrid
	// BehaviourGrids: one node x node grid per behaviour, failing first.
	BehaviourGrids []htmlGrid
	Waterfall      template.HTML
	CDFAdd         template.HTML
	CDFDel         template.HTML
	Bursts         template.HTML
	Legend         []legendEntry
	StateClass     func(string) string
}

type legendEntry struct{ Name, Colour string }

func writeHTML(b *bytes.Buffer, r *Report) error {
	if r.rollout != nil {
		return rolloutHTML(b, r.rollout, r)
	}
	p := htmlPage{Report: r, Summary: r.Summary(), OK: r.OK(), StateClass: stateClass}
	if v := r.E2E; v != nil {
		p.Grids = htmlGrids(v.Grids)
		p.BehaviourGrids = htmlGrids(v.Behaviours)
		if len(v.Phases) > 0 {
			p.Waterfall = waterfallSVG(v.Phases)
		}
	}
	if v := r.Bench; v != nil {
		if v.AddSamples != nil { // a table-only bench view (cluster-bench) has no CNI-command samples
			p.CDFAdd = cdfSVG("cdf-add", "ADD latency CDF", v.Order, v.AddSamples)
			p.CDFDel = cdfSVG("cdf-del", "DEL latency CDF", v.Order, v.DelSamples)
		}
		if v.BurstAddMs != nil {
			p.Bursts = burstSVG(v.Order, v.BurstAddMs, v.BurstDelMs)
		}
	}
	return page.Execute(b, p)
}

func htmlGrids(grids []E2EGrid) []htmlGrid {
	var out []htmlGrid
	for _, g := range grids {
		hg := htmlGrid{Protocol: g.Protocol, Behaviour: g.Behaviour, Failed: g.Failed, From: g.From, To: g.To}
		for i := range g.From {
			var row []htmlCell
			for j := range g.To {
				row = append(row, e2eCell(g.Cells[i][j], g.MaxLatencyMS))
			}
			hg.Rows = append(hg.Rows, row)
		}
		out = append(out, hg)
	}
	return out
}

// e2eCell is the worst result of the checks of one pair: red if any failed,
// grey if all were skipped, else green shaded by the slowest latency.
func e2eCell(entries []results.Cell, maxLatency float64) htmlCell {
	if len(entries) == 0 {
		return htmlCell{Class: "none"}
	}
	c := htmlCell{Entries: entries, Class: "pass"}
	var slowest *float64
	var titles []string
	for _, e := range entries {
		switch e.Result {
		case results.Fail:
			c.Class = "fail"
		case results.Skip:
			if c.Class == "pass" && len(entries) == 1 {
				c.Class = "skip"
			}
		}
		if e.LatencyMS != nil && (slowest == nil || *e.LatencyMS > *slowest) {
			slowest = e.LatencyMS
		}
		titles = append(titles, fmt.Sprintf("%s [%s]: %s %s", e.Name, e.Behaviour, e.Result, e.Detail))
	}
	c.Title = strings.Join(titles, "\n")
	switch c.Class {
	case "pass":
		c.Style = "background:" + latencyShade(slowest, maxLatency)
		c.Text = "✓"
		if slowest != nil {
			c.Text = ms(*slowest)
		}
	case "fail":
		c.Text = "✗"
	case "skip":
		c.Text = "–"
	}
	if len(entries) > 1 {
		c.Text += fmt.Sprintf(" ×%d", len(entries))
	}
	return c
}

// htmlMark is a Ginkgo state as a cell shows it; plain symbols, as a page may
// be viewed where no emoji font is installed.
func htmlMark(state string) string {
	switch {
	case state == "":
		return ""
	case state == "passed":
		return "✓"
	case isFailState(state):
		return "✗ " + state
	}
	return "– " + state
}

func stateClass(state string) string {
	switch {
	case state == "":
		return "none"
	case state == "passed":
		return "pass"
	case isFailState(state):
		return "fail"
	}
	return "skip"
}
