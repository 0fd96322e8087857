package report

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/cnigate/cnigate/results"
)

// The rollout gate's report (results.Rollout, rollout.json): JUnit and the
// JSON report through the common Report, Markdown and HTML of its own (a
// timeline per node, the gaps drawn on it).

// RolloutName is the base name of the rollout report's files.
const RolloutName = "rollout"

// FromRollout is the rollout as cases: the baseline checks, each node's
// checks and verdict, each phase's final checks.
func FromRollout(r *results.Rollout) *Report {
	rep := &Report{Kind: "rollout", Title: rolloutTitle(r), Facts: rolloutFacts(r), rollout: r}
	add := func(suite string, checks []results.RolloutCheck) {
		for _, c := range checks {
			res := results.Pass
			if !c.Passed {
				res = results.Fail
			}
			rep.Cases = append(rep.Cases, Case{Suite: suite, Name: c.Name, Result: res, Seconds: c.Ms / 1000, Detail: c.Detail})
		}
	}
	add("baseline", r.Baseline)
	k := 0 // window labels alternate between two lines: neighbours overlap
	for _, p := range r.Phases {
		for _, n := range p.Nodes {
			k++
			suite := p.Name + " " + n.Node
			add(suite, n.Checks)
			c := Case{Suite: suite, Name: "node verdict", Result: results.Pass, Seconds: n.Finished.Sub(n.Started).Seconds(), Detail: summaryLine(n.Summary)}
			if !n.Passed {
				c.Result, c.Detail = results.Fail, strings.Join(n.Failures, "; ")
			}
			rep.Cases = append(rep.Cases, c)
		}
		add(p.Name+" final", p.Final)
	}
	if w := r.Watch; w != nil {
		c := Case{Suite: "watch", Name: "traffic verdict", Result: results.Pass, Seconds: w.Finished.Sub(w.Started).Seconds(), Detail: summaryLine(w.Summary)}
		if !w.Passed {
			c.Result, c.Detail = results.Fail, strings.Join(w.Failures, "; ")
		}
		rep.Cases = append(rep.Cases, c)
	}
	if !r.Passed && r.Failure != "" {
		// A run refused or stopped outside a node (preflight, traffic start)
		// still fails as a case.
		if rep.OK() {
			rep.Cases = append(rep.Cases, Case{Suite: "rollout", Name: "run", Result: results.Fail, Detail: r.Failure})
		}
		rep.Notes = append(rep.Notes, "stopped: "+r.Failure)
	}
	if len(r.Untouched) > 0 {
		rep.Notes = append(rep.Notes, "never switched (still on "+r.OldImage+"): "+strings.Join(r.Untouched, ", "))
	}
	if !r.WatchOnly && !r.Strategy.Restored && r.Strategy.Original != "" {
		rep.Notes = append(rep.Notes, "the DaemonSet's update strategy was NOT restored: "+r.Strategy.Error)
	}
	return rep
}

func rolloutTitle(r *results.Rollout) string {
	if r.WatchOnly {
		return "rollout watch: live traffic through a rollout"
	}
	return fmt.Sprintf("rollout gate: %s/%s %s → %s", r.Namespace, r.DaemonSet, r.OldImage, r.Candidate)
}

func rolloutFacts(r *results.Rollout) []Fact {
	f := []Fact{{"started", r.Started.Format(time.RFC3339)}, {"duration", r.Finished.Sub(r.Started).Round(time.Second).String()}}
	if !r.WatchOnly {
		f = append(f, Fact{"daemonset", r.Namespace + "/" + r.DaemonSet + " container " + r.Container},
			Fact{"old image", r.OldImage}, Fact{"candidate", r.Candidate},
			Fact{"order", strings.Join(r.Order, ", ") + " (canary " + r.Canary + ")"})
	}
	t := r.Thresholds
	limits := "limits per node"
	if r.WatchOnly {
		limits = "limits"
	}
	f = append(f, Fact{limits, fmt.Sprintf("resets %d, lost %d, stream gap %.0f ms, new-connection gap %.0f ms, UDP loss %.1f%%, restarts %d, sandbox events %d, every pod keeps its IP",
		t.MaxResets, t.MaxLost, t.MaxGapMs, t.MaxConnectGapMs, t.MaxUDPLossPct, t.MaxRestarts, t.MaxSandboxFails)})
	if r.FailedNode != "" {
		f = append(f, Fact{"stopped at", r.FailedNode})
	}
	return f
}

