package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Result of one case.
type Result string

// Case results.
const (
	Pass Result = "pass"
	Fail Result = "fail"
	Skip Result = "skip"
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
}

// Fact is one name: value line of a report's context.
type Fact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Case is one check.
type Case struct {
	// Suite groups cases (a behaviour, a Describe, a contender).
	Suite   string  `json:"suite"`
	Name    string  `json:"name"`
	Result  Result  `json:"result"`
	Seconds float64 `json:"seconds"`
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
		case Pass:
			s.Passed++
		case Fail:
			s.Failed++
		default:
			s.Skipped++
		}
	}
	return s
}

// OK is true when no case failed.
func (r *Report) OK() bool { return r.Summary().Failed == 0 }

// Files are the names Write gives the four formats of a report called name.
func Files(name string) []string {
	return []string{name + ".junit.xml", name + ".report.json", name + ".md", name + ".html"}
}

// Write renders r in every format into dir as Files(name) and returns their
// paths.
func Write(dir, name string, r *Report) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	renderers := []func(*bytes.Buffer, *Report) error{writeJUnit, writeJSON, writeMarkdown, writeHTML}
	var paths []string
	for i, file := range Files(name) {
		var b bytes.Buffer
		if err := renderers[i](&b, r); err != nil {
			return paths, fmt.Errorf("%s: %w", file, err)
		}
		path := filepath.Join(dir, file)
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// jsonDoc is the JSON format: the report with its summary and verdict.
type jsonDoc struct {
	OK      bool    `json:"ok"`
	Summary Summary `json:"summary"`
	*Report
}

func writeJSON(b *bytes.Buffer, r *Report) error {
	enc := json.NewEncoder(b)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonDoc{OK: r.OK(), Summary: r.Summary(), Report: r})
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
