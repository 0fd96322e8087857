package conformance

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
)

// PublishedRun is one plugin's run for the published report.
type PublishedRun struct {
	// Plugin names it (bridge, ptp, podnet, ...).
	Plugin string
	// Reports is the run's Ginkgo JSON report.
	Reports []types.Report
	// Known is its known-failures list (spec text -> why), if any.
	Known []byte
	// NotRun says why the host could not run the plugin (no Reports then).
	NotRun string
}

// Specs are the run's specs.
func (r PublishedRun) Specs() []types.SpecReport {
	var specs []types.SpecReport
	for _, rep := range r.Reports {
		specs = append(specs, rep.SpecReports...)
	}
	return specs
}

var versionContext = regexp.MustCompile(`^cniVersion (\d+\.\d+\.\d+)$`)
var versionLabel = regexp.MustCompile(`^cniVersion:(\d+\.\d+\.\d+)$`)

// claimedVersions finds what the BeforeSuite says the plugin's VERSION claims.
var claimedVersions = regexp.MustCompile(`versions \[([^\]]*)\]`)

// anyVersion is the column of specs that run once, at the newest version.
const anyVersion = "once"

// specVersion is the cniVersion a spec ran at: its "cniVersion X" context
// or "cniVersion:X" label, else anyVersion.
func specVersion(s types.SpecReport) string {
	for _, t := range s.ContainerHierarchyTexts {
		if m := versionContext.FindStringSubmatch(t); m != nil {
			return m[1]
		}
	}
	for _, l := range s.Labels() {
		if m := versionLabel.FindStringSubmatch(l); m != nil {
			return m[1]
		}
	}
	return anyVersion
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

// WritePublished writes the published conformance report (Markdown): per
// plugin a clauses x spec versions table, every failed spec with what it saw
// and the clause it rests on, and what the profile skipped and why.
func WritePublished(w io.Writer, runs []PublishedRun, header string) error {
	var b strings.Builder
	b.WriteString(header)
	b.WriteString("\n## Summary\n\n| plugin | specs run | passed | failed | skipped by the profile | run time |\n|---|---:|---:|---:|---:|---:|\n")
	for _, r := range runs {
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
	for _, r := range runs {
		writePublishedRun(&b, r)
	}
	b.WriteString("\n## The clauses\n\nEvery generic spec carries the label of the CNI SPEC rule it rests on (`spec:...`), or `convention:...` where the SPEC is silent and the suite asserts what runtimes rely on (a profile may opt out of a convention, saying why).\n\n| label | SPEC version | SPEC section | rule |\n|---|---|---|---|\n")
	for _, k := range slices.Sorted(maps.Keys(Clauses)) {
		c := Clauses[k]
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k, c.Version, c.Section, c.Rule)
	}
	for _, c := range conventions {
		fmt.Fprintf(&b, "| `%s` | — | (silent) | %s |\n", c, conventionText[c])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writePublishedRun(b *strings.Builder, r PublishedRun) {
	if r.NotRun != "" {
		fmt.Fprintf(b, "\n## %s\n\nNot run: %s. Its profile and netconf are in `conformance/testdata/`; run `make conformance-upstream` on a kernel that has it.\n", r.Plugin, r.NotRun)
		return
	}
	specs := r.Specs()
	known, _ := parseKnown(r.Known, r.Plugin)
	versions := map[string]bool{}
	cells := map[string]map[string]*tally{}
	skips := map[string]int{}
	var failures []types.SpecReport
	for _, s := range specs {
		if s.LeafNodeType != types.NodeTypeIt {
			if s.State.Is(types.SpecStateFailureStates) {
				failures = append(failures, s)
			}
			continue
		}
		if s.State == types.SpecStateSkipped && !strings.HasPrefix(s.Failure.Message, "profile:") {
			continue // filtered out by labels, not run
		}
		v := specVersion(s)
		versions[v] = true
		for _, g := range grounds(s) {
			if cells[g] == nil {
				cells[g] = map[string]*tally{}
			}
			if cells[g][v] == nil {
				cells[g][v] = &tally{}
			}
			t := cells[g][v]
			switch {
			case s.State == types.SpecStatePassed:
				t.passed++
			case s.State.Is(types.SpecStateFailureStates):
				t.failed++
			default:
				t.skipped++
			}
		}
		if s.State.Is(types.SpecStateFailureStates) {
			failures = append(failures, s)
		}
		if s.State == types.SpecStateSkipped {
			skips[s.Failure.Message]++
		}
	}
	cols := make([]string, 0, len(versions))
	for v := range versions {
		if v != anyVersion {
			cols = append(cols, v)
		}
	}
	slices.SortFunc(cols, compareSemver)
	if versions[anyVersion] {
		cols = append(cols, anyVersion)
	}
	rows := slices.Collect(maps.Keys(cells))
	slices.SortFunc(rows, func(a, b string) int {
		isConvention := func(g string) int {
			if strings.HasPrefix(g, "convention:") {
				return 1
			}
			return 0
		}
		return cmp.Or(cmp.Compare(isConvention(a), isConvention(b)), cmp.Compare(a, b))
	})
	fmt.Fprintf(b, "\n## %s\n\n", r.Plugin)
	for _, rep := range r.Reports {
		for _, s := range rep.SpecReports {
			if m := claimedVersions.FindStringSubmatch(s.CapturedGinkgoWriterOutput); s.LeafNodeType == types.NodeTypeBeforeSuite && m != nil {
				fmt.Fprintf(b, "VERSION claims %s.\n\n", strings.ReplaceAll(m[1], " ", ", "))
			}
		}
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
			reason, ok := known[s.FullText()]
			if !ok {
				reason = "not in the known-failures list (see below)"
			}
			reason = strings.TrimPrefix(reason, intermittent+" ")
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
			text := s.FullText()
			if s.LeafNodeType != types.NodeTypeIt {
				text = "[" + s.LeafNodeType.String() + "] " + text
			}
			fmt.Fprintf(b, "- **%s**", text)
			if v := specVersion(s); v != anyVersion {
				fmt.Fprintf(b, " (cniVersion %s)", v)
			}
			b.WriteString("\n")
			for _, g := range grounds(s) {
				if c, ok := Clauses[g]; ok {
					fmt.Fprintf(b, "  - rests on `%s` (SPEC %s, %s): %s\n", g, c.Version, c.Section, c.Rule)
				} else if t, ok := conventionText[g]; ok {
					fmt.Fprintf(b, "  - asserts `%s` (the SPEC is silent): %s\n", g, t)
				}
			}
			if why, ok := known[text]; ok {
				fmt.Fprintf(b, "  - why: %s\n", why)
			}
			msg := strings.TrimSpace(s.Failure.Message)
			if lines := strings.Split(msg, "\n"); len(lines) > 8 {
				msg = strings.Join(lines[:8], "\n") + "\n..."
			}
			fmt.Fprintf(b, "  - saw (%s):\n\n    ```\n    %s\n    ```\n", s.Failure.Location.String(), strings.ReplaceAll(msg, "\n", "\n    "))
		}
	}
	if len(skips) > 0 {
		b.WriteString("\nSkipped by the profile:\n\n")
		for _, reason := range slices.Sorted(maps.Keys(skips)) {
			fmt.Fprintf(b, "- %d × %s\n", skips[reason], reason)
		}
	}
}

func compareSemver(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range min(len(pa), len(pb)) {
		var x, y int
		_, _ = fmt.Sscan(pa[i], &x)
		_, _ = fmt.Sscan(pb[i], &y)
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(pa), len(pb))
}
