package xfail

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
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
