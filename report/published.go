package report

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/cnigate/cnigate/results"
)

// The published conformance report (docs/conformance/README.md, `cnigate
// publish`): per plugin a clauses x spec versions table, every failed spec
// with what it saw and the clause it rests on, and what its profile skipped
// and why. The suite (package conformance) owns the clauses and the
// known-failures lists; this renders what it is given.

// Published is what the published report shows.
type Published struct {
	// Header is the Markdown above the summary.
	Header string
	Runs   []PublishedRun
	// Clauses are the labels specs rest on, in the order of the last table:
	// the SPEC's clauses, then the conventions.
	Clauses []Clause
	// Brief shortens a known failure's reason for the summary in brief
	// (the suite drops its "intermittent:" marker); nil keeps it whole.
	Brief func(why string) string
}

// PublishedRun is one plugin's run, or why it did not run.
type PublishedRun struct {
	results.Conformance
	// Known is its known-failures list, spec text -> why, if any.
	Known map[string]string
}

// Clause is a label specs carry: a CNI SPEC rule ("spec:..."), or a
// convention ("convention:...") where the SPEC is silent.
type Clause struct {
	Label string
	// Version and Section locate a SPEC rule; empty for a convention.
	Version, Section string
	// Rule says what the label asserts.
	Rule       string
	Convention bool
}

// publishedOnce is the column of specs that run once, at the newest version.
const publishedOnce = "once"

// claimedVersions finds what the BeforeSuite says the plugin's VERSION claims.
var claimedVersions = regexp.MustCompile(`versions \[([^\]]*)\]`)

// publishedVersion is the cniVersion a spec ran at, else publishedOnce.
func publishedVersion(s types.SpecReport) string {
	if _, ver, _ := specKey(s); ver != AnyVersion {
		return ver
	}
	return publishedOnce
}

