package matrix

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cnigate/cnigate/e2e/harness/cni"
	"github.com/cnigate/cnigate/e2e/k8sconformance"
	"github.com/cnigate/cnigate/internal/testfilter"
	kindconfig "github.com/cnigate/cnigate/kind-config"
)

// Options configure one run of the suite. The same options are flags of
// `go test ./e2e/` (prefix "e2e.") and of `cnigate e2e` (no prefix).
type Options struct {
	// Kubeconfig selects existing-cluster mode (with ClusterAccess's Context
	// and ExistingCluster): no cluster is created, nothing installed.
	Kubeconfig string
	Cluster    string // kind cluster name (kind mode)
	Workers    int
	NodeImage  string
	// AgentImage is podnet's image (make image): kind mode with podnet loads
	// it into the nodes and applies podnet's manifest (deploy/), as users do.
	AgentImage      string
	CNI             string // podnet or bridge (kind mode)
	CNIBin          string // reference CNI plugins installed on every node (else the image's own; bridge)
	Image           string // the test image (ci/images/busybox)
	ImagePullPolicy string
	ReportDir       string
	// ReportName, when set, renders the matrix in every report format
	// (<ReportName>.{junit.xml,report.json,md,html}) at the end of the run.
	ReportName      string
	KeepCluster     bool
	ExternalNetwork string
	CellTimeout     time.Duration
	ChurnRounds     int
	AgentKills      int // how many times the healing cells SIGKILL podnet's agent
	NodeHTTPPort    int
	PodNetwork      string
	// IPFamily is the kind cluster's family: ipv4 (""), ipv6 or dual; on an
	// existing cluster the passes to run ("": every family it serves).
	IPFamily    string
	PodNetwork6 string
	MTU         int
	Break       string
	Hermetic    bool
	// PairPlan is which pairs of different workers the other-node rows run:
	// "all", a number k of pairs per worker, or "auto" (plan.go).
	PairPlan string
	PairSeed uint64
	// ClusterAccess: existing-cluster mode's knobs (existing.go).
	ClusterAccess
	// Tests selects rows and cells by name (--test, internal/testfilter):
	// "Group/behaviour" and "Group/behaviour/cell"; the others are skipped.
	Tests   testfilter.Filter
	Quality QualityOptions // the Quality rows (quality.go)
	// K8sConformance: the optional upstream conformance stage after the matrix (k8sconformance.go).
	K8sConformance k8sconformance.Options
}

// Register defines the options as flags of fs, each name prefixed by prefix.
func (o *Options) Register(fs *flag.FlagSet, prefix string) {
	p := func(name string) string { return prefix + name }
	fs.StringVar(&o.Kubeconfig, p("kubeconfig"), "", "existing-cluster mode: run the matrix against the cluster of this kubeconfig (its CNI must already run); no cluster is created, nothing installed")
	o.register(fs, p)
	fs.StringVar(&o.Cluster, p("cluster"), "cnigate-e2e", "kind cluster name")
	fs.IntVar(&o.Workers, p("workers"), kindconfig.DefaultWorkers, "kind workers to create; on an existing cluster, workers to use (0: all)")
	fs.StringVar(&o.NodeImage, p("node-image"), "", "kind node image ref")
	fs.StringVar(&o.AgentImage, p("agent-image"), "", "podnet's image (make image): loaded into the kind nodes and deployed with podnet's manifest (kind mode, cni podnet)")
	fs.StringVar(&o.CNI, p("cni"), cni.CNIs[0].Name, "CNI installed on the kind nodes, one of "+strings.Join(cni.Names(), ", ")+" (cnigate cnis: what each is)")
	fs.StringVar(&o.CNIBin, p("cni-bin"), "", "directory of reference CNI plugins installed on every node, replacing the node image's (empty: use the image's own)")
	fs.StringVar(&o.Image, p("image"), "cnigate/e2e-busybox:1.35", "test image (ci/images/busybox + the probe)")
	fs.StringVar(&o.ImagePullPolicy, p("image-pull-policy"), "", "imagePullPolicy of the test pods (empty: Never on kind, the harness loads the image; IfNotPresent on an existing cluster)")
	fs.StringVar(&o.ReportDir, p("report-dir"), "_artifacts", "directory for matrix.json, the reports, phase timings, kind logs")
	fs.StringVar(&o.ReportName, p("report-name"), "", "render the matrix as <name>.{junit.xml,report.json,md,html} in the report dir (empty: matrix.json only)")
	fs.BoolVar(&o.KeepCluster, p("keep-cluster"), false, "make cluster: stop after the CNI is loaded and the nodes are Ready, leave the cluster running")
	fs.StringVar(&o.ExternalNetwork, p("external-network"), "kind", "docker network of the external host")
	fs.DurationVar(&o.CellTimeout, p("cell-timeout"), 45*time.Second, "how long one cell retries before it fails")
	fs.IntVar(&o.ChurnRounds, p("churn-rounds"), 3, "delete/recreate rounds of the churn check")
	fs.IntVar(&o.AgentKills, p("agent-kills"), 20, "how many times the healing cells SIGKILL podnet's agent at a random moment")
	fs.IntVar(&o.NodeHTTPPort, p("node-http-port"), 18080, "port the hostNetwork helper pods serve HTTP on (pod -> node cells)")
	fs.StringVar(&o.PodNetwork, p("pod-network"), kindconfig.PodSubnet, "the cluster pod subnet (the CNI's network)")
	fs.StringVar(&o.IPFamily, p("ip-family"), "", "kind cluster's IP family: ipv4 (empty), ipv6 (IPv6 only) or dual; on an existing cluster the passes to run (empty: every family its nodes' podCIDRs have; one it lacks is an error); the matrix runs once per family")
	fs.StringVar(&o.PodNetwork6, p("pod-network6"), kindconfig.PodSubnet6, "the cluster's IPv6 pod subnet on an ipv6 or dual cluster (the CNI's network6)")
	fs.IntVar(&o.MTU, p("mtu"), 1500, "the pod network's MTU: the MTU cells send packets of exactly this size")
	fs.StringVar(&o.Break, p("break"), "", "break one thing on purpose (kind clusters the harness makes): portmap, hairpin, mtu, coredns, agent-routes (podnet: the agent routes nothing, the harness adds the routes once by hand) or lossy-node (worker 1 drops 5% of its forwarded packets)")
	fs.StringVar(&o.PairPlan, p("pair-plan"), PairPlanAuto, "which pairs of different workers the other-node rows run: all, K (each worker a source and a destination K times, spread across topology.kubernetes.io/zone; for big clusters) or auto (all up to 10 workers, else 3)")
	fs.Uint64Var(&o.PairSeed, p("pair-seed"), 1, "seed of the pair plan: the same seed and nodes give the same pairs (the record lists them)")
	o.Quality.register(fs, p)
	o.K8sConformance.Register(fs, prefix)
	fs.BoolVar(&o.Hermetic, p("hermetic"), true, "while the kind cluster exists, drop forwarded traffic from its docker network to any other host interface (DOCKER-USER rule)")
	fs.Var(&o.Tests, p("test"), "only the rows and cells whose name matches one of these regular expressions (repeat, or comma-separate; !REGEX excludes): Group/behaviour, Group/behaviour/cell (cnigate e2e --list)")
}

