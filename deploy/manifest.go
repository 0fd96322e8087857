package deploy

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"text/template"
)

// Names of the objects the manifest creates (the rollout gate and the e2e
// suite find the DaemonSet by them).
const (
	Namespace     = "podnet-system"
	DaemonSet     = "podnet-agent"
	Container     = "agent"
	ConfigMap     = "podnet-config"
	ConfigKey     = "config.json"
	AppLabel      = "app.kubernetes.io/name"
	HealthPort    = 9651 // the agent's /healthz, /readyz and /metrics (hostNetwork: on the node)
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
	// Env is extra environment for the agent container (name -> value), in
	// name order: for knobs the image documents.
	Env map[string]string
}

// AgentConfig is config.json as the agent reads it.
type AgentConfig struct {
	Name        string `json:"name"`
	Network     string `json:"network,omitempty"`
	Network6    string `json:"network6,omitempty"`
	MTU         int    `json:"mtu"`
	IPMasq      bool   `json:"ipMasq"`
	HairpinMode bool   `json:"hairpinMode"`
	Routes      string `json:"routes"`
	Portmap     bool   `json:"portmap"`
	Bridge      string `json:"bridge"`
	DataDir     string `json:"dataDir"`
	LogFile     string `json:"logFile"`
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
		Bridge: Bridge, DataDir: DataDir, LogFile: LogFile}
	if c.MTU == 0 {
		c.MTU = 1500
	}
	if c.Routes == "" {
		c.Routes = RoutesNode
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
			return fmt.Errorf("%s: %q is not a CIDR: %v", f.name, f.cidr, err)
		}
		if p.Addr().Is6() != f.v6 || p.Addr().Is4In6() {
			return fmt.Errorf("%s: %s is not an %s CIDR", f.name, f.cidr, map[bool]string{false: "IPv4", true: "IPv6"}[f.v6])
		}
	}
	if o.MTU != 0 && (o.MTU < 68 || o.MTU > 65535) {
		return fmt.Errorf("mtu: %d is outside 68-65535", o.MTU)
	}
	switch o.Routes {
	case "", RoutesNode, RoutesNone:
	default:
		return fmt.Errorf("routes: %q is not %q or %q", o.Routes, RoutesNode, RoutesNone)
	}
	for k := range o.Env {
		if k == "" || strings.ContainsAny(k, "= \t\n") {
			return fmt.Errorf("env: %q is not a variable name", k)
		}
	}
	return nil
}

//go:embed podnet.yaml.tmpl
var manifestTemplate string

var tmpl = template.Must(template.New("podnet.yaml").Funcs(template.FuncMap{
	"indent": func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad)
	},
	"json": func(v any) (string, error) { b, err := json.Marshal(v); return string(b), err },
}).Parse(manifestTemplate))

// Render returns the manifest for o: several YAML documents to kubectl apply.
func Render(o Options) ([]byte, error) {
	if err := o.Validate(); err != nil {
		return nil, err
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
	for _, k := range slices.Sorted(maps.Keys(o.Env)) {
		env = append(env, envVar{k, o.Env[k]})
	}
	var buf bytes.Buffer
	err = tmpl.Execute(&buf, map[string]any{
		"Namespace": Namespace, "DaemonSet": DaemonSet, "Container": Container, "ConfigMap": ConfigMap,
		"ConfigKey": ConfigKey, "AppLabel": AppLabel, "HealthPort": HealthPort, "ConfigHashKey": configHashKey,
		"Image": o.Image, "ImagePullPolicy": policy, "Config": string(cfg), "ConfigHash": hex.EncodeToString(sum[:8]),
		"DataDir": DataDir, "Env": env,
	})
	return buf.Bytes(), err
}
