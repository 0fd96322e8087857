//go:build podnet_defects

package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/cnigate/cnigate/plugin/rules"
)

// A podnet_defects build (never a release) reads the defect the agent of the
// same build selected from <dataDir>/agent/defect: "no-masquerade" makes
// podnet install (and STATUS expect) no MASQUERADE rule.
func init() {
	defects.filterRules = func(n *NetConf, rs []rule) []rule {
		b, err := os.ReadFile(filepath.Join(rules.AgentDir(n.DataDir), rules.DefectFile))
		if err != nil || strings.TrimSpace(string(b)) != "no-masquerade" {
			return rs
		}
		var kept []rule
		for _, r := range rs {
			if !r.IsMasquerade() {
				kept = append(kept, r)
			}
		}
		return kept
	}
}
