package matrix

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/klient"

	"github.com/cnigate/cnigate/e2e/cluster"
	"github.com/cnigate/cnigate/e2e/harness"
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

// suite is the state shared by setup, tests and finish, carried in the context.
type suite struct {
	opt       Options   // the run's options, as Suite got them
	sel       selection // opt.Tests against the table's rows
	gate      bool
	cluster   string // kind cluster name; "" on an existing cluster
	namespace string
	client    klient.Client
	failed    atomic.Bool
	// interrupted: Ctrl-C, SIGTERM or the suite deadline; Finish then cleans
	// up without exporting logs.
	interrupted atomic.Bool

	nodes   []harness.NodeInfo // every node, sorted: control planes, then workers
	short   map[string]string  // node name -> short name (cp, w1, ...)
	workers []harness.NodeInfo // the workers the matrix uses
	// otherPairs: the pairs of different workers the other-node rows run
	// (--pair-plan; nil: every ordered pair).
	otherPairs []nodePair
	external   *harness.ExternalHost
	extSkip    string        // why the NAT cells are skipped, "" if they run
	hermetic   bool          // the host's hermetic rule for this cluster is in place
	setupErr   error         // the setup step that failed, if one did
	kind       *cluster.Kind // kind mode: the cluster
	created    bool          // kind mode: creation started, teardown deletes it
	// k8sVersion is the Kubernetes version the node image declares (kind mode).
	k8sVersion string
	// nodeCNI: node name -> type of the first plugin of the network
	// configuration the node's runtime uses (detectCNI).
	nodeCNI map[string]string

	// families are the address families the matrix runs in, one pass each
	// (kind dual: ipv4 then ipv6; kind ipv6: ipv6 only); family is the pass under way (the passes
	// run one after another, so the cells of a pass all see their family).
	families []string
	family   string

	phases harness.Phases
	matrix harness.Matrix
	// hostMem stops the host memory sampler (kind mode; nil in gate mode,
	// where the cluster is elsewhere) and returns its figures.
	hostMem    func() harness.MemPeakStats
	testsStart time.Time // end of setup: the matrix (the tests) starts
	recordState

	// readiness: pod network readiness (readiness.go).
	readiness *results.Readiness
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
func (s *suite) installed() harness.CNI {
	c, _ := harness.LookupCNI(s.opt.CNI)
	return c
}

// cniOfType is the CNI table's entry whose main plugin is of type typ (the
// zero CNI when none is).
func cniOfType(typ string) harness.CNI {
	c, _ := harness.CNIOfType(typ)
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

// familyLabel is the family a cell's name carries: "" on an IPv4-only
// cluster (names as they always were), else the pass's family (dual: ipv4
// and ipv6; ipv6: ipv6).
func (s *suite) familyLabel() string {
	if !s.has6() {
		return ""
	}
	return s.family
}

// v6 reports whether the pass under way is the IPv6 one.
func (s *suite) v6() bool { return s.family == kindconfig.IPv6 }

// pickIP is the address of ips in the pass's family ("" when none is).
func (s *suite) pickIP(ips ...string) string {
	for _, ip := range ips {
		if ip != "" && strings.Contains(ip, ":") == s.v6() {
			return ip
		}
	}
	return ""
}

// podIPOf is a pod's address in the pass's family.
func (s *suite) podIPOf(p *corev1.Pod) string {
	ips := []string{p.Status.PodIP}
	for _, a := range p.Status.PodIPs {
		ips = append(ips, a.IP)
	}
	return s.pickIP(ips...)
}

// nodeIP is a node's InternalIP in the pass's family.
func (s *suite) nodeIP(n harness.NodeInfo) string { return s.pickIP(n.InternalIP, n.InternalIP6) }

// nodePodCIDR is a node's podCIDR in the pass's family.
func (s *suite) nodePodCIDR(n harness.NodeInfo) string { return s.pickIP(n.PodCIDR, n.PodCIDR6) }