// grounds are the clause and convention labels of a spec ("other" if none).
func grounds(s types.SpecReport) []string {
	var out []string
	for _, l := range s.Labels() {
		if strings.HasPrefix(l, "spec:") || strings.HasPrefix(l, "convention:") {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		out = []string{"other"}
	}
	return out
}

type tally struct{ passed, failed, skipped int }

func (t tally) String() string {
	switch {
	case t.passed+t.failed == 0 && t.skipped > 0:
		return fmt.Sprintf("skipped (%d)", t.skipped)
	case t.passed+t.failed == 0:
		return ""
	case t.failed == 0:
		return fmt.Sprintf("✅ %d/%d", t.passed, t.passed)
	}
	return fmt.Sprintf("❌ %d/%d", t.passed, t.passed+t.failed)
}

// WritePublished writes the published conformance report (Markdown).
func WritePublished(w io.Writer, p Published) error {
	var b strings.Builder
	b.WriteString(p.Header)
	b.WriteString("\n## Summary\n\n| plugin | specs run | passed | failed | skipped by the profile | run time |\n|---|---:|---:|---:|---:|---:|\n")
	for _, r := range p.Runs {
		if r.NotRun != "" {
			fmt.Fprintf(&b, "| [%s](#%s) | not run on this machine | | | | |\n", r.Plugin, r.Plugin)
			continue
		}
		var t tally
		var secs float64
		for _, s := range r.Specs() {
			if s.LeafNodeType != types.NodeTypeIt {
				continue
			}
			secs += s.RunTime.Seconds()
			switch {
			case s.State == types.SpecStatePassed:
				t.passed++
			case s.State.Is(types.SpecStateFailureStates):
				t.failed++
			case s.State == types.SpecStateSkipped && strings.HasPrefix(s.Failure.Message, "profile:"):
				t.skipped++
			}
		}
		fmt.Fprintf(&b, "| [%s](#%s) | %d | %d | %d | %d | %.0f s |\n", r.Plugin, r.Plugin, t.passed+t.failed, t.passed, t.failed, t.skipped, secs)
	}
	clauses := map[string]Clause{}
	for _, c := range p.Clauses {
		clauses[c.Label] = c
	}
	brief := p.Brief
	if brief == nil {
		brief = func(why string) string { return why }
	}
	scrub := pathScrubber(p.Runs)
	for _, r := range p.Runs {
		writePublishedRun(&b, r, clauses, brief, scrub)
	}
	b.WriteString("\n## The clauses\n\nEvery generic spec carries the label of the CNI SPEC rule it rests on (`spec:...`), or `convention:...` where the SPEC is silent and the suite asserts what runtimes rely on (a profile may opt out of a convention, saying why).\n\n| label | SPEC version | SPEC section | rule |\n|---|---|---|---|\n")
	for _, c := range p.Clauses {
		if c.Convention {
			fmt.Fprintf(&b, "| `%s` | — | (silent) | %s |\n", c.Label, c.Rule)
		} else {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", c.Label, c.Version, c.Section, c.Rule)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// runTable is one plugin's run laid out as clauses x spec versions, with its
// failures and what its profile skipped: what the Markdown and the HTML page
// both show.
type runTable struct {
	cols     []string // spec versions ascending, then publishedOnce
	rows     []string // clauses, then conventions
	cells    map[string]map[string]*tally
	total    tally // every spec that ran (or the profile skipped)
	failures []types.SpecReport
	skips    map[string]int // profile skip reason -> specs
	claims   string         // what VERSION claims, per the BeforeSuite ("" if unknown)
}

func tableOf(r PublishedRun) runTable {
	versions := map[string]bool{}
	t := runTable{cells: map[string]map[string]*tally{}, skips: map[string]int{}}
	for _, s := range r.Specs() {
		if m := claimedVersions.FindStringSubmatch(s.CapturedGinkgoWriterOutput); s.LeafNodeType == types.NodeTypeBeforeSuite && m != nil {
			t.claims = strings.ReplaceAll(m[1], " ", ", ")
		}
		if s.LeafNodeType != types.NodeTypeIt {
			if s.State.Is(types.SpecStateFailureStates) {
				t.failures = append(t.failures, s)
			}
			continue
		}
		if s.State == types.SpecStateSkipped && !strings.HasPrefix(s.Failure.Message, "profile:") {
			continue // filtered out by labels, not run
		}
		v := publishedVersion(s)
		versions[v] = true
		for _, g := range grounds(s) {
			if t.cells[g] == nil {
				t.cells[g] = map[string]*tally{}
			}
			if t.cells[g][v] == nil {
				t.cells[g][v] = &tally{}
			}
			t.cells[g][v].add(s)
		}
		t.total.add(s)
		if s.State.Is(types.SpecStateFailureStates) {
			t.failures = append(t.failures, s)
		}
		if s.State == types.SpecStateSkipped {
			t.skips[s.Failure.Message]++
		}
	}
	for v := range versions {
		if v != publishedOnce {
			t.cols = append(t.cols, v)
		}
	}
	slices.SortFunc(t.cols, compareVersions)
	if versions[publishedOnce] {
		t.cols = append(t.cols, publishedOnce)
	}
	t.rows = slices.Collect(maps.Keys(t.cells))
	slices.SortFunc(t.rows, func(a, b string) int {
		isConvention := func(g string) int {
			if strings.HasPrefix(g, "convention:") {
				return 1
			}
			return 0
		}
		return cmp.Or(cmp.Compare(isConvention(a), isConvention(b)), cmp.Compare(a, b))
	})
	return t
}

// add counts a spec that ran (or that the profile skipped).
func (t *tally) add(s types.SpecReport) {
	switch {
	case s.State == types.SpecStatePassed:
		t.passed++
	case s.State.Is(types.SpecStateFailureStates):
		t.failed++
	default:
		t.skipped++
	}
}

// clauseTotal adds up a clause's cells over every version.
func (t runTable) clauseTotal(g string) tally {
	var sum tally
	for _, c := range t.cells[g] {
		sum.passed += c.passed
		sum.failed += c.failed
		sum.skipped += c.skipped
	}
	return sum
}

// failureText is how a known-failures list names a failed spec.
func failureText(s types.SpecReport) string {
	text := s.FullText()
	if s.LeafNodeType != types.NodeTypeIt {
		text = "[" + s.LeafNodeType.String() + "] " + text
	}
	return text
}

func writePublishedRun(b *strings.Builder, r PublishedRun, clauses map[string]Clause, brief func(string) string, scrub func(string) string) {
	if r.NotRun != "" {
		fmt.Fprintf(b, "\n## %s\n\nNot run: %s. Its profile and netconf are in `conformance/testdata/`; run `make conformance-upstream` on a kernel that has it.\n", r.Plugin, r.NotRun)
		return
	}
	t := tableOf(r)
	cols, rows, cells, failures, skips := t.cols, t.rows, t.cells, t.failures, t.skips
	fmt.Fprintf(b, "\n## %s\n\n", r.Plugin)
	if t.claims != "" {
		fmt.Fprintf(b, "VERSION claims %s.\n\n", t.claims)
	}
	fmt.Fprintf(b, "| clause \\ cniVersion | %s |\n|---|%s\n", strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
	for _, g := range rows {
		line := make([]string, len(cols))
		for i, v := range cols {
			if t := cells[g][v]; t != nil {
				line[i] = t.String()
			}
		}
		fmt.Fprintf(b, "| `%s` | %s |\n", g, strings.Join(line, " | "))
	}
	if len(failures) == 0 {
		b.WriteString("\nEvery spec that ran passed.\n")
	} else {
		// In brief: each distinct reason once, with how many failed specs it explains.
		why := map[string]int{}
		var order []string
		for _, s := range failures {
			reason, ok := r.Known[s.FullText()]
			if !ok {
				reason = "not in the known-failures list (see below)"
			}
			reason = brief(reason)
			if why[reason] == 0 {
				order = append(order, reason)
			}
			why[reason]++
		}
		fmt.Fprintf(b, "\n**%s fails %d specs.** Why, in brief:\n\n", r.Plugin, len(failures))
		for _, reason := range order {
			fmt.Fprintf(b, "- %d × %s\n", why[reason], reason)
		}
		fmt.Fprintf(b, "\nThe %d failed specs:\n\n", len(failures))
		for _, s := range failures {
			text := failureText(s)
			fmt.Fprintf(b, "- **%s**", text)
			if v := publishedVersion(s); v != publishedOnce {
				fmt.Fprintf(b, " (cniVersion %s)", v)
			}
			b.WriteString("\n")
			for _, g := range grounds(s) {
				if c, ok := clauses[g]; ok && !c.Convention {
					fmt.Fprintf(b, "  - rests on `%s` (SPEC %s, %s): %s\n", g, c.Version, c.Section, c.Rule)
				} else if ok {
					fmt.Fprintf(b, "  - asserts `%s` (the SPEC is silent): %s\n", g, c.Rule)
				}
			}
			if why, ok := r.Known[text]; ok {
				fmt.Fprintf(b, "  - why: %s\n", why)
			}
			msg := scrub(strings.TrimSpace(s.Failure.Message))
			if lines := strings.Split(msg, "\n"); len(lines) > 8 {
				msg = strings.Join(lines[:8], "\n") + "\n..."
			}
			fmt.Fprintf(b, "  - saw (%s):\n\n    ```\n    %s\n    ```\n", sourceLocation(s.Failure.Location), strings.ReplaceAll(msg, "\n", "\n    "))
		}
	}
	if len(skips) > 0 {
		b.WriteString("\nSkipped by the profile:\n\n")
		for _, reason := range slices.Sorted(maps.Keys(skips)) {
			fmt.Fprintf(b, "- %d × %s\n", skips[reason], reason)
		}
	}
}
