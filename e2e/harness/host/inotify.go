package host

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The host's inotify limits: every kind node is a container of the same user
// (root) on this host, so all the nodes' kubelets, containerds and
// kube-proxies share the user's inotify instances. At Debian's default of 128
// instances a cluster of 1 control plane + 8 workers runs out: kube-proxy on
// the last nodes exits with "too many open files" and crash-loops, and the
// Service cells of those nodes fail (kind documents the same known issue).

// InotifyLimit is one inotify sysctl and the least a kind cluster wants.
type InotifyLimit struct {
	Name string // under /proc/sys, e.g. fs/inotify/max_user_instances
	Want uint64
}

// InotifyLimits are the values kind's known-issues page recommends; they
// cover 1 control plane + 8 workers with room to spare.
var InotifyLimits = []InotifyLimit{
	{Name: "fs/inotify/max_user_instances", Want: 512},
	{Name: "fs/inotify/max_user_watches", Want: 524288},
}

// sysctlDir is where the sysctls are read and written (a test points it
// elsewhere).
var sysctlDir = "/proc/sys"

// InotifyRaise is one limit found below what kind wants.
type InotifyRaise struct {
	InotifyLimit
	Have uint64
}

func (r InotifyRaise) String() string {
	return fmt.Sprintf("%s %d -> %d", strings.ReplaceAll(r.Name, "/", "."), r.Have, r.Want)
}

// InotifyRaises lists the limits below what kind wants; a value the host set
// higher stays.
func InotifyRaises() ([]InotifyRaise, error) {
	var out []InotifyRaise
	for _, l := range InotifyLimits {
		raw, err := os.ReadFile(filepath.Join(sysctlDir, l.Name))
		if err != nil {
			return nil, err
		}
		have, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.Name, err)
		}
		if have < l.Want {
			out = append(out, InotifyRaise{InotifyLimit: l, Have: have})
		}
	}
	return out, nil
}

// RaiseInotifyLimits raises the host's inotify limits that are below what
// kind wants (root only) and returns what it changed. It never lowers one.
func RaiseInotifyLimits() ([]InotifyRaise, error) {
	raises, err := InotifyRaises()
	if err != nil {
		return nil, err
	}
	for i, r := range raises {
		if err := os.WriteFile(filepath.Join(sysctlDir, r.Name), []byte(strconv.FormatUint(r.Want, 10)), 0o644); err != nil {
			return raises[:i], fmt.Errorf("raising %s (kind nodes share the host's inotify instances; as root: sysctl -w %s=%d): %w",
				r.Name, strings.ReplaceAll(r.Name, "/", "."), r.Want, err)
		}
	}
	return raises, nil
}
