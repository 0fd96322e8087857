package deploy

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Names of the objects the manifest creates (the rollout gate and the e2e
// suite find the DaemonSet by them).
const (
	Namespace = "podnet-system"
	DaemonSet = "podnet-agent"
	// UninstallDaemonSet is RenderUninstall's DaemonSet.
	UninstallDaemonSet = "podnet-uninstall"
	Container          = "agent"
	ConfigMap          = "podnet-config"
	ConfigKey          = "config.json"
	AppLabel           = "app.kubernetes.io/name"
	HealthPort         = 9651 // the agent's /healthz, /readyz and /metrics (hostNetwork: on the node)
	// ConflistName is the file the agent writes in the node's CNI conf directory.
	ConflistName = "10-podnet.conflist"
	// MTUAnnotation on a Node replaces the MTU on that node.
	MTUAnnotation = "podnet.cnigate.io/mtu"
	// RouteProtocol is the rtnetlink protocol ("proto" in `ip route`) of
	// every route the agent makes: how it, its uninstall and the e2e tell its
	// routes from everyone else's (unused by the kernel and iproute2's list).
	RouteProtocol = 147
	DefaultImage  = "cnigate/podnet-agent:latest"
	configHashKey = "podnet.cnigate.io/config-hash"
)

// Routes modes of the agent.
const (
	RoutesNode = "node" // the agent routes every other node's pod subnets via its InternalIP
	RoutesNone = "none" // the fabric routes pod subnets (e.g. a VPC route table)
)

// Options are everything a cluster sets: the image and the cluster-wide
// settings the agent reads (config.json; the agent validates them, the
// field names are its).
type Options struct {
	Image           string
	ImagePullPolicy string // IfNotPresent when empty
	// Network and Network6: the cluster's pod network per family (kubeadm
	// --pod-network-cidr, kind's podSubnet); at least one.
	Network, Network6 string
	MTU               int    // 1500 when 0
	Routes            string // RoutesNode when empty
	NoMasquerade      bool   // ipMasq false
	NoHairpin         bool   // hairpinMode false
	NoPortmap         bool   // no portmap in the conflist (no hostPort)
	// CNIVersion is the conflist's cniVersion: "1.0.0" (default, every
	// runtime) or "1.1.0" (runtimes that send STATUS and GC; docs/agent.md).
	CNIVersion string
	// APIServer, "host:port", is where the agent reaches the API server
	// instead of the kubernetes Service: the Service needs kube-proxy's rules
	// on the node, which a rebooted node gets only after kube-proxy starts,
	// so with it the agent heals a rebooted node sooner (as cilium's
	// k8sServiceHost). Empty: the in-cluster default.
	APIServer string
	// Env is extra environment for the agent container (name -> value), in
	// name order: for knobs the image documents.
	Env map[string]string
}

// AgentConfig is config.json, the cluster-wide settings of podnet-agent
// (ConfigMap podnet-config): the one schema, which the agent reads (it
// embeds this type and validates every field) and Render writes.
type AgentConfig struct {
	// Name is the CNI network name (and the iptables comment "podnet: <name>").
	Name string `json:"name"`
	// Network and Network6 are the cluster's pod network per family; at
	// least one is set. A node's spec.podCIDRs of a family lie inside it.
	Network  string `json:"network,omitempty"`
	Network6 string `json:"network6,omitempty"`
	// MTU of the pods' interfaces; the Node annotation
	// podnet.cnigate.io/mtu overrides it per node.
	MTU         int  `json:"mtu"`
	IPMasq      bool `json:"ipMasq"`
	HairpinMode bool `json:"hairpinMode"`
	// Routes is RoutesNode (the agent routes other nodes' podCIDRs via
	// their InternalIP) or RoutesNone (the fabric routes pod subnets).
	Routes string `json:"routes"`
	// Portmap chains the portmap plugin after podnet in the conflist.
	Portmap bool   `json:"portmap"`
	Bridge  string `json:"bridge"`
	DataDir string `json:"dataDir"`
	LogFile string `json:"logFile"`
	// CNIVersion is the conflist's cniVersion: "1.0.0" (every runtime) or
	// "1.1.0", for runtimes whose libcni knows it (containerd 2, CRI-O):
	// libcni sends STATUS and GC only to 1.1.0 lists, and STATUS is how an
	// agent-less node turns NotReady. A runtime with an older libcni
	// (containerd 1.6) fails every ADD on a 1.1.0 result.
	CNIVersion string `json:"cniVersion"`
}

// Node-side defaults the manifest fixes (the hostPath mounts follow them).
const (
	NetworkName = "podnet"
	Bridge      = "cni0"
	DataDir     = "/var/lib/cni/podnet"
	LogFile     = "/var/log/podnet.log"
)

// Config is the agent's config.json for o.
func (o Options) Config() AgentConfig {
	c := AgentConfig{Name: NetworkName, Network: o.Network, Network6: o.Network6, MTU: o.MTU,
		IPMasq: !o.NoMasquerade, HairpinMode: !o.NoHairpin, Routes: o.Routes, Portmap: !o.NoPortmap,
		Bridge: Bridge, DataDir: DataDir, LogFile: LogFile, CNIVersion: o.CNIVersion}
	if c.MTU == 0 {
		c.MTU = 1500
	}
	if c.Routes == "" {
		c.Routes = RoutesNode
	}
	if c.CNIVersion == "" {
		c.CNIVersion = "1.0.0"
	}
	return c
}

// Validate checks what the manifest itself needs; the agent validates the
// settings in full when it starts (and the tests check both agree).
func (o Options) Validate() error {
	if o.Image == "" {
		return fmt.Errorf("image: empty (the podnet-agent image reference, e.g. from make image)")
	}
	switch o.ImagePullPolicy {
	case "", "Always", "IfNotPresent", "Never":
	default:
		return fmt.Errorf("image pull policy: %q is not Always, IfNotPresent or Never", o.ImagePullPolicy)
	}
	if o.Network == "" && o.Network6 == "" {
		return fmt.Errorf("network: give the cluster's pod network (kubeadm --pod-network-cidr) in at least one family (network, network6)")
	}
	for _, f := range []struct {
		name, cidr string
		v6         bool
	}{{"network", o.Network, false}, {"network6", o.Network6, true}} {
		if f.cidr == "" {
			continue
		}
		p, err := netip.ParsePrefix(f.cidr)
		if err != nil {
			return fmt.Errorf("%s: %q is not a CIDR: %w", f.name, f.cidr, err)
		}
		if p.Addr().Is6() != f.v6 || p.Addr().Is4In6() {
			return fmt.Errorf("%s: %s is not an %s CIDR", f.name, f.cidr, map[bool]string{false: "IPv4", true: "IPv6"}[f.v6])
		}
	}
	if o.MTU != 0 && (o.MTU < 68 || o.MTU > 65535) {
		return fmt.Errorf("mtu: %d is outside 68-65535", o.MTU)
	}
	switch o.CNIVersion {
	case "", "1.0.0", "1.1.0":
	default:
		return fmt.Errorf("cni version: %q is not 1.0.0 or 1.1.0", o.CNIVersion)
	}
	switch o.Routes {
	case "", RoutesNode, RoutesNone:
	default:
		return fmt.Errorf("routes: %q is not %q or %q", o.Routes, RoutesNode, RoutesNone)
	}
	if o.APIServer != "" {
		host, port, err := net.SplitHostPort(o.APIServer)
		if err != nil || host == "" {
			return fmt.Errorf("api server: %q is not host:port", o.APIServer)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("api server: port %q is not 1-65535", port)
		}
	}
	for k := range o.Env {
		if k == "" || strings.ContainsAny(k, "= \t\n") {
			return fmt.Errorf("env: %q is not a variable name", k)
		}
	}
	return nil
}

//go:embed podnet.yaml.tmpl podspec.tmpl uninstall.yaml.tmpl gate-job.yaml.tmpl
var templates embed.FS

var tmpl = template.Must(template.New("").Funcs(template.FuncMap{
	"indent": func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad)
	},
	"json": func(v any) (string, error) { b, err := json.Marshal(v); return string(b), err },
}).ParseFS(templates, "*.tmpl"))

