package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
)

// The published conformance page (docs/conformance/index.html): the answer
// first (did every plugin fail only where its known-failures list says), then
// a plugin x clause grid, then per plugin its clause x version table, its
// failures and, folded, every spec by version. No path of the machine that
// produced it.

//go:embed templates/published.html.tmpl
var publishedTemplate string

var publishedPage = template.Must(template.New("published").Parse(publishedTemplate))

type pubCell struct {
	Class, Text, Title string
}

type pubClauseRow struct {
	Label, Rule string
	Cells       []pubCell // one per plugin (grid) or per version (plugin table)
}

type pubFailure struct {
	Text, Version, Known, Message, Location, Output string
	Clauses                                         []string
}

type pubSpecRow struct {
	Spec  string
	Cells []pubCell
}

type pubPlugin struct {
	Name, NotRun, Claims       string
	Ran, Passed, Failed, Skips int
	Seconds                    float64
	Versions                   []string
	Clauses                    []pubClauseRow
	Failures                   []pubFailure
	NewFailures                int
	Skipped                    []string // profile skips, "N × reason"
	Specs                      []pubSpecRow
}

type pubPage struct {
	Title         string
	Facts         []Fact
	OK            bool
	Headline      string
	Plugins       []pubPlugin
	Grid          []pubClauseRow
	Clauses       []Clause
	KnownFailures int
}

