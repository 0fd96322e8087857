package conformance

import (
	"fmt"
	"os"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	"sigs.k8s.io/yaml"

	"github.com/cnigate/cnigate/cnitest"
)

// Profile tells the suite what the plugin under test is, where the CNI spec
// leaves it open: where its IPAM state lives, which host fixtures it needs,
// what its data path promises. A spec the profile rules out is skipped with
// a "profile: ..." reason, never dropped. The zero Profile is podnet's (and
// upstream bridge's) world: a directory IPAM, a gateway and default route,
// pods on one node reaching each other over IPv4, any number of
// attachments per config.
type Profile struct {
	// Name of the plugin, for reports.
	Name string `json:"name"`
	// NetConf says where a plain netconf (no template placeholders) takes
	// the suite's knobs: dotted JSON paths, numbers index arrays
	// ("ipam.ranges.0.0.subnet"). Empty: the knob is not set.
	NetConf cnitest.NetConfKnobs `json:"netconf"`
	IPAM    IPAMState            `json:"ipam"`
	// Fixtures are devices the suite creates in every spec's host netns.
	Fixtures Fixtures `json:"fixtures"`
	DataPath DataPath `json:"dataPath"`
	// OptOut lists conventions (labels of specs marked "convention") the
	// plugin does not follow, each with why; those specs are skipped saying so.
	OptOut map[string]string `json:"optOut"`
}

// IPAM state kinds.
const (
	// IPAMDir: every reservation is a file under the data dir mentioning the
	// container ID (podnet, host-local).
	IPAMDir = "dir"
	// IPAMCommand: Command prints the reservations, one a line, each
	// mentioning the container ID (a daemon's or a database's CLI).
	IPAMCommand = "command"
	// IPAMNone: the plugin keeps no state the suite can read (DHCP, static).
	IPAMNone = "none"
)

// IPAMState says where the plugin's reservations live.
type IPAMState struct {
	// Kind is dir (default), command or none.
	Kind string `json:"kind"`
	// Command lists the reservations (kind command); an argument
	// "{{.DataDir}}" is replaced by the spec's data dir.
	Command []string `json:"command"`
}

// Fixtures are host devices a plugin needs: each is a veth pair (the
// kernels this runs on may lack the dummy driver), the named end up.
type Fixtures struct {
	// Uplink is the master device of macvlan, ipvlan, vlan ("master").
	Uplink string `json:"uplink"`
	// Device is the device host-device moves into the pod ("device").
	Device string `json:"device"`
	// KernelLinks are link kinds the plugin creates that a kernel may lack
	// (ipvlan, vlan, macvlan): the suite checks it can make them before it
	// starts, and stops saying so when it cannot.
	KernelLinks []string `json:"kernelLinks"`
}

// isFixture reports whether name is a fixture device or its peer.
func (f Fixtures) isFixture(name string) bool {
	for _, d := range []string{f.Uplink, f.Device} {
		if d != "" && (name == d || name == d+"-p") {
			return true
		}
	}
	return false
}

// DataPath is what the plugin's attachments promise. Nil booleans are true.
type DataPath struct {
	// Gateway: the result names a gateway, the pod has a default route via
	// it and reaches it.
	Gateway *bool `json:"gateway"`
	// SameNodeL2: two pods of one node reach each other.
	SameNodeL2 *bool `json:"sameNodeL2"`
	// Families the plugin configures: ipv4, ipv6 (default ipv4).
	Families []string `json:"families"`
	// MaxAttachments per config at once (0: no limit; 1 for a plugin that
	// moves one host device into the pod).
	MaxAttachments int `json:"maxAttachments"`
}

// LoadProfile reads a YAML or JSON profile; unknown fields are refused so a
// misspelt key does not silently change what runs.
func LoadProfile(path string) (Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Profile{}, fmt.Errorf("profile: %w", err)
	}
	return ParseProfile(path, data)
}

// ParseProfile parses a YAML or JSON profile named name.
func ParseProfile(name string, data []byte) (Profile, error) {
	var p Profile
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", name, err)
	}
	switch p.IPAM.Kind {
	case "":
		p.IPAM.Kind = IPAMDir
	case IPAMDir, IPAMNone:
	case IPAMCommand:
		if len(p.IPAM.Command) == 0 {
			return Profile{}, fmt.Errorf("profile %s: ipam.kind command needs ipam.command", name)
		}
	default:
		return Profile{}, fmt.Errorf("profile %s: ipam.kind %q: want dir, command or none", name, p.IPAM.Kind)
	}
	for _, f := range p.DataPath.Families {
		if f != "ipv4" && f != "ipv6" {
			return Profile{}, fmt.Errorf("profile %s: dataPath.families: %q: want ipv4 or ipv6", name, f)
		}
	}
	for _, kind := range p.Fixtures.KernelLinks {
		if _, ok := cnitest.LinkKinds[kind]; !ok {
			return Profile{}, fmt.Errorf("profile %s: fixtures.kernelLinks: %q: want one of ipvlan, macvlan, vlan", name, kind)
		}
	}
	for label := range p.OptOut {
		if !containsString(conventions, label) {
			return Profile{}, fmt.Errorf("profile %s: optOut %q: not a convention of the suite (%s)", name, label, strings.Join(conventions, ", "))
		}
	}
	return p, nil
}

func (d DataPath) gateway() bool    { return d.Gateway == nil || *d.Gateway }
func (d DataPath) sameNodeL2() bool { return d.SameNodeL2 == nil || *d.SameNodeL2 }

// families are the address families every attachment gets (default ipv4).
func (d DataPath) families() []string {
	if len(d.Families) == 0 {
		return []string{"ipv4"}
	}
	return d.Families
}

// requireAttachments skips the running spec when it needs more attachments
// of one config at once than the profile allows.
func requireAttachments(n int) {
	if maxAttachments := cfg.profile.DataPath.MaxAttachments; maxAttachments > 0 && n > maxAttachments {
		Skip(fmt.Sprintf("profile: dataPath.maxAttachments is %d, the spec needs %d attachments at once", maxAttachments, n))
	}
}

// requireGateway skips the running spec when the plugin promises no gateway.
func requireGateway() {
	if !cfg.profile.DataPath.gateway() {
		Skip("profile: dataPath.gateway is false (no gateway or default route promised)")
	}
}

// requireIPAMFiles skips the running spec unless reservations are files.
func requireIPAMFiles() {
	if cfg.profile.IPAM.Kind != IPAMDir {
		Skip("profile: ipam.kind is " + cfg.profile.IPAM.Kind + ", the spec removes a reservation file")
	}
}
