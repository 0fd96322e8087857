package report

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cnigate/cnigate/results"
)

// E2EView is the matrix laid out for the page: one node x node grid per
// behaviour (the failing ones first), and one from x to grid per protocol.
type E2EView struct {
	// Behaviours: the behaviours whose endpoints all name a node (or the
	// external host), From and To the nodes' short names.
	Behaviours []E2EGrid      `json:"behaviours"`
	Grids      []E2EGrid      `json:"grids"`
	Phases     results.Phases `json:"phases,omitempty"`
	// Quality: the data-path quality figures (quality.go).
	Quality *QualityView `json:"quality,omitempty"`
}

// E2EGrid is the matrix of one protocol, or of one behaviour.
type E2EGrid struct {
	Protocol  string   `json:"protocol,omitempty"`
	Behaviour string   `json:"behaviour,omitempty"`
	Failed    int      `json:"failed,omitempty"`
	From      []string `json:"from"`
	To        []string `json:"to"`
	// Cells[i][j] are the checks from From[i] to To[j] (several behaviours
	// may check one pair); empty when the pair is not checked.
	Cells [][][]results.Cell `json:"cells"`
	// MaxLatencyMS is the largest latency of the grid, for shading.
	MaxLatencyMS float64 `json:"max_latency_ms"`
}

// FromE2E turns a matrix into a report. A run error is a failed case of its
// own ("run"): a run that checked no cell, or not every cell, must not read
// as passed.
func FromE2E(m *results.Matrix) *Report {
	r := &Report{Kind: "e2e", Title: "cnigate e2e: connectivity matrix", E2E: &E2EView{Phases: m.Phases}}
	keys := make([]string, 0, len(m.Meta))
	for k := range m.Meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r.Facts = append(r.Facts, Fact{Name: k, Value: m.Meta[k]})
	}
	if m.Coverage != nil {
		r.Facts = append(r.Facts, Fact{Name: "coverage", Value: m.Coverage.Summary(m)})
	}
	if rec := m.Record; rec != nil {
		r.Facts = append(r.Facts, recordFacts(rec)...)
	}
	var protocols []string
	byProto := map[string][]results.Cell{}
	for _, c := range m.Cells {
		if _, ok := byProto[c.Protocol]; !ok {
			protocols = append(protocols, c.Protocol)
		}
		byProto[c.Protocol] = append(byProto[c.Protocol], c)
		kase := Case{Suite: c.Behaviour, Name: c.Name, Result: c.Result, Detail: c.Detail}
		if c.LatencyMS != nil {
			kase.Seconds = *c.LatencyMS / 1000
		}
		r.Cases = append(r.Cases, kase)
	}
	for _, p := range protocols {
		r.E2E.Grids = append(r.E2E.Grids, grid(p, byProto[p], nil))
	}
	r.E2E.Behaviours = behaviourGrids(m.Cells)
	r.E2E.Quality = qualityView(m)
	if k := m.K8sConformance; k != nil {
		r.Cases = append(r.Cases, k8sConformanceCase(k))
	}
	if m.RunError != "" {
		r.Cases = append(r.Cases, Case{Suite: "run", Name: "run", Result: results.Fail, Detail: m.RunError})
	}
	return r
}

// grid lays cells out by from and to: the axes in order of first
// appearance, or sorted by order when given.
func grid(protocol string, cells []results.Cell, order func(a, b string) int) E2EGrid {
	g := E2EGrid{Protocol: protocol}
	seenFrom, seenTo := map[string]bool{}, map[string]bool{}
	for _, c := range cells {
		if !seenFrom[c.From] {
			seenFrom[c.From] = true
			g.From = append(g.From, c.From)
		}
		if !seenTo[c.To] {
			seenTo[c.To] = true
			g.To = append(g.To, c.To)
		}
	}
	if order != nil {
		slices.SortFunc(g.From, order)
		slices.SortFunc(g.To, order)
	}
	fromIdx, toIdx := map[string]int{}, map[string]int{}
	for i, f := range g.From {
		fromIdx[f] = i
	}
	for j, t := range g.To {
		toIdx[t] = j
	}
	g.Cells = make([][][]results.Cell, len(g.From))
	for i := range g.Cells {
		g.Cells[i] = make([][]results.Cell, len(g.To))
	}
	for _, c := range cells {
		i, j := fromIdx[c.From], toIdx[c.To]
		g.Cells[i][j] = append(g.Cells[i][j], c)
		if c.LatencyMS != nil && *c.LatencyMS > g.MaxLatencyMS {
			g.MaxLatencyMS = *c.LatencyMS
		}
	}
	return g
}

// nodeRE finds the node an endpoint is on in the harness's names: shell-w1,
// node-cp, hostport@node-w2, svc/web-w1 (itself), store@w1 (round 2).
var nodeRE = regexp.MustCompile(`(?:^|[-@/( ])(cp\d*|w\d+)(?:$|[ ).])`)