// WritePublishedHTML writes the published conformance page.
func WritePublishedHTML(w io.Writer, p Published, title string, facts []Fact) error {
	page := pubPage{Title: title, Facts: facts, Clauses: p.Clauses}
	scrub := pathScrubber(p.Runs)
	brief := p.Brief
	if brief == nil {
		brief = func(why string) string { return why }
	}
	tables := make([]runTable, len(p.Runs))
	newFailures := 0
	for i, r := range p.Runs {
		pp := pubPlugin{Name: r.Plugin, NotRun: r.NotRun}
		if r.NotRun != "" {
			page.Plugins = append(page.Plugins, pp)
			continue
		}
		t := tableOf(r)
		tables[i] = t
		pp.Claims, pp.Versions = t.claims, t.cols
		pp.Passed, pp.Failed, pp.Skips = t.total.passed, t.total.failed, t.total.skipped
		pp.Ran = pp.Passed + pp.Failed
		for _, s := range r.Specs() {
			if s.LeafNodeType == types.NodeTypeIt {
				pp.Seconds += s.RunTime.Seconds()
			}
		}
		for _, g := range t.rows {
			row := pubClauseRow{Label: g}
			for _, v := range t.cols {
				row.Cells = append(row.Cells, tallyCell(t.cells[g][v]))
			}
			pp.Clauses = append(pp.Clauses, row)
		}
		for _, s := range t.failures {
			f := pubFailure{Text: failureText(s), Clauses: grounds(s), Message: scrub(strings.TrimSpace(s.Failure.Message)),
				Location: sourceLocation(s.Failure.Location), Output: scrub(tail(s.CapturedGinkgoWriterOutput, 4000))}
			if v := publishedVersion(s); v != publishedOnce {
				f.Version = v
			}
			if why, ok := r.Known[f.Text]; ok {
				f.Known = brief(why)
				page.KnownFailures++
			} else {
				pp.NewFailures++
			}
			pp.Failures = append(pp.Failures, f)
		}
		newFailures += pp.NewFailures
		for reason, n := range t.skips {
			pp.Skipped = append(pp.Skipped, fmt.Sprintf("%d × %s", n, reason))
		}
		pp.Specs = specRows(r, t.cols, scrub)
		page.Plugins = append(page.Plugins, pp)
	}
	page.OK = newFailures == 0
	switch {
	case newFailures > 0:
		page.Headline = fmt.Sprintf("%d NEW failures (not in the known-failures lists), %d known", newFailures, page.KnownFailures)
	case page.KnownFailures > 0:
		page.Headline = fmt.Sprintf("as expected: %d known failures, 0 new", page.KnownFailures)
	default:
		page.Headline = "every spec that ran passed"
	}
	// The grid: every clause the suite names, then any other grounds found.
	seen := map[string]bool{}
	var labels []string
	for _, c := range p.Clauses {
		labels = append(labels, c.Label)
		seen[c.Label] = true
	}
	for _, t := range tables {
		for _, g := range t.rows {
			if !seen[g] {
				labels = append(labels, g)
				seen[g] = true
			}
		}
	}
	rules := map[string]string{}
	for _, c := range p.Clauses {
		rules[c.Label] = c.Rule
	}
	for _, g := range labels {
		row := pubClauseRow{Label: g, Rule: rules[g]}
		for i, r := range p.Runs {
			if r.NotRun != "" {
				row.Cells = append(row.Cells, pubCell{Class: "none", Text: "not run", Title: r.NotRun})
				continue
			}
			sum := tables[i].clauseTotal(g)
			row.Cells = append(row.Cells, tallyCell(&sum))
		}
		page.Grid = append(page.Grid, row)
	}
	var b bytes.Buffer
	if err := publishedPage.Execute(&b, page); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// tallyCell is a clause's count at one version (or over all) as a cell.
func tallyCell(t *tally) pubCell {
	switch {
	case t == nil || t.passed+t.failed+t.skipped == 0:
		return pubCell{Class: "none"}
	case t.passed+t.failed == 0:
		return pubCell{Class: "skip", Text: fmt.Sprintf("skipped %d", t.skipped), Title: "skipped by the profile"}
	case t.failed > 0:
		return pubCell{Class: "fail", Text: fmt.Sprintf("%d/%d", t.passed, t.passed+t.failed), Title: fmt.Sprintf("%d failed", t.failed)}
	}
	return pubCell{Class: "pass", Text: fmt.Sprintf("%d/%d", t.passed, t.passed), Title: "all passed"}
}

// specRows: every spec of a run that ran (or that its profile skipped),
// one row per spec with its version taken out of the name, one cell per
// version column.
func specRows(r PublishedRun, cols []string, scrub func(string) string) []pubSpecRow {
	col := map[string]int{}
	for i, v := range cols {
		col[v] = i
	}
	var rows []pubSpecRow
	index := map[string]int{}
	for _, s := range r.Specs() {
		if s.LeafNodeType != types.NodeTypeIt {
			continue
		}
		if s.State == types.SpecStateSkipped && !strings.HasPrefix(s.Failure.Message, "profile:") {
			continue
		}
		key, _, _ := specKey(s)
		i, ok := index[key]
		if !ok {
			i = len(rows)
			index[key] = i
			rows = append(rows, pubSpecRow{Spec: key, Cells: make([]pubCell, len(cols))})
		}
		var c pubCell
		switch {
		case s.State == types.SpecStatePassed:
			c = pubCell{Class: "pass", Text: "pass", Title: fmt.Sprintf("%.2f s", s.RunTime.Seconds())}
		case s.State.Is(types.SpecStateFailureStates):
			c = pubCell{Class: "fail", Text: "FAIL", Title: scrub(firstLine(strings.TrimSpace(s.Failure.Message)))}
		default:
			c = pubCell{Class: "skip", Text: "skip", Title: scrub(s.Failure.Message)}
		}
		rows[i].Cells[col[publishedVersion(s)]] = c
	}
	return rows
}

// sourceLocation is a spec's file and line relative to the repository (the
// suite's own directories), else the file's base name: never a path of the
// machine that ran it.
func sourceLocation(l types.CodeLocation) string {
	f := l.FileName
	for _, dir := range []string{"/conformance/", "/netns-tests/", "/cnitest/", "/cmd/"} {
		if i := strings.LastIndex(f, dir); i >= 0 {
			return fmt.Sprintf("%s:%d", f[i+1:], l.LineNumber)
		}
	}
	if f == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", filepath.Base(f), l.LineNumber)
}

// specTempDir is a spec's throwaway directory (the suite's
// $TMPDIR/cnitest-N/spec-M): the same on no two runs or machines.
var specTempDir = regexp.MustCompile(`(?:/[^\s"'/]+)*/cnitest-\d+/spec-\d+`)

// pathScrubber takes the directories the runs ran in (Ginkgo's suite path:
// the checkout) and the specs' temp directories ($SPEC_DIR) out of the
// texts the page quotes.
func pathScrubber(runs []PublishedRun) func(string) string {
	var olds []string
	for _, r := range runs {
		for _, rep := range r.Reports {
			if p := strings.TrimRight(rep.SuitePath, "/"); p != "" && p != "." {
				olds = append(olds, p+"/", "./", p, ".")
			}
		}
	}
	rep := strings.NewReplacer(olds...)
	return func(s string) string { return specTempDir.ReplaceAllString(rep.Replace(s), "$$SPEC_DIR") }
}
