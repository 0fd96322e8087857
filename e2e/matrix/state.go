package matrix

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/e2e-framework/klient"

	"github.com/cnigate/cnigate/e2e/cluster"
	"github.com/cnigate/cnigate/e2e/harness/cni"
	"github.com/cnigate/cnigate/e2e/harness/host"
	"github.com/cnigate/cnigate/e2e/harness/nodenet"
	"github.com/cnigate/cnigate/e2e/harness/tally"
	kindconfig "github.com/cnigate/cnigate/kind-config"
	"github.com/cnigate/cnigate/results"
)

// The suite state shared by setup, the rows and finish, carried in the context.

// kindNetwork is the docker network kind puts its nodes on.
func kindNetwork() string {
	if n := os.Getenv("KIND_EXPERIMENTAL_DOCKER_NETWORK"); n != "" {
		return n
	}
	return "kind"
}

// suiteKey is the context key of the suite state.
type suiteKey struct{}

// suite is the state shared by setup, tests and finish, carried in the
// context: the options, what the cluster is (clusterFacts) and what the run
// did so far (bookkeeping).
type suite struct {
	opt Options   // the run's options, as Suite got them (pull policy resolved)
	sel selection // opt.Tests against the table's rows
	clusterFacts
	bookkeeping
}

// clusterFacts is what the cluster is: made or found by the setup steps,
// each fact set once, then only read by the rows, the record and finish.
type clusterFacts struct {
	gate      bool   // existing-cluster mode (the field keeps its old name)
	cluster   string // kind cluster name; "" on an existing cluster
	kind      *cluster.Kind
	access    string       // how the cluster was reached
	rest      *rest.Config // the client configuration (logs, events, versions)
	client    klient.Client
	namespace string // the run's test namespace
	// k8sVersion is the Kubernetes version the node image declares (kind mode).
	k8sVersion string

	nodes   []nodenet.NodeInfo // every node, sorted: control planes, then workers
	short   map[string]string  // node name -> short name (cp, w1, ...)
	workers []nodenet.NodeInfo // the workers the matrix uses
	// otherPairs: the pairs of different workers the other-node rows run
	// (--pair-plan; nil: every ordered pair).
	otherPairs []nodePair
	// families are the address families the matrix runs in, one pass each
	// (kind dual: ipv4 then ipv6; kind ipv6: ipv6 only). A pass hands its
	// family to the rows' cell builders and checks (ipFamily).
	families []string
	// nodeCNI: node name -> type of the first plugin of the network
	// configuration the node's runtime uses; nodeConf: node name ->
	// FirstNetConfCommand's output on it (detectCNI).
	nodeCNI    map[string]string
	nodeConfMu sync.Mutex
	nodeConf   map[string]string

	external *nodenet.ExternalHost
	extSkip  string // why the external host's cells are skipped, "" if they run
}

// bookkeeping is what the run did so far: its verdicts, timings and the
// things teardown must undo.
type bookkeeping struct {
	start      time.Time // the run's start
	testsStart time.Time // end of setup: the matrix (the tests) starts
	// clock is the record's end time (nil: time.Now; tests fix it).
	clock    func() time.Time
	failed   atomic.Bool
	setupErr error // the setup step that failed, if one did
	// interrupted: Ctrl-C, SIGTERM or the suite deadline; Finish then cleans
	// up without exporting logs.
	interrupted atomic.Bool
	// coverageErr, when set, fails the run: a required behaviour skipped.
	coverageErr string

	phases tally.Phases
	matrix tally.Matrix
	// readiness: pod network readiness (readiness.go).
	readiness *results.Readiness
	// hostMem stops the host memory sampler (kind mode; nil in gate mode,
	// where the cluster is elsewhere) and returns its figures.
	hostMem func() host.MemPeakStats
	// diagTar is the diagnosis bundle written for a red run ("" if none).
	diagTar string

	created  bool // kind mode: creation started, teardown deletes it
	hermetic bool // the host's hermetic rule for this cluster is in place

	k8sConformanceState
}

// cniSummary: the CNI the nodes run ("podnet"), or each node's when they differ.
func (s *suite) cniSummary() string {
	seen := map[string]bool{}
	var parts []string
	for _, n := range s.nodes {
		t, ok := s.nodeCNI[n.Name]
		if !ok {
			t = "unknown"
		}
		seen[t] = true
		parts = append(parts, s.short[n.Name]+"="+t)
	}
	if len(seen) == 1 {
		for t := range seen {
			return t
		}
	}
	return strings.Join(parts, ",")
}

// installed is the CNI table's entry of the CNI the harness installs
// (Validate checked the name; the zero CNI otherwise).
func (s *suite) installed() cni.CNI {
	c, _ := cni.Lookup(s.opt.CNI)
	return c
}

// cniOfType is the CNI table's entry whose main plugin is of type typ (the
// zero CNI when none is).
func cniOfType(typ string) cni.CNI {
	c, _ := cni.OfType(typ)
	return c
}

// podnetSkip is why podnet-only cells skip ("" when podnet runs on every node).
func (s *suite) podnetSkip() string {
	if c := s.cniSummary(); !cniOfType(c).PodnetCells {
		return "podnet-only check, and the nodes' CNI is " + c + " (first plugin of the runtime's network configuration)"
	}
	return ""
}

func suiteFrom(ctx context.Context) *suite {
	s, ok := ctx.Value(suiteKey{}).(*suite)
	if !ok {
		panic("e2e: no suite state in context") // only reachable by a programming error
	}
	return s
}

// dual: the run has both families (a dual-stack cluster, both passes).
func (s *suite) dual() bool { return s.has4() && s.has6() }

// has4 and has6: the cluster has that family (pod subnets, node addresses).
func (s *suite) has4() bool { return slices.Contains(s.families, kindconfig.IPv4) }
func (s *suite) has6() bool { return slices.Contains(s.families, kindconfig.IPv6) }

// label is the family a cell's name carries in pass f: "" on an IPv4-only
// cluster (names as they always were), else f (dual: ipv4 and ipv6; ipv6:
// ipv6).
func (s *suite) label(f ipFamily) string {
	if !s.has6() {
		return ""
	}
	return string(f)
}

// firstFamily is the family of the first pass, the one setup steps that
// need a single address use (the agent's API server address, the
// readiness peer).
func (s *suite) firstFamily() ipFamily { return ipFamily(s.families[0]) }
