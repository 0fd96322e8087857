package rollout

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cnigate/cnigate/results"
	"github.com/cnigate/cnigate/rollout/flow"
)

// Thresholds are the verdict's limits; the defaults are what podnet's own
// upgrade meets on kind (docs/rollout.md).
type Thresholds struct {
	MaxResets       int
	MaxLost         int
	MaxGap          time.Duration // long-lived TCP and UDP streams
	MaxConnectGap   time.Duration // new-connection probes
	MaxUDPLossPct   float64
	MaxRestarts     int
	MaxSandboxFails int
	NodeTimeout     time.Duration
	PodTimeout      time.Duration
	Settle          time.Duration
}

// Register defines the thresholds as flags of fs.
func (t *Thresholds) Register(fs *flag.FlagSet) {
	fs.IntVar(&t.MaxResets, "max-resets", 0, "established connections reset during a node's switch (per node)")
	fs.IntVar(&t.MaxLost, "max-lost", 0, "established connections lost (no echo within the client's 5 s, closed, or a client gone silent) per node")
	fs.DurationVar(&t.MaxGap, "max-gap", 1500*time.Millisecond, "longest time without an echo on a long-lived TCP or UDP stream during a node's switch (a message goes every 100 ms)")
	fs.DurationVar(&t.MaxConnectGap, "max-connect-gap", 2*time.Second, "longest time without a successful new connection during a node's switch (one every 200 ms)")
	fs.Float64Var(&t.MaxUDPLossPct, "max-udp-loss", 2, "UDP datagrams lost during a node's switch, percent of each stream")
	fs.IntVar(&t.MaxRestarts, "max-restarts", 0, "container restarts of pods that existed before the rollout (the CNI's own pods excluded)")
	fs.IntVar(&t.MaxSandboxFails, "max-sandbox-events", 0, "FailedCreatePodSandBox and FailedKillPodSandbox events during a node's switch")
	fs.DurationVar(&t.NodeTimeout, "node-timeout", 3*time.Minute, "the new CNI pod on a node must be Ready within it")
	fs.DurationVar(&t.PodTimeout, "pod-timeout", time.Minute, "each new test pod of a node's checks must be Ready (or done) within it")
	fs.DurationVar(&t.Settle, "settle", 10*time.Second, "traffic watched after a node's checks before the next node (the node's window ends then)")
}

