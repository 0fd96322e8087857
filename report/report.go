package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cnigate/cnigate/results"
)

// Report is one run, ready to render: what every format shows (title, facts,
// cases) plus the view of its kind.
type Report struct {
	// Kind is "e2e", "bench" or "conformance".
	Kind  string `json:"kind"`
	Title string `json:"title"`
	// Facts are the run's context (cluster, machine, plugin, ...), in order.
	Facts []Fact `json:"facts,omitempty"`
	// Cases are the checks of the run, each a JUnit testcase.
	Cases []Case `json:"cases"`
	// Notes are lines worth reading that are not cases (e.g. missed targets).
	Notes []string `json:"notes,omitempty"`

	E2E         *E2EView         `json:"e2e,omitempty"`
	Bench       *BenchView       `json:"bench,omitempty"`
	Conformance *ConformanceView `json:"conformance,omitempty"`

	// rollout is the run FromRollout made the report of: its Markdown and
	// HTML are the rollout's own (per-node tables, timeline).
	rollout *results.Rollout
}

// Fact is one name: value line of a report's context.
type Fact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Case is one check.
type Case struct {
	// Suite groups cases (a behaviour, a Describe, a contender).
	Suite   string         `json:"suite"`
	Name    string         `json:"name"`
	Result  results.Result `json:"result"`
	Seconds float64        `json:"seconds"`
	// Detail is the failure message, or the skip reason, or what a pass saw.
	Detail string `json:"detail,omitempty"`
}

// Summary counts the cases.
type Summary struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
}

// Summary counts the report's cases by result.
func (r *Report) Summary() Summary {
	var s Summary
	for _, c := range r.Cases {
		switch c.Result {
		case results.Pass:
			s.Passed++
		case results.Fail:
			s.Failed++
		default:
			s.Skipped++
		}
	}
	return s
}

// OK is true when no case failed.
func (r *Report) OK() bool { return r.Summary().Failed == 0 }

// Format is one way of rendering a report: a file extension and its writer.
type Format struct {
	// Ext ends the file's name: NAME + Ext.
	Ext   string
	write func(*bytes.Buffer, *Report) error
}

// The formats, and Formats, all of them in the order Write writes them.
var (
	// JUnit is JUnit XML, for CI test views.
	JUnit = Format{".junit.xml", writeJUnit}
	// JSON is the report as a JSON document (schema "report/v1"), for tools.
	JSON = Format{".report.json", writeJSON}
	// Markdown is a summary fit for $GITHUB_STEP_SUMMARY.
	Markdown = Format{".md", writeMarkdown}
	// HTML is one self-contained page.
	HTML = Format{".html", writeHTML}

	Formats = []Format{JUnit, JSON, Markdown, HTML}
)

// Files are the names Write gives a report called name in formats (all
// of them when none is given).
func Files(name string, formats ...Format) []string {
	var out []string
	for _, f := range orAll(formats) {
		out = append(out, name+f.Ext)
	}
	return out
}

func orAll(formats []Format) []Format {
	if len(formats) == 0 {
		return Formats
	}
	return formats
}

// Write renders r into dir as name + each format's extension (every format
// when none is given) and returns the paths written.
func Write(dir, name string, r *Report, formats ...Format) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range orAll(formats) {
		var b bytes.Buffer
		if err := f.write(&b, r); err != nil {
			return paths, fmt.Errorf("%s%s: %w", name, f.Ext, err)
		}
		path := filepath.Join(dir, name+f.Ext)
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// jsonDoc is the JSON format: the report with its schema, summary and verdict.
type jsonDoc struct {
	Schema  string  `json:"schema"`
	OK      bool    `json:"ok"`
	Summary Summary `json:"summary"`
	*Report
}

// reportSchema is the "schema" of the JSON format.
var reportSchema = results.Spec{Kind: results.KindReport, Version: results.ReportVersion}.String()

func writeJSON(b *bytes.Buffer, r *Report) error {
	enc := json.NewEncoder(b)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonDoc{Schema: reportSchema, OK: r.OK(), Summary: r.Summary(), Report: r})
}

// ms formats milliseconds for people: 3 significant digits.
func ms(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