// FlagsFromEnv sets each flag named prefix+NAME that the command line left
// unset from the environment variable E2E_NAME (upper case, "-" as "_"), when
// that is set and not empty: make's variables (make e2e E2E_AGENT_KILLS=5)
// reach the suite through ci/e2e.sh without a hand-written mapping each. The
// command line wins.
func FlagsFromEnv(fs *flag.FlagSet, prefix string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name, ok := strings.CutPrefix(f.Name, prefix)
		if !ok || set[f.Name] {
			return
		}
		env := "E2E_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if v := os.Getenv(env); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%s (-%s): %w", env, v, f.Name, err))
			}
		}
	})
	return errors.Join(errs...)
}

// Validate checks the options that do not need a cluster.
func (o *Options) Validate() error {
	var errs []error
	if !validBreak(o.Break) {
		errs = append(errs, fmt.Errorf("break %q: want portmap, hairpin, mtu, coredns, agent-routes or lossy-node", o.Break))
	}
	errs = append(errs, o.validate()...)
	if o.Existing() && o.Break != "" {
		errs = append(errs, errors.New("break is for clusters the harness creates, never for an existing cluster"))
	}
	if o.IPFamily != "" && kindconfig.Families(o.IPFamily) == nil {
		errs = append(errs, fmt.Errorf("ip-family %q: want ipv4, ipv6 or dual", o.IPFamily))
	}
	if !o.Existing() {
		c, err := cni.Lookup(o.CNI)
		if err != nil {
			errs = append(errs, fmt.Errorf("cni %q: want one of %s", o.CNI, strings.Join(cni.Names(), ", ")))
		}
		if err == nil && c.Install == cni.InstallManifest && o.AgentImage == "" {
			errs = append(errs, fmt.Errorf("agent-image is empty: %s is installed from its image (make image builds it)", c.Name))
		}
		if err == nil && o.Break == breakAgentRoutes && !c.Agent {
			errs = append(errs, fmt.Errorf("break agent-routes is podnet's agent's: use it with cni podnet (%s has no agent)", c.Name))
		}
		if o.NodeImage == "" {
			errs = append(errs, errors.New("node-image is empty: name the kind node image to create the cluster from"))
		}
		if o.Workers < 2 {
			errs = append(errs, fmt.Errorf("workers %d: the matrix needs at least 2", o.Workers))
		}
	}
	errs = append(errs, o.Quality.validate()...)
	errs = append(errs, o.K8sConformance.Validate())
	if o.Workers < 0 {
		errs = append(errs, fmt.Errorf("workers %d: negative", o.Workers))
	}
	if o.AgentKills < 1 {
		errs = append(errs, fmt.Errorf("agent-kills %d: at least 1", o.AgentKills))
	}
	if _, err := pairPlanK(o.PairPlan, 1<<20); err != nil {
		errs = append(errs, err)
	}
	if o.CellTimeout <= 0 {
		errs = append(errs, fmt.Errorf("cell-timeout %v: must be positive", o.CellTimeout))
	}
	return errors.Join(errs...)
}
