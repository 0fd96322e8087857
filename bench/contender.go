package bench

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/cnigate/cnigate/cnitest"
	"github.com/cnigate/cnigate/results"
)

const (
	bridgeName = "cni0" // what both templates name the bridge
	ifName     = "eth0"
	netName    = "bench"
)

// spec says how to run one contender.
type spec struct {
	name   string
	plugin cnitest.Plugin
	// tmpl renders the network config; nil for a floor, which takes
	// environment variables instead.
	tmpl   *cnitest.NetConfTemplate
	fields map[string]any // top-level overrides of the rendered config
	maxrss string         // the maxrss launcher
	subnet *net.IPNet
	mtu    int
	params cnitest.NetConfParams
	// targets are the table entry's goals.
	targets []Target
	// families every pod must get an address of; preload is written into
	// the data dir before the first phase.
	families []string
	preload  *Preload
	// state is where its directory lives (StateTmpfs or StateHost).
	state string
}

// specsOf resolves the table's binaries and templates.
func specsOf(table Table, o Options, subnet *net.IPNet) ([]spec, error) {
	params := cnitest.NetConfParams{CNIVersion: version.Current(), Name: netName, Network: o.Network, Subnet: o.Subnet, MTU: o.MTU}
	var specs []spec
	for _, e := range table.Contenders {
		s := spec{name: e.Name, maxrss: o.MaxRSS, subnet: subnet, mtu: o.MTU, params: params, targets: e.Targets,
			families: e.families(), preload: e.Preload, state: cmp.Or(e.State, o.State)}
		if err := s.ownNetwork(e, o); err != nil {
			return nil, fmt.Errorf("contender %s: %w", e.Name, err)
		}
		cniPath, err := absOrEmpty(e.CNIPath)
		if err != nil {
			return nil, err
		}
		if s.plugin, err = cnitest.NewPlugin(e.Plugin, cniPath); err != nil {
			return nil, fmt.Errorf("contender %s: %w", e.Name, err)
		}
		for _, need := range e.Needs {
			if _, err := os.Stat(filepath.Join(s.plugin.CNIPath, need)); err != nil {
				return nil, fmt.Errorf("contender %s needs %s in CNI_PATH %s: %w", e.Name, need, s.plugin.CNIPath, err)
			}
		}
		if e.Floor {
			specs = append(specs, s)
			continue
		}
		if s.tmpl, err = cnitest.LoadNetConfTemplate(e.NetConf); err != nil {
			return nil, fmt.Errorf("contender %s: %w", e.Name, err)
		}
		s.fields = map[string]any{}
		for k, v := range e.Fields {
			s.fields[k] = v
		}
		if o.IPMasq != nil {
			s.fields["ipMasq"] = *o.IPMasq
		}
		specs = append(specs, s)
	}
	return specs, nil
}

func absOrEmpty(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	return filepath.Abs(path)
}

// contender is one plugin with its world: a host netns, a data dir, pod netns.
type contender struct {
	spec
	host ns.NetNS
	dir  string
	conf []byte
	pods []ns.NetNS
	// addResps are the sequential ADDs' responses, by pod; preloaded the
	// addresses of the preload (a pod holding one is a duplicate).
	addResps  []cnitest.Response
	preloaded map[string]bool

	res                  results.BenchContender
	addTiming, delTiming timing
}

// timing is the command's measured latencies.
func (c *contender) timing(cmd string) *timing {
	if cmd == "ADD" {
		return &c.addTiming
	}
	return &c.delTiming
}

// newContender creates the contender's host netns, data dir and pods. On error
// it returns what it created so far, for close.
func newContender(s spec, namespaces *cnitest.Namespaces, dir string, pods int) (*contender, error) {
	c := &contender{spec: s, dir: dir}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var err error
	if c.host, err = namespaces.New(); err != nil {
		return c, err
	}
	if s.tmpl != nil {
		params := s.params
		params.DataDir = filepath.Join(dir, "data")
		if c.conf, err = s.tmpl.Render(params); err != nil {
			return c, err
		}
		if c.conf, err = cnitest.WithFields(c.conf, s.fields); err != nil {
			return c, err
		}
	}
	for range pods {
		pod, err := namespaces.New()
		if err != nil {
			return c, err
		}
		c.pods = append(c.pods, pod)
	}
	return c, nil
}

func (c *contender) close(namespaces *cnitest.Namespaces) error {
	var err error
	for _, pod := range c.pods {
		err = errors.Join(err, namespaces.Delete(pod))
	}
	if c.host != nil {
		err = errors.Join(err, namespaces.Delete(c.host))
	}
	return err
}

