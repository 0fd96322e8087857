package matrix

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/cnigate/cnigate/e2e/harness/cni"
	"github.com/cnigate/cnigate/results"
)

// The run's record (matrix.json "record") and its coverage verdict
// ("coverage").

// setFamilies reads the families an existing cluster serves and picks the
// passes (an explicit ip-family it cannot serve is an error).
func setFamilies(ctx context.Context, s *suite) error {
	cs, err := kubernetes.NewForConfig(s.rest)
	if err != nil {
		return err
	}
	fams, err := readFamilies(ctx, cs, s.opt.IPFamily)
	if err != nil {
		return err
	}
	s.families = fams
	return nil
}

// readFamilies reads the families the cluster serves and picks the passes
// for the ip-family option explicit ("": all of them).
func readFamilies(ctx context.Context, cs kubernetes.Interface, explicit string) ([]string, error) {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("families: list nodes: %w", err)
	}
	apiSvc, err := cs.CoreV1().Services(kubernetesSvcNS).Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		klog.Infof("the kubernetes Service: %v", err)
		apiSvc = nil
	}
	have, from := clusterFamilies(nodes.Items, apiSvc)
	fams, err := pickFamilies(explicit, have, from)
	if err != nil {
		return nil, err
	}
	klog.Infof("families: the cluster serves %s (from %s); passes: %s", strings.Join(have, ", "), from, strings.Join(fams, ", "))
	return fams, nil
}

// saveNodeConf keeps a node's network configuration as detectCNI read it.
func (s *suite) saveNodeConf(node, out string) {
	s.nodeConfMu.Lock()
	defer s.nodeConfMu.Unlock()
	if s.nodeConf == nil {
		s.nodeConf = map[string]string{}
	}
	s.nodeConf[node] = out
}

// cniConf identifies FirstNetConfCommand's output: file, SHA-256 of the
// content, first plugin type.
func cniConf(out string) *results.CNIConf {
	file, typ, err := cni.ParseFirstNetConf(out)
	c := &results.CNIConf{File: file, FirstType: typ}
	if _, body, ok := strings.Cut(strings.TrimLeft(out, "\n"), "\n"); ok && file != "" {
		sum := sha256.Sum256([]byte(body))
		c.SHA256 = hex.EncodeToString(sum[:])
	}
	if err != nil {
		c.Error = err.Error()
	}
	return c
}

