package harness

import (
	"context"
	"fmt"
	"net"
	"strings"
)

// ExternalHost is a container the suite starts outside the cluster, on the
// docker network the kind nodes live on. It is not a node and has an
// "unreachable" route for the pod network, so it can only answer a pod whose
// traffic was masqueraded to its node's IP. It serves /cgi-bin/ip, which
// prints the source address it sees (REMOTE_ADDR).
type ExternalHost struct {
	Name    string
	Network string
	IP      string
	Subnet  *net.IPNet
}

// ExternalPort is the HTTP port of the external host.
const ExternalPort = 8080

// StartExternalHost starts (or replaces) the external host container.
func StartExternalHost(ctx context.Context, name, network, image, podNetwork string) (*ExternalHost, error) {
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
	_, pn, err := net.ParseCIDR(podNetwork)
	if err != nil {
		return h, err
	}
	if err := ReplaceRoutesInContainer(ctx, name, []Route{{Dst: pn, Unreachable: true}}); err != nil {
		return h, err
	}
	return h, nil
}

// Reaches reports whether ip is on the external host's docker network, i.e.
// whether a node with that InternalIP can reach it directly.
func (h *ExternalHost) Reaches(ip string) bool {
	a := net.ParseIP(ip)
	return a != nil && h.Subnet != nil && h.Subnet.Contains(a)
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
