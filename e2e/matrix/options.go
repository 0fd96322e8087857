package matrix

import (
	"errors"
	"flag"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cnigate/cnigate/e2e/harness"
	kindconfig "github.com/cnigate/cnigate/kind-config"
)

// Options configure one run of the suite. The same options are flags of
// `go test ./e2e/` (prefix "e2e.") and of `cnigate e2e` (no prefix).
type Options struct {
	// Kubeconfig selects gate mode: no cluster is created, nothing installed.
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
	// IPFamily is the kind cluster's family: ipv4, ipv6 or dual (kind mode).
	IPFamily    string
	PodNetwork6 string
	MTU         int
	Break       string
	Hermetic    bool
	Quality     QualityOptions // the Quality rows (quality.go)
}

// Register defines the options as flags of fs, each name prefixed by prefix.
func (o *Options) Register(fs *flag.FlagSet, prefix string) {
	p := func(name string) string { return prefix + name }
	fs.StringVar(&o.Kubeconfig, p("kubeconfig"), "", "gate mode: run the matrix against this cluster (the CNI must already run on it); no cluster is created")
	fs.StringVar(&o.Cluster, p("cluster"), "cnigate-e2e", "kind cluster name")
	fs.IntVar(&o.Workers, p("workers"), kindconfig.DefaultWorkers, "kind workers to create; in gate mode, workers to use (0: all)")
	fs.StringVar(&o.NodeImage, p("node-image"), "", "kind node image ref")
	fs.StringVar(&o.AgentImage, p("agent-image"), "", "podnet's image (make image): loaded into the kind nodes and deployed with podnet's manifest (kind mode, cni podnet)")
	fs.StringVar(&o.CNI, p("cni"), harness.CNIPodnet, "CNI installed on the kind nodes: podnet (then portmap) or bridge (reference bridge + host-local, then portmap)")
	fs.StringVar(&o.CNIBin, p("cni-bin"), "", "directory of reference CNI plugins installed on every node, replacing the node image's (empty: use the image's own)")
	fs.StringVar(&o.Image, p("image"), "cnigate/e2e-busybox:1.35", "test image (ci/images/busybox + the probe)")
	fs.StringVar(&o.ImagePullPolicy, p("image-pull-policy"), string(corev1.PullNever), "imagePullPolicy of the test pods")
	fs.StringVar(&o.ReportDir, p("report-dir"), "_artifacts", "directory for matrix.json, the reports, phase timings, kind logs")
	fs.StringVar(&o.ReportName, p("report-name"), "", "render the matrix as <name>.{junit.xml,report.json,md,html} in the report dir (empty: matrix.json only)")
	fs.BoolVar(&o.KeepCluster, p("keep-cluster"), false, "make cluster: stop after the CNI is loaded and the nodes are Ready, leave the cluster running")
	fs.StringVar(&o.ExternalNetwork, p("external-network"), "kind", "docker network of the external host")
	fs.DurationVar(&o.CellTimeout, p("cell-timeout"), 45*time.Second, "how long one cell retries before it fails")
	fs.IntVar(&o.ChurnRounds, p("churn-rounds"), 3, "delete/recreate rounds of the churn check")
	fs.IntVar(&o.AgentKills, p("agent-kills"), 20, "how many times the healing cells SIGKILL podnet's agent at a random moment")
	fs.IntVar(&o.NodeHTTPPort, p("node-http-port"), 18080, "port the hostNetwork helper pods serve HTTP on (pod -> node cells)")
	fs.StringVar(&o.PodNetwork, p("pod-network"), kindconfig.PodSubnet, "the cluster pod subnet (the CNI's network)")
	fs.StringVar(&o.IPFamily, p("ip-family"), kindconfig.IPv4, "kind cluster's IP family: ipv4, ipv6 (IPv6 only) or dual; the matrix runs once per family")
	fs.StringVar(&o.PodNetwork6, p("pod-network6"), kindconfig.PodSubnet6, "the cluster's IPv6 pod subnet on an ipv6 or dual cluster (the CNI's network6)")
	fs.IntVar(&o.MTU, p("mtu"), 1500, "the pod network's MTU: the MTU cells send packets of exactly this size")
	fs.StringVar(&o.Break, p("break"), "", "break one thing on purpose (kind mode): portmap, hairpin, mtu, coredns, agent-routes (podnet: the agent routes nothing, the harness adds the routes once by hand) or lossy-node (worker 1 drops 5% of its forwarded packets)")
	o.Quality.register(fs, p)
	fs.BoolVar(&o.Hermetic, p("hermetic"), true, "while the kind cluster exists, drop forwarded traffic from its docker network to any other host interface (DOCKER-USER rule)")
}

// Validate checks the options that do not need a cluster.
func (o *Options) Validate() error {
	var errs []error
	if !validBreak(o.Break) {
		errs = append(errs, fmt.Errorf("break %q: want portmap, hairpin, mtu, coredns, agent-routes or lossy-node", o.Break))
	}
	if o.Kubeconfig != "" && o.Break != "" {
		errs = append(errs, errors.New("break is for clusters the harness creates, never for a gate cluster"))
	}
	if o.Kubeconfig == "" {
		if o.CNI != harness.CNIPodnet && o.CNI != harness.CNIBridge {
			errs = append(errs, fmt.Errorf("cni %q: want podnet or bridge", o.CNI))
		}
		if o.CNI == harness.CNIPodnet && o.AgentImage == "" {
			errs = append(errs, errors.New("agent-image is empty: podnet is installed from its image (make image builds it)"))
		}
		if o.Break == breakAgentRoutes && o.CNI != harness.CNIPodnet {
			errs = append(errs, errors.New("break agent-routes is podnet's agent's: use it with cni podnet"))
		}
		if o.NodeImage == "" {
			errs = append(errs, errors.New("node-image is empty: name the kind node image to create the cluster from"))
		}
		if o.Workers < 2 {
			errs = append(errs, fmt.Errorf("workers %d: the matrix needs at least 2", o.Workers))
		}
		if o.IPFamily != "" && kindconfig.Families(o.IPFamily) == nil {
			errs = append(errs, fmt.Errorf("ip-family %q: want ipv4, ipv6 or dual", o.IPFamily))
		}
	}
	errs = append(errs, o.Quality.validate()...)
	if o.Workers < 0 {
		errs = append(errs, fmt.Errorf("workers %d: negative", o.Workers))
	}
	if o.AgentKills < 1 {
		errs = append(errs, fmt.Errorf("agent-kills %d: at least 1", o.AgentKills))
	}
	if o.CellTimeout <= 0 {
		errs = append(errs, fmt.Errorf("cell-timeout %v: must be positive", o.CellTimeout))
	}
	return errors.Join(errs...)
}
