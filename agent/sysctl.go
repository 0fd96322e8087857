package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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
