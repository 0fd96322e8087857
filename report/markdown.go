package report

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/cnigate/cnigate/results"
)

// writeMarkdown writes a summary fit for $GITHUB_STEP_SUMMARY: the verdict
// and counts first, then the kind's table, then every failure.
func writeMarkdown(b *bytes.Buffer, r *Report) error {
	if r.rollout != nil {
		rolloutMarkdown(b, r.rollout, r)
		return nil
	}
	s := r.Summary()
	verdict := "✅ passed"
	if !r.OK() {
		verdict = "❌ FAILED"
	}
	fmt.Fprintf(b, "## %s\n\n**%s**: %d passed, %d failed, %d skipped\n\n", mdText(r.Title), verdict, s.Passed, s.Failed, s.Skipped)
	if len(r.Facts) > 0 {
		b.WriteString("| | |\n|---|---|\n")
		for _, f := range r.Facts {
			fmt.Fprintf(b, "| %s | %s |\n", mdCell(f.Name), mdCell(f.Value))
		}
		b.WriteString("\n")
	}
	switch {
	case r.E2E != nil:
		mdE2E(b, r.E2E)
	case r.Bench != nil:
		mdTable(b, r.Bench.Header, r.Bench.Rows)
		for _, line := range r.Bench.targetLines() {
			fmt.Fprintf(b, "- %s\n", mdText(line))
		}
		if len(r.Bench.Targets) > 0 || r.Bench.Gate != nil {
			b.WriteString("\n")
		}
	case r.Conformance != nil:
		mdConformance(b, r.Conformance)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(b, "- %s\n", mdText(n))
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
	}
	var failed []Case
	for _, c := range r.Cases {
		if c.Result == results.Fail {
			failed = append(failed, c)
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(b, "### Failures (%d)\n\n", len(failed))
		for _, c := range failed {
			fmt.Fprintf(b, "- **%s** [%s]: %s\n", mdText(c.Name), mdText(c.Suite), mdText(firstLine(c.Detail)))
		}
		b.WriteString("\n")
	}
	return nil
}

func mdE2E(b *bytes.Buffer, v *E2EView) {
	for _, g := range v.Grids {
		fmt.Fprintf(b, "### %s\n\n", mdText(g.Protocol))
		header := append([]string{"from \\ to"}, g.To...)
		var rows [][]string
		for i, from := range g.From {
			row := []string{from}
			for j := range g.To {
				row = append(row, mdE2ECell(g.Cells[i][j]))
			}
			rows = append(rows, row)
		}
		mdTable(b, header, rows)
	}
	mdQuality(b, v.Quality)
	if len(v.Phases) > 0 {
		b.WriteString("### Phases\n\n")
		var rows [][]string
		var total float64
		for _, p := range v.Phases {
			rows = append(rows, []string{p.Name, fmt.Sprintf("%.1f", p.Seconds)})
			total += p.Seconds
		}
		rows = append(rows, []string{"total", fmt.Sprintf("%.1f", total)})
		mdTable(b, []string{"phase", "seconds"}, rows)
	}
}

func mdE2ECell(cells []results.Cell) string {
	if len(cells) == 0 {
		return ""
	}
	var parts []string
	for _, c := range cells {
		mark := "⏭"
		switch c.Result {
		case results.Pass:
			mark = "✅"
		case results.Fail:
			mark = "❌"
		}
		if c.LatencyMS != nil {
			mark += " " + ms(*c.LatencyMS) + " ms"
		}
		parts = append(parts, mark)
	}
	return strings.Join(parts, " ")
}

func mdConformance(b *bytes.Buffer, v *ConformanceView) {
	// Counts per version, then the whole grid folded.
	header := []string{""}
	header = append(header, v.Versions...)
	counts := map[string][]int{}
	states := []string{"passed", "failed", "skipped"}
	for _, st := range states {
		counts[st] = make([]int, len(v.Versions))
	}
	for _, row := range v.Rows {
		for i, c := range row.Cells {
			switch {
			case c.State == "passed":
				counts["passed"][i]++
			case c.State == "":
			case isFailState(c.State):
				counts["failed"][i]++
			default:
				counts["skipped"][i]++
			}
		}
	}
	var rows [][]string
	for _, st := range states {
		row := []string{st}
		for _, n := range counts[st] {
			row = append(row, fmt.Sprint(n))
		}
		rows = append(rows, row)
	}
	mdTable(b, header, rows)
	fmt.Fprintf(b, "<details><summary>%d specs x %d spec versions</summary>\n\n", len(v.Rows), len(v.Versions))
	rows = nil
	for _, row := range v.Rows {
		cells := []string{row.Spec}
		for _, c := range row.Cells {
			cells = append(cells, stateMark(c.State))
		}
		rows = append(rows, cells)
	}
	mdTable(b, append([]string{"spec"}, v.Versions...), rows)
	b.WriteString("</details>\n\n")
}

func isFailState(s string) bool {
	switch s {
	case "failed", "panicked", "interrupted", "aborted", "timedout":
		return true
	}
	return false
}

func stateMark(s string) string {
	switch {
	case s == "":
		return ""
	case s == "passed":
		return "✅"
	case isFailState(s):
		return "❌ " + s
	}
	return "⏭ " + s
}

func mdTable(b *bytes.Buffer, header []string, rows [][]string) {
	cells := make([]string, len(header))
	for i, h := range header {
		cells[i] = mdCell(h)
	}
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(cells, " | "), strings.Repeat("---|", len(header)))
	for _, row := range rows {
		for i := range cells {
			cells[i] = ""
			if i < len(row) {
				cells[i] = mdCell(row[i])
			}
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
	}
	b.WriteString("\n")
}

// mdCell keeps a value on one line of a table cell.
func mdCell(s string) string {
	return strings.ReplaceAll(mdText(strings.Join(strings.Fields(s), " ")), "|", "\\|")
}

// mdText escapes what Markdown would turn into markup or HTML.
func mdText(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", "*", "\\*", "_", "\\_", "`", "\\`").Replace(s)
}
