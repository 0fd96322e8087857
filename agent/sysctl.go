package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// sysctl is one kernel setting podnet's pods need before any pod exists.
type sysctl struct {
	key      string // under /proc/sys, dotted
	value    string
	optional bool // skipped when its directory does not exist (br_netfilter not loaded)
}

// Sysctls returns the settings for the configured families: forwarding per
// family, and bridge-nf-call so that a same-node Service reply, which is
// bridged, still goes through kube-proxy's NAT.
func Sysctls(c *Config) []sysctl {
	var out []sysctl
	for _, ipv6 := range c.families() {
		if ipv6 {
			out = append(out, sysctl{"net.ipv6.conf.all.forwarding", "1", false},
				sysctl{"net.bridge.bridge-nf-call-ip6tables", "1", true})
		} else {
			out = append(out, sysctl{"net.ipv4.ip_forward", "1", false},
				sysctl{"net.bridge.bridge-nf-call-iptables", "1", true})
		}
	}
	return out
}

// ensureSysctls writes each setting that differs, under root (/proc/sys).
func ensureSysctls(root string, want []sysctl) error {
	var errs []error
	for _, s := range want {
		path := filepath.Join(root, strings.ReplaceAll(s.key, ".", "/"))
		cur, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) && s.optional {
			continue
		}
		if err == nil && strings.TrimSpace(string(cur)) == s.value {
			continue
		}
		if err := os.WriteFile(path, []byte(s.value+"\n"), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("sysctl %s=%s: %w", s.key, s.value, err))
		}
	}
	return errors.Join(errs...)
}

// raAtRisk returns the interfaces (sorted) that hold an IPv6 default route
// learnt from router advertisements (protocol "ra") and have accept_ra=1:
// once net.ipv6.conf.all.forwarding=1 the kernel ignores their RAs, so the
// route is never renewed and expires (accept_ra=2 keeps them). The agent
// only warns: accept_ra is the node's to choose.
func (t routeTable) raAtRisk(sysctlRoot string) ([]string, error) {
	rs, err := t.h.RouteListFiltered(unix.AF_INET6, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("listing IPv6 routes: %w", err)
	}
	var out []string
	for _, r := range rs {
		if r.Protocol != unix.RTPROT_RA || (r.Dst != nil && !isDefaultRoute(r.Dst)) {
			continue
		}
		links := []int{r.LinkIndex}
		for _, nh := range r.MultiPath {
			links = append(links, nh.LinkIndex)
		}
		for _, idx := range links {
			if idx == 0 {
				continue
			}
			l, err := t.h.LinkByIndex(idx)
			if err != nil {
				return nil, fmt.Errorf("link %d of an RA default route: %w", idx, err)
			}
			name := l.Attrs().Name
			v, err := os.ReadFile(filepath.Join(sysctlRoot, "net/ipv6/conf", name, "accept_ra"))
			if err != nil {
				return nil, err
			}
			if strings.TrimSpace(string(v)) == "1" && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

func isDefaultRoute(dst *net.IPNet) bool {
	ones, _ := dst.Mask.Size()
	return ones == 0
}
