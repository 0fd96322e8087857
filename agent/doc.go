// Package agent is podnet-agent, podnet's node agent: run as a DaemonSet pod
// on every node, it installs podnet's binaries and the node's conflist,
// owns the routes to the other nodes' pod subnets (its own route protocol,
// RouteProtocol), keeps podnet's iptables rules and sysctls in place, and
// tells podnet's STATUS when the node is ready (docs/agent.md).
package agent

import "github.com/cnigate/cnigate/deploy"

// Version and Commit are stamped at build time:
//
//	-ldflags "-X github.com/cnigate/cnigate/agent.Version=v1.2.3 -X github.com/cnigate/cnigate/agent.Commit=abc123"
var (
	Version = "dev"
	Commit  = "unknown"
)

// RouteProtocol is the rtnetlink protocol (rtm_protocol, "proto" in
// `ip route`) of every route the agent makes. It is how the agent tells its
// routes from everyone else's: it lists, replaces and deletes only routes
// with this value, so it never touches a route it did not make. 147 is
// unused by the kernel (0-4) and by iproute2's rt_protos list.
const RouteProtocol = deploy.RouteProtocol
