package xfail

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

func spec(text string, state types.SpecState) types.SpecReport {
	return types.SpecReport{ContainerHierarchyTexts: []string{"suite"}, LeafNodeText: text, LeafNodeType: types.NodeTypeIt, State: state}
}

func TestDecide(t *testing.T) {
	const known = "# comment\n\nsuite a | upstream does not roll back\nsuite c | intermittent: depends on where the kill lands\n"
	passed, failed, skipped := types.SpecStatePassed, types.SpecStateFailed, types.SpecStateSkipped
	tests := []struct {
		name   string
		specs  []types.SpecReport
		wantOK bool
	}{
		{"exactly the known failure", []types.SpecReport{spec("a", failed), spec("b", passed), spec("c", passed)}, true},
		{"the intermittent one fails too", []types.SpecReport{spec("a", failed), spec("b", passed), spec("c", failed)}, true},
		{"the intermittent one did not run", []types.SpecReport{spec("a", failed), spec("b", passed), spec("c", skipped)}, false},
		{"a new failure", []types.SpecReport{spec("a", failed), spec("b", failed), spec("c", passed)}, false},
		{"the known failure passes", []types.SpecReport{spec("a", passed), spec("b", passed), spec("c", passed)}, false},
		{"the known failure did not run", []types.SpecReport{spec("a", skipped), spec("b", passed), spec("c", passed)}, false},
		{"the known failure panics (still a failure)", []types.SpecReport{spec("a", types.SpecStatePanicked), spec("b", passed), spec("c", passed)}, true},
		{"an AfterSuite failure is never known", []types.SpecReport{spec("a", failed), spec("b", passed), spec("c", passed),
			{LeafNodeType: types.NodeTypeAfterSuite, State: failed}}, false},
		{"nothing ran", []types.SpecReport{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			knownPath := filepath.Join(dir, "known")
			reportPath := filepath.Join(dir, "report.json")
			if err := os.WriteFile(knownPath, []byte(known), 0o600); err != nil {
				t.Fatal(err)
			}
			data, err := json.Marshal([]types.Report{{SpecReports: tt.specs}})
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(reportPath, data, 0o600); err != nil {
				t.Fatal(err)
			}
			ok, err := DecideFiles(reportPath, knownPath, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK {
				t.Errorf("DecideFiles = %v, want %v", ok, tt.wantOK)
			}
		})
	}
}

func TestReadKnownRejectsALineWithoutReason(t *testing.T) {
	path := filepath.Join(t.TempDir(), "known")
	if err := os.WriteFile(path, []byte("suite a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readKnown(path); err == nil {
		t.Fatal("a line without a reason was accepted")
	}
}

// TestJudgeReports: with an empty list (the Kubernetes stage's today) only
// the spec count and the suite keep a broken run from passing: nothing ran,
// only skips, a suite-level failure, an exit no failed spec explains.
func TestJudgeReports(t *testing.T) {
	passed, failed, skipped := types.SpecStatePassed, types.SpecStateFailed, types.SpecStateSkipped
	exit1 := errors.New("exit status 1")
	for _, tc := range []struct {
		name    string
		known   string
		reports []types.Report
		exitErr error
		wantOK  bool
		wantNew string
	}{
		{"all passed", "", []types.Report{{SpecReports: []types.SpecReport{spec("a", passed), spec("b", passed)}}}, nil, true, ""},
		{"nothing ran, empty list", "", []types.Report{{}}, nil, false, ""},
		{"only skipped, empty list", "", []types.Report{{SpecReports: []types.SpecReport{spec("a", skipped)}}}, nil, false, ""},
		{"a parallel process lost", "", []types.Report{{SpecReports: []types.SpecReport{spec("a", passed)},
			SpecialSuiteFailureReasons: []string{"Failed to iterate over specs"}}}, exit1, false, "[suite] Failed to iterate over specs"},
		{"exit 1 though every spec passed", "", []types.Report{{SpecReports: []types.SpecReport{spec("a", passed)}}}, exit1, false, "[suite] exited with exit status 1"},
		{"exit 1 explained by the known failure", "suite a | known\n", []types.Report{{SpecReports: []types.SpecReport{spec("a", failed), spec("b", passed)}}}, exit1, true, ""},
		{"a timeout on the known failure", "suite a | known\n", []types.Report{{SpecReports: []types.SpecReport{spec("a", failed), spec("b", skipped)},
			SpecialSuiteFailureReasons: []string{"Interrupted by Timeout"}}}, exit1, false, "[suite] Interrupted by Timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := JudgeReports(tc.reports, tc.exitErr, []byte(tc.known), "list", io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if v.OK != tc.wantOK {
				t.Errorf("OK = %v, want %v (%+v)", v.OK, tc.wantOK, v)
			}
			if tc.wantNew != "" && !slices.ContainsFunc(v.NewFailures, func(f string) bool { return strings.HasPrefix(f, tc.wantNew) }) {
				t.Errorf("NewFailures = %q, want one starting %q", v.NewFailures, tc.wantNew)
			}
		})
	}
}
