// Package xfail judges a Ginkgo run against a known-failures list: the one
// mechanism and schema for the netns suite's upstream plugins (conformance,
// cnigate conformance --known-failures) and the upstream Kubernetes
// conformance stage of the e2e (e2e/k8sconformance).
package xfail

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/cnigate/cnigate/results"
)

// Decide judges a run against a plugin known to fail some
// specs: it prints the known failures as a finding and is true only when
// the failures are exactly the list (no new failure, no listed spec that
// passed or did not run). The list (knownName, for messages) has one line
// per spec: its full Ginkgo text, " | ", and why it fails; blank lines and
// lines starting with # are comments.
func Decide(specs []types.SpecReport, known []byte, knownName string, out io.Writer) (bool, error) {
	v, err := JudgeReports([]types.Report{{SpecReports: specs}}, nil, known, knownName, out)
	return v.OK, err
}

// JudgeReports judges whole Ginkgo reports and the suite's exit as Decide
// judges specs, with the whole verdict (counts and the specs of each kind): a
// suite-level failure Ginkgo recorded (SpecialSuiteFailureReasons: a
// parallel process lost, the suite timed out or was interrupted) is a new
// failure, and so is a non-zero exit (exitErr) with no failed spec to
// explain it, since some specs then may never have reported.
func JudgeReports(reports []types.Report, exitErr error, known []byte, knownName string, out io.Writer) (results.KnownFailuresVerdict, error) {
	reasons, err := parseKnown(known, knownName)
	if err != nil {
		return results.KnownFailuresVerdict{List: knownName}, err
	}
	var specs []types.SpecReport
	var suite []string
	for _, r := range reports {
		specs = append(specs, r.SpecReports...)
		for _, why := range r.SpecialSuiteFailureReasons {
			suite = append(suite, "[suite] "+why)
		}
	}
	v := classify(specs, reasons)
	v.NewFailures = append(v.NewFailures, suite...)
	if exitErr != nil && len(v.NewFailures)+len(v.KnownFailed) == 0 {
		v.NewFailures = append(v.NewFailures, fmt.Sprintf("[suite] exited with %v though no spec failed: the run is incomplete", exitErr))
	}
	v.List = knownName
	v.OK = len(v.NewFailures)+len(v.NowPassing)+len(v.NotRun) == 0 && v.Ran > 0
	printOutcome(out, v, reasons)
	return v, nil
}

// intermittent starts the reason of a known failure that depends on timing
// (where a kill lands, how loaded the machine is): the spec may pass or fail
// that way, and either is as listed.
const intermittent = "intermittent:"

// BriefReason is a known failure's reason without its intermittent marker.
func BriefReason(why string) string { return strings.TrimPrefix(why, intermittent+" ") }

// Parse parses a known-failures list ("<spec text> | <reason>" lines) into
// spec text -> reason; name names the list in errors.
func Parse(data []byte, name string) (map[string]string, error) {
	return parseKnown(data, name)
}

// DecideFiles is Decide on a Ginkgo JSON report (reportPath, as
// --ginkgo.json-report writes it) and the list at knownPath.
func DecideFiles(reportPath, knownPath string, out io.Writer) (bool, error) {
	known, err := os.ReadFile(knownPath)
	if err != nil {
		return false, err
	}
	run, err := results.ReadConformance(reportPath)
	if err != nil {
		return false, err
	}
	return Decide(run.Specs(), known, knownPath, out)
}

// readKnown parses the list at path into spec text -> reason.
func readKnown(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseKnown(data, path)
}

// parseKnown parses a known-failures list into spec text -> reason.
func parseKnown(data []byte, name string) (map[string]string, error) {
	reasons := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		spec, reason, found := strings.Cut(line, " | ")
		spec, reason = strings.TrimSpace(spec), strings.TrimSpace(reason)
		if !found || spec == "" || reason == "" {
			return nil, fmt.Errorf("%s:%d: want \"<spec text> | <reason>\"", name, n)
		}
		if _, dup := reasons[spec]; dup {
			return nil, fmt.Errorf("%s:%d: %q listed twice", name, n, spec)
		}
		reasons[spec] = reason
	}
	return reasons, sc.Err()
}

func classify(specs []types.SpecReport, reasons map[string]string) results.KnownFailuresVerdict {
	var o results.KnownFailuresVerdict
	seen := map[string]bool{}
	for _, s := range specs {
		// Suite-level nodes (BeforeSuite, AfterSuite) count too: their failure is never known.
		name := s.FullText()
		if s.LeafNodeType != types.NodeTypeIt {
			name = "[" + s.LeafNodeType.String() + "] " + name
		}
		_, listed := reasons[name]
		switch {
		case s.State.Is(types.SpecStateFailureStates):
			seen[name] = true
			if listed {
				o.KnownFailed = append(o.KnownFailed, name)
			} else {
				o.NewFailures = append(o.NewFailures, fmt.Sprintf("%s (%s)", name, s.State))
			}
		case s.State == types.SpecStatePassed:
			seen[name] = true
			if s.LeafNodeType == types.NodeTypeIt {
				o.Passed++
			}
			if listed && !strings.HasPrefix(reasons[name], intermittent) {
				o.NowPassing = append(o.NowPassing, name)
			}
		}
		if s.LeafNodeType == types.NodeTypeIt && s.State != types.SpecStateSkipped && s.State != types.SpecStatePending {
			o.Ran++
		}
	}
	for name := range reasons {
		if !seen[name] {
			o.NotRun = append(o.NotRun, name)
		}
	}
	for _, l := range [][]string{o.KnownFailed, o.NewFailures, o.NowPassing, o.NotRun} {
		sort.Strings(l)
	}
	return o
}

func printOutcome(w io.Writer, o results.KnownFailuresVerdict, reasons map[string]string) {
	_, _ = fmt.Fprintln(w, o.Line())
	if len(o.KnownFailed) > 0 {
		_, _ = fmt.Fprintln(w, "FINDING: the plugin fails these specs (known, listed with the reason):")
		for _, name := range o.KnownFailed {
			_, _ = fmt.Fprintf(w, "  - %s\n      why: %s\n", name, reasons[name])
		}
	}
	section := func(title string, names []string) {
		if len(names) == 0 {
			return
		}
		_, _ = fmt.Fprintln(w, title)
		for _, n := range names {
			_, _ = fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	section("FAIL: new failures (not in the list):", o.NewFailures)
	section("FAIL: listed as known failures but passed (remove them from the list):", o.NowPassing)
	section("FAIL: listed as known failures but did not run (renamed? filtered out?):", o.NotRun)
}
