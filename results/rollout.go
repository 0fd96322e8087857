package results

import (
	"errors"
	"fmt"
	"time"
)

// KindRollout is the rollout gate's run (rollout.json), Rollout.
const KindRollout Kind = "rollout"

// Rollout is one run of the rollout gate (`cnigate rollout`): a DaemonSet
// switched node by node to a candidate image and back, under live traffic.
type Rollout struct {
	Schema    string    `json:"schema"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	Namespace string    `json:"namespace"` // the DaemonSet's
	DaemonSet string    `json:"daemonset"`
	Container string    `json:"container"`
	OldImage  string    `json:"old_image"`
	Candidate string    `json:"candidate"`
	// WatchOnly: the gate changed nothing; it watched the traffic through
	// someone else's rollout (--watch-only).
	WatchOnly  bool              `json:"watch_only,omitempty"`
	Thresholds RolloutThresholds `json:"thresholds"`
	// Order: the nodes in the order they are switched, canary first.
	Order  []string `json:"order,omitempty"`
	Canary string   `json:"canary,omitempty"`
	// Baseline: the per-node checks on every node before anything changed.
	Baseline []RolloutCheck  `json:"baseline,omitempty"`
	Phases   []RolloutPhase  `json:"phases,omitempty"`
	Watch    *RolloutWindow  `json:"watch,omitempty"` // --watch-only: the whole watch
	Traffic  []RolloutFlow   `json:"traffic"`         // every flow over the whole run
	Strategy RolloutStrategy `json:"strategy"`
	Passed   bool            `json:"passed"`
	// Failure: why the run failed (the first failing node and its checks, or
	// a preflight refusal, or an error); empty when it passed.
	Failure string `json:"failure,omitempty"`
	// FailedNode: the node the rollout stopped at.
	FailedNode string `json:"failed_node,omitempty"`
	// Untouched: the nodes never switched to the candidate (they stayed on
	// the old image throughout).
	Untouched []string `json:"untouched,omitempty"`
}

// RolloutThresholds are the verdict's limits (flags of `cnigate rollout`).
type RolloutThresholds struct {
	MaxResets       int     `json:"max_resets"`
	MaxLost         int     `json:"max_lost"`
	MaxGapMs        float64 `json:"max_gap_ms"`         // long-lived TCP and UDP streams
	MaxConnectGapMs float64 `json:"max_connect_gap_ms"` // new-connection probes
	MaxUDPLossPct   float64 `json:"max_udp_loss_pct"`
	MaxRestarts     int     `json:"max_restarts"`
	MaxSandboxFails int     `json:"max_sandbox_events"`
	NodeTimeoutS    float64 `json:"node_timeout_s"` // the new CNI pod Ready within it
	PodTimeoutS     float64 `json:"pod_timeout_s"`  // each new test pod Ready within it
	SettleS         float64 `json:"settle_s"`       // traffic watched after the checks
}

// RolloutStrategy is the DaemonSet's update strategy: what it was, and
// whether the gate put it back.
type RolloutStrategy struct {
	Original string `json:"original"`
	Restored bool   `json:"restored"`
	Error    string `json:"error,omitempty"`
}

// Rollout phases (RolloutPhase.Name).
const (
	PhaseUpgrade   = "upgrade"
	PhaseDowngrade = "downgrade"
	// PhaseRollback: after a failure, the nodes already on the candidate
	// back to the old image, with the same checks.
	PhaseRollback = "rollback"
)

// RolloutPhase is one pass over the nodes, from one image to another.
type RolloutPhase struct {
	Name   string         `json:"name"`
	From   string         `json:"from"`
	To     string         `json:"to"`
	Nodes  []RolloutNode  `json:"nodes"`
	Final  []RolloutCheck `json:"final,omitempty"` // every node's checks once all are switched
	Passed bool           `json:"passed"`
}

// RolloutNode is one node's switch.
type RolloutNode struct {
	Node   string `json:"node"`
	Canary bool   `json:"canary,omitempty"`
	Image  string `json:"image"` // switched to
	OldPod string `json:"old_pod"`
	NewPod string `json:"new_pod,omitempty"`
	// The timeline: switch started (old pod deleted), new pod Ready on the
	// image, checks done, window end (after the settle time).
	Started    time.Time      `json:"started"`
	PodReady   time.Time      `json:"pod_ready,omitzero"`
	ChecksDone time.Time      `json:"checks_done,omitzero"`
	Finished   time.Time      `json:"finished,omitzero"`
	Checks     []RolloutCheck `json:"checks"`
	// Traffic inside the node's window [Started, Finished].
	Traffic []RolloutFlow  `json:"traffic"`
	Summary RolloutSummary `json:"summary"`
	Passed  bool           `json:"passed"`
	// Failures: each broken limit or failed check, in words.
	Failures []string `json:"failures,omitempty"`
	// RolledBack: the node failed and was put back on the old image.
	RolledBack bool `json:"rolled_back,omitempty"`
}

// RolloutSummary is what the verdict looks at, for a node's window or a
// whole watch.
type RolloutSummary struct {
	Resets          int      `json:"resets"`
	Lost            int      `json:"lost"`
	MaxGapMs        float64  `json:"max_gap_ms"`
	MaxConnectGapMs float64  `json:"max_connect_gap_ms"`
	UDPLossPct      float64  `json:"udp_loss_pct"`
	Restarts        int      `json:"restarts"`
	SandboxEvents   []string `json:"sandbox_events,omitempty"`
	IPChanges       []string `json:"ip_changes,omitempty"`
	// Silent: flows that wrote nothing during the window (their client
	// stopped): counted as lost.
	Silent []string `json:"silent,omitempty"`
}

// RolloutWindow is --watch-only's single window.
type RolloutWindow struct {
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished"`
	Traffic  []RolloutFlow  `json:"traffic"`
	Summary  RolloutSummary `json:"summary"`
	Passed   bool           `json:"passed"`
	Failures []string       `json:"failures,omitempty"`
}

