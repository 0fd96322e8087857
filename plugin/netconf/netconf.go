// Package netconf is podnet's network configuration on the wire: the keys of
// the podnet entry of a conflist. podnet parses it (and validates it, in
// plugin/config.go) and podnet-agent writes it, so the two cannot drift apart.
// It holds no logic: importing it costs the plugin binary nothing.
package netconf

// Type is the plugin's "type" in a conflist.
const Type = "podnet"

// Defaults of the optional keys. They reproduce the bash-cni tutorial's node
// setup, so its config only needs "type" changed.
const (
	DefaultBridge  = "cni0"
	DefaultMTU     = 1500
	DefaultDataDir = "/var/lib/cni/podnet"
)

// Podnet is podnet's own keys; the CNI's common ones (cniVersion, name,
// type, prevResult, ...) are the CNI library's types.PluginConf. Every key
// is omitted when empty, so a writer states only what it sets (the agent
// sets bridge, mtu, ipMasq, hairpinMode, dataDir and nodeAgent always).
type Podnet struct {
	// Network is the whole IPv4 pod network of the cluster (all nodes'
	// subnets), Network6 the IPv6 one; at least one family is configured.
	Network string `json:"network,omitempty"`
	// Subnet is this node's share of Network; its first host is the gateway.
	Subnet string `json:"subnet,omitempty"`
	// Network6 and Subnet6 are the IPv6 counterparts of Network and Subnet.
	Network6 string `json:"network6,omitempty"`
	Subnet6  string `json:"subnet6,omitempty"`
	Bridge   string `json:"bridge,omitempty"`
	MTU      int    `json:"mtu,omitempty"`
	// IPMasq and HairpinMode default to true when absent, hence pointers.
	IPMasq      *bool  `json:"ipMasq,omitempty"`
	HairpinMode *bool  `json:"hairpinMode,omitempty"`
	DataDir     string `json:"dataDir,omitempty"`
	LogFile     string `json:"logFile,omitempty"`
	// NodeAgent says podnet-agent owns this node's routes and rules: STATUS
	// then also requires the agent's ready stamp and (with ipMasq) the rules.
	// It also marks a conflist as the agent's own.
	NodeAgent bool `json:"nodeAgent,omitempty"`
}

// Entry is podnet's entry in a conflist's "plugins": the type, then
// podnet's keys (name and cniVersion are the list's).
type Entry struct {
	Type string `json:"type"`
	Podnet
}
