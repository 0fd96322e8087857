// Package agent is podnet-agent, podnet's node agent: run as a DaemonSet pod
// on every node, it installs podnet's binaries and the node's conflist,
// owns the routes to the other nodes' pod subnets (its own route protocol,
// RouteProtocol), keeps podnet's iptables rules and sysctls in place, and
// tells podnet's STATUS when the node is ready (docs/agent.md).
package agent

import (
	"github.com/cnigate/cnigate/deploy"
	"github.com/cnigate/cnigate/internal/buildinfo"
)

// Version and Commit are the build's, stamped as every binary's are
// (internal/buildinfo: ci/image.sh, the Makefile's STAMP).
var (
	Version = buildinfo.Version()
	Commit  = buildinfo.Commit()
)

// RouteProtocol is the rtnetlink protocol (rtm_protocol, "proto" in
// `ip route`) of every route the agent makes. It is how the agent tells its
// routes from everyone else's: it lists, replaces and deletes only routes
// with this value, so it never touches a route it did not make. 147 is
// unused by the kernel (0-4) and by iproute2's rt_protos list.
const RouteProtocol = deploy.RouteProtocol