func summaryLine(s results.RolloutSummary) string {
	return fmt.Sprintf("resets %d, lost %d, longest gap %.0f ms stream / %.0f ms new connection, UDP loss %.1f%%, restarts %d, sandbox events %d, IP changes %d",
		s.Resets, s.Lost, s.MaxGapMs, s.MaxConnectGapMs, s.UDPLossPct, s.Restarts, len(s.SandboxEvents), len(s.IPChanges))
}

// WriteRollout writes the rollout report's four formats into dir (Write:
// the Markdown and HTML writers render FromRollout's report as the rollout's
// own tables and timeline) and returns their paths.
func WriteRollout(dir string, r *results.Rollout) ([]string, error) {
	return Write(dir, RolloutName, FromRollout(r))
}

// nodeRow is one node's line in the phase tables of both formats.
func nodeRow(n results.RolloutNode) []string {
	pass := 0
	for _, c := range n.Checks {
		if c.Passed {
			pass++
		}
	}
	node := n.Node
	if n.Canary {
		node += " (canary)"
	}
	sw := "-"
	if !n.PodReady.IsZero() {
		sw = fmt.Sprintf("%.1f", n.PodReady.Sub(n.Started).Seconds())
	}
	verdict := "pass"
	switch {
	case !n.Passed && n.RolledBack:
		verdict = "FAIL, rolled back"
	case !n.Passed:
		verdict = "FAIL"
	}
	s := n.Summary
	win := "-"
	if !n.Finished.IsZero() {
		win = fmt.Sprintf("%.1f", n.Finished.Sub(n.Started).Seconds())
	}
	return []string{node, sw, win, fmt.Sprintf("%d/%d", pass, len(n.Checks)), fmt.Sprint(s.Resets), fmt.Sprint(s.Lost + len(s.Silent)),
		ms(s.MaxGapMs), ms(s.MaxConnectGapMs), fmt.Sprintf("%.1f", s.UDPLossPct), fmt.Sprint(s.Restarts),
		fmt.Sprint(len(s.SandboxEvents)), fmt.Sprint(len(s.IPChanges)), verdict}
}

var nodeHeader = []string{"node", "switch s", "window s", "checks", "resets", "lost", "longest gap ms (stream)", "longest gap ms (new conn)", "UDP loss %", "restarts", "sandbox events", "IP changes", "verdict"}

func flowRows(flows []results.RolloutFlow) [][]string {
	var rows [][]string
	for _, f := range flows {
		rows = append(rows, []string{f.Client + " → " + f.Target, f.Kind, fmt.Sprint(f.OK), fmt.Sprint(f.Fail), fmt.Sprint(f.Resets), fmt.Sprint(f.Lost), ms(f.MaxGapMs), fmt.Sprint(len(f.Gaps))})
	}
	return rows
}

var flowHeader = []string{"flow", "kind", "ok", "failed", "resets", "lost", "longest gap ms", "gaps reported"}

func rolloutMarkdown(b *bytes.Buffer, r *results.Rollout, rep *Report) {
	verdict := "✅ passed"
	if !r.Passed {
		verdict = "❌ FAILED"
	}
	fmt.Fprintf(b, "## %s\n\n**%s**", mdText(rep.Title), verdict)
	if r.Failure != "" {
		fmt.Fprintf(b, ": %s", mdText(r.Failure))
	}
	b.WriteString("\n\n| | |\n|---|---|\n")
	for _, f := range rep.Facts {
		fmt.Fprintf(b, "| %s | %s |\n", mdCell(f.Name), mdCell(f.Value))
	}
	b.WriteString("\n")
	for _, p := range r.Phases {
		state := "passed"
		if !p.Passed {
			state = "FAILED"
		}
		fmt.Fprintf(b, "### %s: %s → %s (%s)\n\n", p.Name, mdText(p.From), mdText(p.To), state)
		var rows [][]string
		for _, n := range p.Nodes {
			rows = append(rows, nodeRow(n))
		}
		mdTable(b, nodeHeader, rows)
		for _, n := range p.Nodes {
			for _, f := range n.Failures {
				fmt.Fprintf(b, "- **%s**: %s\n", mdText(n.Node), mdText(f))
			}
		}
		if len(p.Final) > 0 {
			fmt.Fprintf(b, "- final checks: %s\n", checkCount(p.Final))
		}
		b.WriteString("\n")
	}
	if w := r.Watch; w != nil {
		fmt.Fprintf(b, "### watch (%s)\n\n%s\n\n", w.Finished.Sub(w.Started).Round(time.Second), mdText(summaryLine(w.Summary)))
		for _, f := range w.Failures {
			fmt.Fprintf(b, "- %s\n", mdText(f))
		}
	}
	if len(r.Traffic) > 0 {
		b.WriteString("### Traffic over the whole run\n\n")
		mdTable(b, flowHeader, flowRows(r.Traffic))
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(b, "- %s\n", mdText(n))
	}
}