// Validate names each bad threshold.
func (t Thresholds) Validate() error {
	var errs []error
	for name, v := range map[string]int{"max-resets": t.MaxResets, "max-lost": t.MaxLost, "max-restarts": t.MaxRestarts, "max-sandbox-events": t.MaxSandboxFails} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("--%s %d: negative", name, v))
		}
	}
	for name, v := range map[string]time.Duration{"max-gap": t.MaxGap, "max-connect-gap": t.MaxConnectGap, "node-timeout": t.NodeTimeout, "pod-timeout": t.PodTimeout} {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("--%s %v: must be positive", name, v))
		}
	}
	if t.Settle < 0 {
		errs = append(errs, fmt.Errorf("--settle %v: negative", t.Settle))
	}
	if t.MaxUDPLossPct < 0 || t.MaxUDPLossPct > 100 {
		errs = append(errs, fmt.Errorf("--max-udp-loss %v: want 0 to 100", t.MaxUDPLossPct))
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

// Results is the thresholds as rollout.json records them.
func (t Thresholds) Results() results.RolloutThresholds {
	return results.RolloutThresholds{
		MaxResets: t.MaxResets, MaxLost: t.MaxLost,
		MaxGapMs: ms(t.MaxGap), MaxConnectGapMs: ms(t.MaxConnectGap), MaxUDPLossPct: t.MaxUDPLossPct,
		MaxRestarts: t.MaxRestarts, MaxSandboxFails: t.MaxSandboxFails,
		NodeTimeoutS: t.NodeTimeout.Seconds(), PodTimeoutS: t.PodTimeout.Seconds(), SettleS: t.Settle.Seconds(),
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Flows converts flow statistics to the results' form.
func Flows(stats []flow.Stats) []results.RolloutFlow {
	out := make([]results.RolloutFlow, 0, len(stats))
	for _, s := range stats {
		f := results.RolloutFlow{Client: s.Client, Target: s.Target, Kind: s.Kind, OK: s.OK, Fail: s.Fail,
			Resets: s.Resets, Lost: s.Lost, MaxGapMs: s.MaxGapMs, LossPct: s.LossPct()}
		for _, g := range s.Gaps {
			f.Gaps = append(f.Gaps, results.RolloutGap{From: g.From, To: g.To, Ms: g.Ms, Open: g.Open})
		}
		out = append(out, f)
	}
	return out
}

// Summarize folds a window's flows into the figures the verdict reads (the
// cluster-side ones, restarts, sandbox events, IP changes, are the
// caller's). A flow that wrote no event since before the window started
// (its client is gone) is silent.
func Summarize(stats []flow.Stats, from time.Time) results.RolloutSummary {
	var s results.RolloutSummary
	for _, f := range stats {
		s.Resets += f.Resets
		s.Lost += f.Lost
		switch f.Kind {
		case flow.KindConnect:
			s.MaxConnectGapMs = max(s.MaxConnectGapMs, f.MaxGapMs)
		default:
			s.MaxGapMs = max(s.MaxGapMs, f.MaxGapMs)
		}
		if f.Kind == flow.KindUDP {
			s.UDPLossPct = max(s.UDPLossPct, f.LossPct())
		}
		if f.LastEvent.Before(from) {
			s.Silent = append(s.Silent, flow.Key{Client: f.Client, Target: f.Target, Kind: f.Kind}.String())
		}
	}
	sort.Strings(s.Silent)
	return s
}

// Judge lists what broke a limit or failed, in words; none: the window passed.
func Judge(s results.RolloutSummary, checks []results.RolloutCheck, t Thresholds) []string {
	var out []string
	for _, c := range checks {
		if !c.Passed {
			out = append(out, fmt.Sprintf("check %q failed: %s", c.Name, c.Detail))
		}
	}
	if s.Resets > t.MaxResets {
		out = append(out, fmt.Sprintf("%d connections reset (limit %d)", s.Resets, t.MaxResets))
	}
	if lost := s.Lost + len(s.Silent); lost > t.MaxLost {
		what := fmt.Sprintf("%d connections lost", s.Lost)
		if len(s.Silent) > 0 {
			what += fmt.Sprintf(" + %d flows silent (%s)", len(s.Silent), strings.Join(s.Silent, ", "))
		}
		out = append(out, fmt.Sprintf("%s (limit %d)", what, t.MaxLost))
	}
	if s.MaxGapMs > ms(t.MaxGap) {
		out = append(out, fmt.Sprintf("stream gap %.0f ms (limit %.0f ms)", s.MaxGapMs, ms(t.MaxGap)))
	}
	if s.MaxConnectGapMs > ms(t.MaxConnectGap) {
		out = append(out, fmt.Sprintf("new-connection gap %.0f ms (limit %.0f ms)", s.MaxConnectGapMs, ms(t.MaxConnectGap)))
	}
	if s.UDPLossPct > t.MaxUDPLossPct {
		out = append(out, fmt.Sprintf("UDP loss %.1f%% (limit %.1f%%)", s.UDPLossPct, t.MaxUDPLossPct))
	}
	if s.Restarts > t.MaxRestarts {
		out = append(out, fmt.Sprintf("%d pod restarts (limit %d)", s.Restarts, t.MaxRestarts))
	}
	if len(s.SandboxEvents) > t.MaxSandboxFails {
		out = append(out, fmt.Sprintf("%d sandbox failure events (limit %d): %s", len(s.SandboxEvents), t.MaxSandboxFails, strings.Join(first(s.SandboxEvents, 3), "; ")))
	}
	if len(s.IPChanges) > 0 {
		out = append(out, fmt.Sprintf("%d pods changed IP: %s", len(s.IPChanges), strings.Join(first(s.IPChanges, 3), "; ")))
	}
	return out
}

func first(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(slices.Clone(s[:n]), fmt.Sprintf("and %d more", len(s)-n))
}

// Node is what the ordering knows of a node.
type Node struct {
	Name         string
	ControlPlane bool
}

// Order is the rollout order: the canary first (the named one, else the
// first worker by name, else the first node), then the other workers by
// name, then the control-plane nodes by name: a control plane is the last
// thing to risk.
func Order(nodes []Node, canary string) ([]string, error) {
	if len(nodes) == 0 {
		return nil, errors.New("no node runs the DaemonSet")
	}
	sorted := slices.Clone(nodes)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].ControlPlane != sorted[j].ControlPlane {
			return !sorted[i].ControlPlane
		}
		return sorted[i].Name < sorted[j].Name
	})
	names := make([]string, len(sorted))
	for i, n := range sorted {
		names[i] = n.Name
	}
	if canary == "" {
		return names, nil
	}
	i := slices.Index(names, canary)
	if i < 0 {
		return nil, fmt.Errorf("--canary %s: no such node runs the DaemonSet (nodes: %s)", canary, strings.Join(names, ", "))
	}
	return append([]string{canary}, slices.Delete(names, i, i+1)...), nil
}
