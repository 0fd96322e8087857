package report

import (
	"cmp"
	"regexp"
	"slices"
	"strings"

	"github.com/containernetworking/cni/pkg/version"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/cnigate/cnigate/results"
)

// AnyVersion is the column of specs that run once, not per spec version.
const AnyVersion = "any"

// ConformanceView is the suite as specs x spec versions.
type ConformanceView struct {
	// Versions are the columns: every cniVersion a spec ran at, ascending,
	// then AnyVersion when some specs are not per version.
	Versions []string         `json:"versions"`
	Rows     []ConformanceRow `json:"rows"`
	// Failures are the failed specs and suite nodes, in full.
	Failures []ConformanceFailure `json:"failures,omitempty"`
}

// ConformanceRow is one spec across the versions.
type ConformanceRow struct {
	Spec   string   `json:"spec"`
	Labels []string `json:"labels,omitempty"`
	// Cells has one entry per Versions column; State "" when the spec does
	// not run at that version.
	Cells []ConformanceCell `json:"cells"`

	file string
	line int
}

// ConformanceCell is one spec at one version.
type ConformanceCell struct {
	State   string  `json:"state,omitempty"` // Ginkgo's: passed, failed, skipped, pending, panicked, ...
	Seconds float64 `json:"seconds,omitempty"`
	Message string  `json:"message,omitempty"`
}

// ConformanceFailure is one failed spec, expanded.
type ConformanceFailure struct {
	Spec     string `json:"spec"`
	Version  string `json:"version"`
	State    string `json:"state"`
	Message  string `json:"message"`
	Location string `json:"location"`
	Output   string `json:"output,omitempty"` // the tail of what the spec wrote to GinkgoWriter
}

// cniVersionRE finds the spec version in a container whose whole text is
// "cniVersion 1.0.0" (the netns suite's per-version contexts) or in a label
// "cniVersion:1.0.0".
var cniVersionRE = regexp.MustCompile(`cniVersion[ :=]v?(\d+\.\d+\.\d+)`)

// FromConformance turns a conformance run (its Ginkgo suite reports) into a
// report.
func FromConformance(run *results.Conformance) *Report {
	reports := run.Reports
	r := &Report{Kind: "conformance", Title: "cnigate conformance: " + reports[0].SuiteDescription}
	v := &ConformanceView{}
	rows := map[string]*ConformanceRow{}
	cells := map[string]map[string]ConformanceCell{}
	versions := map[string]bool{}
	for _, rep := range reports {
		r.Facts = append(r.Facts, suiteFacts(rep)...)
		for _, s := range rep.SpecReports {
			key, ver, labels := specKey(s)
			state := s.State.String()
			secs := s.RunTime.Seconds()
			kase := Case{Suite: firstOr(s.ContainerHierarchyTexts, "suite"), Name: fullText(s), Seconds: secs}
			switch {
			case s.State == types.SpecStatePassed:
				kase.Result = results.Pass
			case s.State.Is(types.SpecStateFailureStates):
				kase.Result, kase.Detail = results.Fail, s.Failure.Message
			default:
				kase.Result, kase.Detail = results.Skip, cmp.Or(s.Failure.Message, state)
			}
			if s.LeafNodeType != types.NodeTypeIt {
				// BeforeSuite, AfterSuite, ...: a case, and in the grid only when it failed.
				kase.Name = s.LeafNodeType.String()
				if out := strings.TrimSpace(s.CapturedGinkgoWriterOutput); out != "" {
					// e.g. the netns suite's BeforeSuite names the plugin and its versions.
					line, _, _ := strings.Cut(out, "\n")
					r.Facts = append(r.Facts, Fact{kase.Name + " said", line})
				}
				if kase.Result != results.Fail {
					r.Cases = append(r.Cases, kase)
					continue
				}
				key = "[" + s.LeafNodeType.String() + "]"
			}
			r.Cases = append(r.Cases, kase)
			if _, ok := rows[key]; !ok {
				rows[key] = &ConformanceRow{Spec: key, Labels: labels, file: s.LeafNodeLocation.FileName, line: s.LeafNodeLocation.LineNumber}
				cells[key] = map[string]ConformanceCell{}
			}
			versions[ver] = true
			cells[key][ver] = ConformanceCell{State: state, Seconds: secs, Message: s.Failure.Message}
			if kase.Result == results.Fail {
				f := ConformanceFailure{Spec: key, Version: ver, State: state, Message: s.Failure.Message,
					Location: s.Failure.Location.String(), Output: tail(s.CapturedGinkgoWriterOutput, 4000)}
				if s.Failure.ForwardedPanic != "" {
					f.Message += "\npanic: " + s.Failure.ForwardedPanic
				}
				v.Failures = append(v.Failures, f)
			}
		}
	}
	for ver := range versions {
		if ver != AnyVersion {
			v.Versions = append(v.Versions, ver)
		}
	}
	slices.SortFunc(v.Versions, compareVersions)
	if versions[AnyVersion] {
		v.Versions = append(v.Versions, AnyVersion)
	}
	for key, row := range rows {
		for _, ver := range v.Versions {
			row.Cells = append(row.Cells, cells[key][ver])
		}
		v.Rows = append(v.Rows, *row)
	}
	slices.SortFunc(v.Rows, func(a, b ConformanceRow) int {
		return cmp.Or(cmp.Compare(a.file, b.file), cmp.Compare(a.line, b.line), cmp.Compare(a.Spec, b.Spec))
	})
	slices.SortStableFunc(v.Failures, func(a, b ConformanceFailure) int {
		return cmp.Or(cmp.Compare(a.Spec, b.Spec), compareVersions(a.Version, b.Version))
	})
	r.Conformance = v
	return r
}

