package nodenet

import (
	"context"
	"fmt"
	"net"
	"strings"
)

// ExternalHost is a container the suite starts outside the cluster, on the
// docker network the kind nodes live on. It is not a node and has an
// "unreachable" route for the pod network (per family), so it can only answer
// a pod whose traffic was masqueraded to its node's IP. It serves /cgi-bin/ip, which
// prints the source address it sees (REMOTE_ADDR).
type ExternalHost struct {
	Name    string
	Network string
	IP      string
	Subnet  *net.IPNet
	// IP6 and Subnet6 are its address on the network's IPv6 subnet and that
	// subnet (IPv6 and dual-stack runs).
	IP6     string
	Subnet6 *net.IPNet
}

// ExternalPort is the HTTP port of the external host.
const ExternalPort = 8080

// StartExternalHost starts (or replaces) the external host container.
// podNetwork, when set, is the IPv4 pod network, podNetwork6 the IPv6 one:
// the host then also needs an IPv6 address (the docker network's IPv6
// subnet). It gets an unreachable route for each pod network given; at
// least one must be.
func StartExternalHost(ctx context.Context, name, network, image, podNetwork, podNetwork6 string) (*ExternalHost, error) {
	if podNetwork == "" && podNetwork6 == "" {
		return nil, fmt.Errorf("external host %s: no pod network to keep it off", name)
	}
	_, _ = Docker(ctx, "rm", "-f", "-v", name) // a leftover from an interrupted run; absent is fine
	if _, err := Docker(ctx, "run", "-d", "--name", name, "--network", network,
		"--label", "io.cnigate.e2e=external", "--entrypoint", "httpd",
		image, "-f", "-p", fmt.Sprint(ExternalPort), "-h", "/www"); err != nil {
		return nil, err
	}
	h := &ExternalHost{Name: name, Network: network}
	ip, err := Docker(ctx, "inspect", "--format",
		fmt.Sprintf(`{{with index .NetworkSettings.Networks %q}}{{.IPAddress}}/{{.IPPrefixLen}}{{end}}`, network), name)
	if err != nil {
		return h, err
	}
	addr, subnet, err := net.ParseCIDR(ip)
	if err != nil {
		return h, fmt.Errorf("external host %s: no IPv4 address on network %s (%q)", name, network, ip)
	}
	h.IP, h.Subnet = addr.String(), subnet
	var routes []Route
	if podNetwork != "" {
		_, pn, err := net.ParseCIDR(podNetwork)
		if err != nil {
			return h, err
		}
		routes = append(routes, Route{Dst: pn, Unreachable: true})
	}
	if podNetwork6 != "" {
		ip6, err := Docker(ctx, "inspect", "--format",
			fmt.Sprintf(`{{with index .NetworkSettings.Networks %q}}{{.GlobalIPv6Address}}/{{.GlobalIPv6PrefixLen}}{{end}}`, network), name)
		if err != nil {
			return h, err
		}
		a, subnet6, err := net.ParseCIDR(strings.TrimSpace(ip6))
		if err != nil || a.To4() != nil {
			return h, fmt.Errorf("external host %s: no IPv6 address on network %s (%q): the docker network needs IPv6 (docker network inspect %s: EnableIPv6)", name, network, ip6, network)
		}
		h.IP6, h.Subnet6 = a.String(), subnet6
		_, pn6, err := net.ParseCIDR(podNetwork6)
		if err != nil {
			return h, err
		}
		routes = append(routes, Route{Dst: pn6, Unreachable: true})
	}
	if err := ReplaceRoutesInContainer(ctx, name, routes); err != nil {
		return h, err
	}
	return h, nil
}

// Reaches reports whether ip is on the external host's docker network (its
// IPv4 or IPv6 subnet), i.e. whether a node with that InternalIP can reach it
// directly.
func (h *ExternalHost) Reaches(ip string) bool {
	a := net.ParseIP(ip)
	if a == nil {
		return false
	}
	return h.Subnet != nil && h.Subnet.Contains(a) || h.Subnet6 != nil && h.Subnet6.Contains(a)
}

// Stop removes the external host container and its volumes.
func (h *ExternalHost) Stop(ctx context.Context) error {
	if h == nil {
		return nil
	}
	_, err := Docker(ctx, "rm", "-f", "-v", h.Name)
	if err != nil && strings.Contains(err.Error(), "No such container") {
		return nil
	}
	return err
}