// endpointNode is the node an endpoint names, "external" for the external
// host, else "".
func endpointNode(endpoint string) string {
	if endpoint == "external" {
		return endpoint
	}
	if m := nodeRE.FindStringSubmatch(endpoint); m != nil {
		return m[1]
	}
	return ""
}

// behaviourGrids: per behaviour whose every cell's ends name nodes, a node x
// node grid (each cell the checks of that pair, any protocol); the
// behaviours with failures first, then in the matrix's order.
func behaviourGrids(cells []results.Cell) []E2EGrid {
	var order []string
	byBehaviour := map[string][]results.Cell{}
	drawable := map[string]bool{}
	for _, c := range cells {
		if _, ok := byBehaviour[c.Behaviour]; !ok {
			order = append(order, c.Behaviour)
			drawable[c.Behaviour] = true
		}
		from, to := endpointNode(c.From), endpointNode(c.To)
		if from == "" || to == "" {
			drawable[c.Behaviour] = false
		}
		c.From, c.To = from, to
		byBehaviour[c.Behaviour] = append(byBehaviour[c.Behaviour], c)
	}
	var grids []E2EGrid
	for _, b := range order {
		if !drawable[b] {
			continue
		}
		g := grid("", byBehaviour[b], compareNodes)
		g.Behaviour = b
		for _, c := range byBehaviour[b] {
			if c.Result == results.Fail {
				g.Failed++
			}
		}
		grids = append(grids, g)
	}
	failing := func(g E2EGrid) int {
		if g.Failed > 0 {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(grids, func(a, b E2EGrid) int { return cmp.Compare(failing(a), failing(b)) })
	return grids
}

// compareNodes orders cp, cp2, ..., w1, w2, ..., w10, then the rest.
func compareNodes(a, b string) int {
	rank := func(n string) (int, int) {
		var k int
		switch {
		case len(n) >= 2 && n[:2] == "cp":
			_, _ = fmt.Sscanf(n[2:], "%d", &k)
			return 0, k
		case len(n) >= 1 && n[0] == 'w':
			_, _ = fmt.Sscanf(n[1:], "%d", &k)
			return 1, k
		}
		return 2, 0
	}
	ra, ka := rank(a)
	rb, kb := rank(b)
	return cmp.Or(cmp.Compare(ra, rb), cmp.Compare(ka, kb), cmp.Compare(a, b))
}

// recordFacts are the run's record as facts: dates, versions, one per node.
func recordFacts(rec *results.Record) []Fact {
	facts := []Fact{
		{Name: "run", Value: rec.Start.Format(time.RFC3339) + " to " + rec.End.Format(time.RFC3339)},
		{Name: "versions", Value: "cnigate " + rec.Cnigate + ", Kubernetes " + rec.Kubernetes},
		{Name: "families", Value: strings.Join(rec.Families, ", ")},
	}
	for _, n := range rec.Nodes {
		v := fmt.Sprintf("kubelet %s, %s, kernel %s, %s, podCIDRs %s", n.Kubelet, n.Runtime, n.Kernel, n.OSImage, strings.Join(n.PodCIDRs, " "))
		if c := n.CNIConf; c != nil {
			if c.Error != "" {
				v += ", CNI conf: " + c.Error
			} else {
				v += fmt.Sprintf(", CNI conf %s (%s, sha256 %.12s)", c.File, c.FirstType, c.SHA256)
			}
		}
		facts = append(facts, Fact{Name: "node " + n.Name, Value: v})
	}
	return facts
}

// k8sConformanceCase is the upstream Kubernetes conformance stage as one
// case: failed when it is off its known-failures list, its detail the
// verdict and each spec that decided it.
func k8sConformanceCase(k *results.K8sConformance) Case {
	c := Case{Suite: "k8s-conformance", Name: "upstream [sig-network] Conformance", Result: results.Pass, Seconds: k.Seconds}
	if k.Error != "" {
		c.Result, c.Detail = results.Fail, fmt.Sprintf("could not run: %s (reports: %s)", k.Error, k.Artifacts)
		return c
	}
	if !k.OK {
		c.Result = results.Fail
	}
	var b strings.Builder
	b.WriteString(k.Line())
	for _, l := range []struct {
		title string
		specs []string
	}{
		{"new failures", k.NewFailures},
		{"listed as known failures but passed", k.NowPassing},
		{"listed but not run", k.NotRun},
		{"known failures", k.KnownFailed},
	} {
		if len(l.specs) > 0 {
			fmt.Fprintf(&b, "; %s: %s", l.title, strings.Join(l.specs, "; "))
		}
	}
	fmt.Fprintf(&b, " (reports: %s)", k.Artifacts)
	c.Detail = b.String()
	return c
}