// nodeRecords describes the nodes as the API server has them, with the
// CNI configuration read on each (nodeConf).
func nodeRecords(nodes []corev1.Node, nodeConf map[string]string) []results.NodeRecord {
	var out []results.NodeRecord
	for _, n := range nodes {
		cidrs := podCIDRs(&n)
		r := results.NodeRecord{Name: n.Name, Kubelet: n.Status.NodeInfo.KubeletVersion, Runtime: n.Status.NodeInfo.ContainerRuntimeVersion,
			Kernel: n.Status.NodeInfo.KernelVersion, OSImage: n.Status.NodeInfo.OSImage, PodCIDRs: append([]string{}, cidrs...)}
		if out, ok := nodeConf[n.Name]; ok {
			r.CNIConf = cniConf(out)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b results.NodeRecord) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// cnigateVersion is the version the CLI stamped, else what the Go toolchain
// recorded (module version or VCS revision), else "devel".
func cnigateVersion(o Options) string {
	if o.Version != "" {
		return o.Version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		if v := info.Main.Version; v != "" && v != "(devel)" {
			return v
		}
		for _, kv := range info.Settings {
			if kv.Key == "vcs.revision" && len(kv.Value) >= 7 {
				return kv.Value[:7]
			}
		}
	}
	return "devel"
}

// record reads what the record needs from the cluster (nodes, server
// version); a cluster that cannot be read leaves those fields empty and the
// reason is logged: the record of a failed setup is still written.
func record(ctx context.Context, s *suite) *results.Record {
	end := time.Now
	if s.clock != nil {
		end = s.clock
	}
	r := &results.Record{Start: s.start.UTC().Truncate(time.Second), End: end().UTC().Truncate(time.Second),
		Cnigate: cnigateVersion(s.opt), Access: s.access, Families: s.families, Nodes: []results.NodeRecord{}}
	if s.rest == nil {
		return r
	}
	cs, err := kubernetes.NewForConfig(s.rest)
	if err != nil {
		klog.Infof("record: %v", err)
		return r
	}
	s.nodeConfMu.Lock()
	defer s.nodeConfMu.Unlock()
	readRecord(ctx, cs, r, s.nodeConf)
	return r
}

// readRecord fills r's server version and nodes from the cluster.
func readRecord(ctx context.Context, cs kubernetes.Interface, r *results.Record, nodeConf map[string]string) {
	if v, err := cs.Discovery().ServerVersion(); err == nil {
		r.Kubernetes = v.GitVersion
	} else {
		klog.Infof("record: server version: %v", err)
	}
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		klog.Infof("record: nodes: %v", err)
		return
	}
	r.Nodes = nodeRecords(list.Items, nodeConf)
}

// Coverage: --require's profiles and patterns.
const (
	requireRunnable = "runnable" // every behaviour the cluster's CNI can have
	requireAll      = "all"      // every behaviour, also those of another CNI
	requireNone     = "none"
)

// requirement is a parsed --require.
type requirement struct {
	runnable, all bool
	patterns      []*regexp.Regexp
}

// parseRequire parses --require ("" is the default, runnable).
func parseRequire(v string) (requirement, error) {
	var r requirement
	if strings.TrimSpace(v) == "" {
		r.runnable = true
		return r, nil
	}
	for _, item := range strings.Split(v, ",") {
		switch item = strings.TrimSpace(item); item {
		case "":
		case requireRunnable:
			r.runnable = true
		case requireAll:
			r.all = true
		case requireNone:
		default:
			re, err := regexp.Compile(item)
			if err != nil {
				return r, fmt.Errorf("require %q: %q is neither a profile (runnable, all, none) nor a regexp: %w", v, item, err)
			}
			r.patterns = append(r.patterns, re)
		}
	}
	return r, nil
}

// required says whether a behaviour whose skip is applicable (not one of
// notApplicable's reasons) must run.
func (r requirement) required(behaviour string) bool {
	if r.all || r.runnable {
		return true
	}
	for _, re := range r.patterns {
		if re.MatchString(behaviour) {
			return true
		}
	}
	return false
}

// notApplicable are the skip reasons that say this cluster cannot have a
// cell: the platform in a family (hostIP ::1: no portmap forwarding from
// IPv6 loopback), podnet's own checks when the nodes run another CNI (every
// cell of a needPodnet row, also those a row names otherwise, as churn's
// "churn: IPs released", carries podnetSkip), and the healing cells where
// the harness may not break nodes (an existing cluster) or no podnet agent
// runs (healSkip). Other skips (no external host from here, an interrupted
// run, a cell not selected) are gaps.
func notApplicable(s *suite) []string {
	na := []string{loopbackV6Reason}
	for _, r := range []string{s.podnetSkip(), s.healSkip()} {
		if r != "" {
			na = append(na, r)
		}
	}
	return na
}

// coverage computes the verdict's coverage of m and, when a required
// behaviour skipped and the requirement is enforced, the run's error.
func coverage(s *suite, m *results.Matrix) (*results.Coverage, string) {
	req, err := parseRequire(s.opt.Require) // validated by Options.Validate
	if err != nil {
		return nil, err.Error()
	}
	name := s.opt.Require
	if strings.TrimSpace(name) == "" {
		name = requireRunnable
	}
	// enforced: an explicit --require, or a kind cluster the harness made
	enforced := strings.TrimSpace(s.opt.Require) != "" || !s.gate
	na := notApplicable(s)
	// One rule: a skip whose reason says the cluster cannot have the cell
	// is never required (but by --require all); any other skip is required
	// as --require says.
	c := results.NewCoverage(m, name, enforced, func(b, reason string) bool {
		if !req.all && slices.ContainsFunc(na, func(r string) bool { return strings.Contains(reason, r) }) {
			return false
		}
		return req.required(b)
	})
	if enforced && len(c.Missing()) > 0 {
		var names []string
		for _, g := range c.Missing() {
			names = append(names, fmt.Sprintf("%s (%d cells: %s)", g.Behaviour, g.Cells, g.Reason))
		}
		return c, "required behaviours skipped (require " + name + "): " + strings.Join(names, "; ")
	}
	return c, ""
}