// RolloutCheck is one check after a node's switch (or of the baseline, or
// the final pass): e.g. "new pod on n1 reaches n2 tcp".
type RolloutCheck struct {
	Name   string  `json:"name"`
	Passed bool    `json:"passed"`
	Ms     float64 `json:"ms,omitempty"`
	Detail string  `json:"detail,omitempty"`
}

// RolloutFlow is one live flow (client pod -> target, one kind) in a window.
type RolloutFlow struct {
	Client   string       `json:"client"`
	Target   string       `json:"target"`
	Kind     string       `json:"kind"` // tcp, udp, connect
	OK       int          `json:"ok"`
	Fail     int          `json:"fail"`
	Resets   int          `json:"resets"`
	Lost     int          `json:"lost"`
	MaxGapMs float64      `json:"max_gap_ms"`
	LossPct  float64      `json:"loss_pct"`
	Gaps     []RolloutGap `json:"gaps,omitempty"`
}

// RolloutGap is a stretch without a successful exchange on a flow.
type RolloutGap struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Ms   float64   `json:"ms"`
	Open bool      `json:"open,omitempty"`
}

// Nodes returns every node result of every phase, in order.
func (r *Rollout) Nodes() []RolloutNode {
	var out []RolloutNode
	for _, p := range r.Phases {
		out = append(out, p.Nodes...)
	}
	return out
}

// Spec implements File: rollout files were born with a schema field.
func (*Rollout) Spec() Spec { return Spec{Kind: KindRollout, Version: 1, Oldest: 1} }

func (r *Rollout) schemaField() *string { return &r.Schema }

func (r *Rollout) upgrade(from int) error {
	return fmt.Errorf("no rollout file before %s/v1", KindRollout)
}

// Check refuses a rollout that is no run: no start time, a failure without
// a reason, a pass with nothing checked, a node without a name.
func (r *Rollout) Check() error {
	switch {
	case r.Started.IsZero():
		return errors.New(`no "started": not the record of a run`)
	case !r.Passed && r.Failure == "":
		return errors.New(`not passed, and no "failure" says why`)
	case r.Passed && len(r.Phases) == 0 && r.Watch == nil:
		return errors.New("passed with no phase and no watch: nothing was checked")
	}
	for _, p := range r.Phases {
		for i, n := range p.Nodes {
			if n.Node == "" {
				return fmt.Errorf("phase %s: node %d has no name", p.Name, i)
			}
		}
	}
	return nil
}