// Render returns the manifest for o: several YAML documents to kubectl apply.
func Render(o Options) ([]byte, error) {
	return render("podnet.yaml.tmpl", o, []string{"run"}, "")
}

// RenderUninstall returns the manifest that removes podnet from every node
// (node "") or from one: a DaemonSet running `podnet-agent uninstall --wait`
// with the agent's image, privileges and mounts, Ready once that node is
// clean. It carries its own Namespace and config.json (the agent's
// DaemonSet must be gone, its other objects need not be) and no API access.
func RenderUninstall(o Options, node string) ([]byte, error) {
	if node != "" {
		if errs := validation.IsDNS1123Subdomain(node); len(errs) > 0 {
			return nil, fmt.Errorf("node: %q is not a node name: %s", node, strings.Join(errs, "; "))
		}
	}
	return render("uninstall.yaml.tmpl", o, []string{"uninstall", "--wait"}, node)
}

func render(file string, o Options, args []string, node string) ([]byte, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	serviceAccount := DaemonSet
	if file == "uninstall.yaml.tmpl" {
		serviceAccount = "" // uninstall needs no API access
	}
	cfg, err := json.MarshalIndent(o.Config(), "", "  ")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(cfg)
	policy := o.ImagePullPolicy
	if policy == "" {
		policy = "IfNotPresent"
	}
	type envVar struct{ Name, Value string }
	var env []envVar
	if o.APIServer != "" {
		host, port, _ := net.SplitHostPort(o.APIServer)
		// client-go's in-cluster config reads these (the kubelet's own are
		// overridden by the container's)
		env = append(env, envVar{"KUBERNETES_SERVICE_HOST", host}, envVar{"KUBERNETES_SERVICE_PORT", port})
	}
	for _, k := range slices.Sorted(maps.Keys(o.Env)) {
		env = append(env, envVar{k, o.Env[k]})
	}
	var buf bytes.Buffer
	err = tmpl.ExecuteTemplate(&buf, file, map[string]any{
		"Namespace": Namespace, "DaemonSet": DaemonSet, "Container": Container, "ConfigMap": ConfigMap,
		"ConfigKey": ConfigKey, "AppLabel": AppLabel, "HealthPort": HealthPort, "ConfigHashKey": configHashKey,
		"Image": o.Image, "ImagePullPolicy": policy, "Config": string(cfg), "ConfigHash": hex.EncodeToString(sum[:8]),
		"DataDir": DataDir, "Env": env, "Args": args, "Probes": true, "Node": node,
		"UninstallDaemonSet": UninstallDaemonSet, "ServiceAccount": serviceAccount,
	})
	return buf.Bytes(), err
}