// invocation is command for pod i of container id.
func (c *contender) invocation(command string, i int, id string) cnitest.Invocation {
	inv := cnitest.Invocation{Command: command, ContainerID: id, NetNS: c.pods[i].Path(), IfName: ifName, Config: c.conf}
	if c.tmpl == nil {
		// A floor gets what a plugin works out for itself.
		inv.Env = append(inv.CNIEnv(c.plugin.CNIPath).List(),
			"FLOOR_ADDRESS="+(&net.IPNet{IP: c.podAddress(i), Mask: c.subnet.Mask}).String(),
			"FLOOR_GATEWAY="+c.gateway().String(),
			"FLOOR_BRIDGE="+bridgeName,
			"FLOOR_MTU="+strconv.Itoa(c.mtu))
		if slices.Contains(c.families, "ipv6") {
			inv.Env = append(inv.Env,
				"FLOOR_ADDRESS6="+(&net.IPNet{IP: c.podAddress6(i), Mask: floorSubnet6.Mask}).String(),
				"FLOOR_GATEWAY6="+c.gateway6().String())
		}
	}
	return inv
}

// run runs one invocation in the contender's host netns.
func (c *contender) run(ctx context.Context, timeout time.Duration, inv cnitest.Invocation) (cnitest.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return c.plugin.Run(ctx, c.host, inv)
}

// runMaxRSS runs inv through the maxrss launcher and returns the plugin
// process's peak RSS in KiB.
func (c *contender) runMaxRSS(ctx context.Context, timeout time.Duration, inv cnitest.Invocation) (cnitest.Response, int64, error) {
	if inv.Env == nil {
		inv.Env = inv.CNIEnv(c.plugin.CNIPath).List()
	}
	inv.Env = append(inv.Env, "MAXRSS_EXEC="+c.plugin.Path)
	launcher := cnitest.Plugin{Path: c.maxrss, CNIPath: c.plugin.CNIPath}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := launcher.Run(ctx, c.host, inv)
	if err != nil {
		return resp, 0, err
	}
	kib, err := parseMaxRSS(resp.Stderr)
	return resp, kib, err
}

func parseMaxRSS(stderr []byte) (int64, error) {
	const prefix = "maxrss-kib="
	lines := strings.Split(strings.TrimSpace(string(stderr)), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, prefix) {
		return 0, fmt.Errorf("maxrss printed no %q line: %q", prefix, stderr)
	}
	return strconv.ParseInt(strings.TrimPrefix(last, prefix), 10, 64)
}

// podAddress is the floor's address for pod i: the i-th after the gateway.
func (c *contender) podAddress(i int) net.IP {
	return addToIP(c.subnet.IP, uint32(2+i))
}

func (c *contender) gateway() net.IP { return addToIP(c.subnet.IP, 1) }

// floorSubnet6 is a dual-stack floor's IPv6 pod subnet. Each contender has its
// own host netns, so it cannot clash with a plugin's IPv6 range.
var floorSubnet6 = &net.IPNet{IP: net.ParseIP("fd00:10:98:1::"), Mask: net.CIDRMask(64, 128)}

// podAddress6 and gateway6: the IPv6 counterparts of podAddress and gateway.
func (c *contender) podAddress6(i int) net.IP { return addToIP6(floorSubnet6.IP, uint32(2+i)) }

func (c *contender) gateway6() net.IP { return addToIP6(floorSubnet6.IP, 1) }

// addToIP6 adds n to the low 32 bits of an IPv6 address (a /64's host part
// never carries over with the bench's pod counts).
func addToIP6(ip net.IP, n uint32) net.IP {
	out := make(net.IP, net.IPv6len)
	copy(out, ip.To16())
	binary.BigEndian.PutUint32(out[12:], binary.BigEndian.Uint32(out[12:])+n)
	return out
}

func addToIP(ip net.IP, n uint32) net.IP {
	out := make(net.IP, 4)
	binary.BigEndian.PutUint32(out, binary.BigEndian.Uint32(ip.To4())+n)
	return out
}

// leftovers counts what DELs left: pod interfaces and host veths.
func (c *contender) leftovers() (int, error) {
	n := 0
	for i := range c.pods {
		_, found, err := cnitest.LinkIn(c.pods[i], ifName)
		if err != nil {
			return n, err
		}
		if found {
			n++
		}
	}
	links, err := cnitest.LinksIn(c.host)
	for _, l := range links {
		if l.Type == "veth" {
			n++
		}
	}
	return n, err
}
