package nodenet

// NodeInfo is what the suite needs to know about a Kubernetes node.
type NodeInfo struct {
	Name       string
	InternalIP string
	PodCIDR    string
	// InternalIP6 and PodCIDR6 are the node's IPv6 side on a dual-stack
	// cluster ("" on an IPv4-only one).
	InternalIP6  string
	PodCIDR6     string
	ControlPlane bool
	// Zone is the node's topology label (topology.kubernetes.io/zone; ""
	// without one): the matrix's pair plan spreads pairs across zones.
	Zone string
}
