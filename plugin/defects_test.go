package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cnigate/cnigate/plugin/rules"
)

// TestDefectSelection: the no-masquerade defect the agent selects (file
// <dataDir>/agent/defect; PODNET_DEFECT set too, as in the agent's
// container) removes podnet's MASQUERADE rules in a podnet_defects build
// only: the default build installs and checks every rule whatever the node
// says.
func TestDefectSelection(t *testing.T) {
	c := newTestConf(t)
	dir := rules.AgentDir(c.dataDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, rules.DefectFile), []byte("no-masquerade\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PODNET_DEFECT", "no-masquerade")
	masquerades := 0
	for _, r := range masqueradeRules(mustConf(c)) {
		if r.IsMasquerade() {
			masquerades++
		}
	}
	want := 1
	if defectsBuild {
		want = 0
	}
	if masquerades != want {
		t.Fatalf("defects build %v: %d MASQUERADE rules, want %d", defectsBuild, masquerades, want)
	}
}