func checkCount(checks []results.RolloutCheck) string {
	pass := 0
	var bad []string
	for _, c := range checks {
		if c.Passed {
			pass++
		} else {
			bad = append(bad, c.Name)
		}
	}
	s := fmt.Sprintf("%d/%d pass", pass, len(checks))
	if len(bad) > 0 {
		s += "; failed: " + strings.Join(bad, ", ")
	}
	return s
}

var rolloutPage = template.Must(template.New("rollout").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{{.Rep.Title}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1200px;padding:1em 1.5em;color:#1f2328;background:#fff}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:1.4em 0 .5em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
.verdict{display:inline-block;padding:.15em .6em;border-radius:1em;font-weight:600;color:#fff}
.verdict.ok{background:#1a7f37}.verdict.bad{background:#cf222e}
table{border-collapse:collapse;margin:.4em 0}th,td{border:1px solid #d0d7de;padding:.25em .55em;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}table.facts th{background:none;font-weight:normal;color:#59636e}
table.num td{text-align:right;font-variant-numeric:tabular-nums}table.num td:first-child{text-align:left}
td.fail{background:#ff8182;color:#fff;font-weight:600}td.pass{background:#aceebb}
.chart{width:100%;height:auto;display:block;margin:.4em 0}
.chart .grid{stroke:#e6e8eb;stroke-width:1}.chart text{font-size:11px;fill:#59636e}.chart .label{fill:#1f2328;font-size:11px}
.chart .flow{fill:#dafbe1}.chart .gap{fill:#cf222e}.chart .gap.short{fill:#d4a72c}.chart .win{fill:#0969da;opacity:.08}.chart .win.failed{fill:#cf222e;opacity:.15}
.chart .ready{stroke:#0969da;stroke-width:1.5}.chart .winlabel{fill:#0969da;font-size:10px}
details{margin:.3em 0}pre{white-space:pre-wrap;background:#f6f8fa;padding:.5em;border-radius:4px;font-size:12px}
</style>
</head>
<body data-kind="rollout">
<h1>{{.Rep.Title}}</h1>
<p><span class="verdict {{if .R.Passed}}ok{{else}}bad{{end}}" id="verdict">{{if .R.Passed}}passed{{else}}FAILED{{end}}</span>
{{with .R.Failure}} <span id="failure">{{.}}</span>{{end}}</p>
<table class="facts">{{range .Rep.Facts}}<tr><th>{{.Name}}</th><td>{{.Value}}</td></tr>{{end}}</table>
{{with .Rep.Notes}}<ul id="notes">{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2>Timeline</h2>
<p>One row per live flow; a mark: no answer for longer than three intervals (amber: within the limit, red: over it, or still open); shaded: a node's switch (from its pod's deletion to the end of its checks and settle time), a blue line when its new pod was Ready.</p>
{{.Timeline}}
{{range .Phases}}<h2>{{.Name}}: {{.From}} &rarr; {{.To}} ({{if .Passed}}passed{{else}}FAILED{{end}})</h2>
<table class="num"><tr>{{range $.NodeHeader}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range $i, $c := .Cells}}<td{{if eq $i 12}} class="{{if eq $c "pass"}}pass{{else}}fail{{end}}"{{end}}>{{$c}}</td>{{end}}</tr>{{end}}</table>
{{range .Rows}}{{if .Failures}}<details open><summary>{{.Node}}: what failed</summary><ul>{{range .Failures}}<li>{{.}}</li>{{end}}</ul></details>{{end}}
<details><summary>{{.Node}}: {{len .Checks}} checks</summary><table>{{range .Checks}}<tr><td class="{{if .Passed}}pass{{else}}fail{{end}}">{{if .Passed}}pass{{else}}FAIL{{end}}</td><td>{{.Name}}</td><td>{{.Detail}}</td></tr>{{end}}</table></details>{{end}}
{{with .Final}}<p>Final checks: {{.}}</p>{{end}}
{{end}}
{{with .R.Watch}}<h2>Watch</h2><p>{{$.WatchLine}}</p>{{with .Failures}}<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}{{end}}
<h2>Traffic over the whole run</h2>
<table class="num"><tr>{{range .FlowHeader}}<th>{{.}}</th>{{end}}</tr>{{range .Flows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</table>
</body>
</html>
`))

type htmlNodeRow struct {
	Node     string
	Cells    []string
	Failures []string
	Checks   []results.RolloutCheck
}

type htmlPhase struct {
	Name, From, To, Final string
	Passed                bool
	Rows                  []htmlNodeRow
}

func rolloutHTML(b *bytes.Buffer, r *results.Rollout, rep *Report) error {
	data := struct {
		R                      *results.Rollout
		Rep                    *Report
		Timeline               template.HTML
		Phases                 []htmlPhase
		NodeHeader, FlowHeader []string
		Flows                  [][]string
		WatchLine              string
	}{R: r, Rep: rep, Timeline: timelineSVG(r), NodeHeader: nodeHeader, FlowHeader: flowHeader, Flows: flowRows(r.Traffic)}
	for _, p := range r.Phases {
		hp := htmlPhase{Name: p.Name, From: p.From, To: p.To, Passed: p.Passed}
		if len(p.Final) > 0 {
			hp.Final = checkCount(p.Final)
		}
		for _, n := range p.Nodes {
			hp.Rows = append(hp.Rows, htmlNodeRow{Node: n.Node, Cells: nodeRow(n), Failures: n.Failures, Checks: n.Checks})
		}
		data.Phases = append(data.Phases, hp)
	}
	if r.Watch != nil {
		data.WatchLine = summaryLine(r.Watch.Summary)
	}
	return rolloutPage.Execute(b, data)
}

// timelineSVG draws every flow of the run against time: its gaps in red,
// each node's window shaded with its name, its new pod's Ready as a line.
func timelineSVG(r *results.Rollout) template.HTML {
	flows := r.Traffic
	if r.Watch != nil && len(flows) == 0 {
		flows = r.Watch.Traffic
	}
	start, end := r.Started, r.Finished
	if end.Before(start) || end.Equal(start) {
		end = start.Add(time.Second)
	}
	const w, left, right, rowH, top = 1200.0, 400.0, 20.0, 13.0, 48.0
	h := top + float64(len(flows))*rowH + 34
	pw := w - left - right
	total := end.Sub(start).Seconds()
	x := func(t time.Time) float64 {
		return left + math.Max(0, math.Min(total, t.Sub(start).Seconds()))/total*pw
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="timeline" class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="timeline"><title>timeline of the rollout: flows, gaps, node switches</title>`, w, h)
	step := niceStep(total, 10)
	for v := 0.0; v <= total; v += step {
		xx := left + v/total*pw
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/><text x="%.1f" y="%.1f" text-anchor="middle">%g s</text>`, xx, top-4, xx, h-28, xx, h-16, v)
	}
	k := 0 // window labels alternate between two lines: neighbours overlap
	for _, p := range r.Phases {
		for _, n := range p.Nodes {
			k++
			end := n.Finished
			if end.IsZero() {
				end = r.Finished
			}
			cls := "win"
			if !n.Passed {
				cls += " failed"
			}
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %s: %s</title></rect>`,
				cls, x(n.Started), top-14, math.Max(x(end)-x(n.Started), 1), h-top-14, esc(p.Name), esc(n.Node), esc(summaryLine(n.Summary)))
			fmt.Fprintf(&b, `<text class="winlabel" x="%.1f" y="%.1f">%s %s</text>`, x(n.Started)+2, top-18-float64(k%2)*12, esc(p.Name), esc(n.Node))
			if !n.PodReady.IsZero() {
				fmt.Fprintf(&b, `<line class="ready" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, x(n.PodReady), top-4, x(n.PodReady), h-28)
			}
		}
	}
	for i, f := range flows {
		y := top + float64(i)*rowH
		fmt.Fprintf(&b, `<text class="label" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, left-6, y+rowH-3, esc(f.Client+" → "+f.Target+" "+f.Kind))
		fmt.Fprintf(&b, `<rect class="flow" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, left, y+1, pw, rowH-2)
		limit := r.Thresholds.MaxGapMs
		if f.Kind == "connect" {
			limit = r.Thresholds.MaxConnectGapMs
		}
		for _, g := range f.Gaps {
			open := ""
			if g.Open {
				open = ", still open"
			}
			cls := "gap"
			if limit > 0 && g.Ms <= limit {
				cls = "gap short" // reported, within the limit
			}
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %.0f ms without an answer%s</title></rect>`,
				cls, x(g.From), y+1, math.Max(x(g.To)-x(g.From), 1.5), rowH-2, esc(g.From.Format("15:04:05.000")), g.Ms, open)
		}
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">seconds since the gate started</text>`, left+pw/2, h-2)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text in it went through esc
}