func suiteFacts(rep types.Report) []Fact {
	verdict := "succeeded"
	if !rep.SuiteSucceeded {
		verdict = "FAILED"
		if len(rep.SpecialSuiteFailureReasons) > 0 {
			verdict += ": " + strings.Join(rep.SpecialSuiteFailureReasons, "; ")
		}
	}
	facts := []Fact{
		{"suite", rep.SuiteDescription + " (" + rep.SuitePath + ")"},
		{"started", rep.StartTime.UTC().Format("2006-01-02 15:04:05 MST")},
		{"run time", rep.RunTime.Round(1e8).String()},
		{"verdict", verdict},
	}
	if f := rep.SuiteConfig.LabelFilter; f != "" {
		facts = append(facts, Fact{"label filter", f})
	}
	if f := rep.SuiteConfig.FocusStrings; len(f) > 0 {
		facts = append(facts, Fact{"focus", strings.Join(f, " | ")})
	}
	return facts
}

// specKey is a spec's name without its version, the version it ran at
// (AnyVersion if none), and its labels without version labels.
func specKey(s types.SpecReport) (key, ver string, labels []string) {
	ver = AnyVersion
	var parts []string
	for _, t := range s.ContainerHierarchyTexts {
		if m := cniVersionRE.FindStringSubmatch(t); m != nil && strings.TrimSpace(cniVersionRE.ReplaceAllString(t, "")) == "" {
			ver = m[1]
			continue
		}
		parts = append(parts, t)
	}
	for _, l := range s.Labels() {
		if m := cniVersionRE.FindStringSubmatch(l); m != nil {
			ver = m[1]
			continue
		}
		labels = append(labels, l)
	}
	// A leaf's text may mention a version without running at it
	// ("unsupported cniVersion: code 1"), so only containers and labels say
	// which; a leaf that names the version it runs at ("... at cniVersion
	// 1.0.0") loses it, so that its versions share one row.
	leaf := s.LeafNodeText
	if ver != AnyVersion {
		leaf = strings.ReplaceAll(leaf, "cniVersion "+ver, "each cniVersion")
	}
	parts = append(parts, leaf)
	return strings.Join(parts, " / "), ver, labels
}

func fullText(s types.SpecReport) string {
	return strings.Join(append(slices.Clone(s.ContainerHierarchyTexts), s.LeafNodeText), " ")
}

func firstOr(xs []string, def string) string {
	if len(xs) == 0 {
		return def
	}
	return xs[0]
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

func compareVersions(a, b string) int {
	if a == b {
		return 0
	}
	if lt, err := version.GreaterThan(b, a); err == nil {
		if lt {
			return -1
		}
		return 1
	}
	return cmp.Compare(a, b)
}
