package results

import (
	"fmt"
	"strings"
	"time"
)

// Coverage is what a matrix run checked of what it had to check (v2): a run
// whose external-host cells skipped checked less than one where they ran,
// and must not read the same.
type Coverage struct {
	// Require is what had to run: the --require value, or the mode's default.
	Require string `json:"require"`
	// Enforced: a required behaviour that skipped fails the run (an explicit
	// --require, and the default on a kind cluster the harness made).
	Enforced bool `json:"enforced"`
	// Full: every cell of every required behaviour ran (pass or fail) and
	// setup did not stop the run.
	Full bool `json:"full"`
	// Skipped is each behaviour with skipped cells, in matrix order.
	Skipped []Gap `json:"skipped,omitempty"`
}

// Gap is one behaviour's skipped cells.
type Gap struct {
	Behaviour string `json:"behaviour"`
	Cells     int    `json:"cells"`
	Required  bool   `json:"required"`
	// Reason is the first skipped cell's reason.
	Reason string `json:"reason"`
}

// NewCoverage tallies m's skipped cells by behaviour and reason; required
// says which skipped cells had to run (a behaviour may be required in one
// family and impossible in the other).
func NewCoverage(m *Matrix, require string, enforced bool, required func(behaviour, reason string) bool) *Coverage {
	c := &Coverage{Require: require, Enforced: enforced, Full: m.RunError == ""}
	idx := map[string]int{}
	for _, cell := range m.Cells {
		if cell.Result != Skip {
			continue
		}
		key := cell.Behaviour + "\x00" + cell.Detail
		i, ok := idx[key]
		if !ok {
			i = len(c.Skipped)
			idx[key] = i
			c.Skipped = append(c.Skipped, Gap{Behaviour: cell.Behaviour, Required: required(cell.Behaviour, cell.Detail), Reason: cell.Detail})
		}
		c.Skipped[i].Cells++
		if c.Skipped[i].Required {
			c.Full = false
		}
	}
	return c
}

// Missing are the required behaviours that skipped.
func (c *Coverage) Missing() []Gap {
	var out []Gap
	for _, g := range c.Skipped {
		if g.Required {
			out = append(out, g)
		}
	}
	return out
}

// Summary is the verdict's coverage line: "N passed, F failed, M skipped:
// NOT a full gate (...)" unless every required behaviour ran.
func (c *Coverage) Summary(m *Matrix) string {
	head := fmt.Sprintf("%d passed, %d failed, %d skipped", m.Passed, m.Failed, m.Skipped)
	if c.Full {
		line := head + ": full coverage (every required behaviour ran; required: " + c.Require
		if n := len(c.Skipped); n > 0 {
			line += fmt.Sprintf("; %d behaviours not required skipped, e.g. %s: %s", n, c.Skipped[0].Behaviour, c.Skipped[0].Reason)
		}
		return line + ")"
	}
	var why []string
	if m.RunError != "" {
		why = append(why, "the run stopped early: "+m.RunError)
	}
	// one clause per reason: the external host's absence skips three behaviours
	var reasons []string
	byReason := map[string][]Gap{}
	for _, g := range c.Missing() {
		if _, ok := byReason[g.Reason]; !ok {
			reasons = append(reasons, g.Reason)
		}
		byReason[g.Reason] = append(byReason[g.Reason], g)
	}
	for _, r := range reasons {
		var names []string
		cells := 0
		for _, g := range byReason[r] {
			names = append(names, g.Behaviour)
			cells += g.Cells
		}
		why = append(why, fmt.Sprintf("%s: %d cells skipped (%s)", strings.Join(names, ", "), cells, r))
	}
	return head + ": NOT a full gate (required: " + c.Require + "; " + strings.Join(why, "; ") + ")"
}

// Record is the run's record (v2): when, with which versions, on which
// nodes with which CNI configuration.
type Record struct {
	Start time.Time `json:"start"` // UTC
	End   time.Time `json:"end"`   // UTC
	// Cnigate is the version of the cnigate that ran the matrix.
	Cnigate string `json:"cnigate"`
	// Kubernetes is the API server's version (GitVersion).
	Kubernetes string `json:"kubernetes"`
	// Access is how the cluster was reached: a kubeconfig file and context,
	// in-cluster, or the kind cluster the harness made.
	Access string `json:"access"`
	// Families are the address families the matrix ran, one pass each.
	Families []string     `json:"families"`
	Nodes    []NodeRecord `json:"nodes"`
}

// NodeRecord is one node as the run found it.
type NodeRecord struct {
	Name     string   `json:"name"`
	Kubelet  string   `json:"kubelet"`
	Runtime  string   `json:"runtime"`
	Kernel   string   `json:"kernel"`
	OSImage  string   `json:"os_image"`
	PodCIDRs []string `json:"pod_cidrs"`
	// CNIConf is the network configuration the node's runtime uses (the
	// first file of its conf dir), nil when it was not read.
	CNIConf *CNIConf `json:"cni_conf,omitempty"`
}

// CNIConf identifies a node's network configuration.
type CNIConf struct {
	File      string `json:"file,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
	FirstType string `json:"first_type,omitempty"`
	// Error is why the conf was not identified.
	Error string `json:"error,omitempty"`
}
