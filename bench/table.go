package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"

	"github.com/cnigate/cnigate/results"
)

// Table is what a run compares: any number of contenders, one of them the
// baseline every ratio is computed against (contender / baseline).
type Table struct {
	Baseline   string      `json:"baseline"`
	Contenders []Contender `json:"contenders"`
}

// Contender is one entry of the table: a plugin binary and its config.
type Contender struct {
	// Name labels the contender in every report (letters, digits, '.', '_', '-').
	Name string `json:"name"`
	// Plugin is the binary run once per CNI command.
	Plugin string `json:"plugin"`
	// CNIPath is the CNI_PATH it gets (where its IPAM plugin is); default: the
	// binary's directory.
	CNIPath string `json:"cniPath,omitempty"`
	// Needs lists binaries that must be in CNI_PATH (e.g. host-local).
	Needs []string `json:"needs,omitempty"`
	// NetConf is the network config template (placeholders of
	// cnitest.NetConfParams); Fields are top-level overrides of the rendered
	// config (null deletes a field).
	NetConf string         `json:"netconf,omitempty"`
	Fields  map[string]any `json:"fields,omitempty"`
	// Floor marks bench/floor: no config, the address, gateway, bridge and MTU
	// are handed over in FLOOR_* variables.
	Floor bool `json:"floor,omitempty"`
	// Network and Subnet replace the run's IPv4 pod network and node subnet
	// for this contender (rendered into its template and used by every check
	// of its addresses), e.g. a /16 for a big store.
	Network string `json:"network,omitempty"`
	Subnet  string `json:"subnet,omitempty"`
	// Families are the address families every pod must get one address of
	// (from the result and on its interface): "ipv4" (the default) and/or
	// "ipv6". The config itself configures them (Fields).
	Families []string `json:"families,omitempty"`
	// State is where the contender's data dir lives:
	// "tmpfs" or "host" (Options.State, which is the default).
	State string `json:"state,omitempty"`
	// Preload is state written into the contender's data directory before
	// the first phase (an IPAM store already holding reservations).
	Preload *Preload `json:"preload,omitempty"`
	// Targets are speed goals of this contender, reported (never asserted).
	Targets []Target `json:"targets,omitempty"`
}

// Target is a goal "Metric of this contender <= Limit x Metric of Against".
type Target struct {
	// Metric is add_p50, del_p50 or burst (ADD burst + DEL burst wall time).
	Metric  string  `json:"metric"`
	Against string  `json:"against"`
	Limit   float64 `json:"limit"`
	// Clean also requires no burst failure, duplicate or unconfigured pod.
	Clean bool `json:"clean,omitempty"`
}

// Preload says what to write into a contender's data directory before its
// phases.
type Preload struct {
	// Reservations is how many attachments already hold an address.
	Reservations int `json:"reservations"`
	// Format is the on-disk layout: "podnet-store", podnet's IPAM store as
	// docs/podnet.md#ipam-store-format-version-1 specifies it (see writePodnetStore).
	Format string `json:"format"`
}

var (
	validName     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	validMetrics  = []string{results.MetricAddP50, results.MetricDelP50, results.MetricBurst, results.MetricBurstAdd, results.MetricAddCPU, results.MetricDelCPU}
	validFamilies = []string{"ipv4", "ipv6"}
	validFormats  = []string{podnetStore}
)

// LoadTable reads a table from a JSON file (bench/contenders.json is make
// bench's). Relative paths in it are relative to the working directory.
func LoadTable(path string) (Table, error) {
	var t Table
	data, err := os.ReadFile(path)
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal(data, &t); err != nil {
		return t, fmt.Errorf("%s: %w", path, err)
	}
	if err := t.Validate(); err != nil {
		return t, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Validate checks that every contender can be run and every name resolves,
// naming the entry and field at fault.
func (t Table) Validate() error {
	if len(t.Contenders) == 0 {
		return errors.New("no contenders")
	}
	names := map[string]bool{}
	for i, c := range t.Contenders {
		switch {
		case !validName.MatchString(c.Name):
			return fmt.Errorf("contender %d: invalid \"name\" %q", i, c.Name)
		case names[c.Name]:
			return fmt.Errorf("contender %d: \"name\" %q used twice", i, c.Name)
		case c.Plugin == "":
			return fmt.Errorf("contender %s: \"plugin\" missing", c.Name)
		case c.Floor && (c.NetConf != "" || len(c.Fields) > 0):
			return fmt.Errorf("contender %s: a floor takes no \"netconf\" or \"fields\"", c.Name)
		case !c.Floor && c.NetConf == "":
			return fmt.Errorf("contender %s: \"netconf\" missing", c.Name)
		case c.State != "" && !slices.Contains(validStates, c.State):
			return fmt.Errorf("contender %s: \"state\" %q is not one of %v", c.Name, c.State, validStates)
		}
		if err := c.validateNetwork(); err != nil {
			return fmt.Errorf("contender %s: %w", c.Name, err)
		}
		names[c.Name] = true
	}
	if t.Baseline == "" {
		return errors.New("\"baseline\" missing: name the contender the ratios are computed against")
	}
	if !names[t.Baseline] {
		return fmt.Errorf("\"baseline\" %q is not a contender", t.Baseline)
	}
	for _, c := range t.Contenders {
		for _, tg := range c.Targets {
			switch {
			case !slices.Contains(validMetrics, tg.Metric):
				return fmt.Errorf("contender %s: target \"metric\" %q is not one of %v", c.Name, tg.Metric, validMetrics)
			case !names[tg.Against] || tg.Against == c.Name:
				return fmt.Errorf("contender %s: target \"against\" %q is not another contender", c.Name, tg.Against)
			case tg.Limit <= 0:
				return fmt.Errorf("contender %s: target \"limit\" %v must be positive", c.Name, tg.Limit)
			}
		}
	}
	return nil
}

// gateable checks that candidate can be gated against the baseline: a plugin
// contender other than the baseline.
func (t Table) gateable(candidate string) error {
	if candidate == t.Baseline {
		return fmt.Errorf("gate: the candidate %q is the baseline; gate two contenders", candidate)
	}
	for _, c := range t.Contenders {
		if c.Name == candidate {
			return nil
		}
	}
	return fmt.Errorf("gate: the candidate %q is not a contender", candidate)
}

// validateNetwork checks the contender's own network, families and preload.
func (c Contender) validateNetwork() error {
	for field, cidr := range map[string]string{"network": c.Network, "subnet": c.Subnet} {
		if cidr == "" {
			continue
		}
		if ip, _, err := net.ParseCIDR(cidr); err != nil || ip.To4() == nil {
			return fmt.Errorf("%q %q is not an IPv4 CIDR", field, cidr)
		}
	}
	if (c.Network == "") != (c.Subnet == "") {
		return errors.New("\"network\" and \"subnet\" go together")
	}
	seen := map[string]bool{}
	for _, f := range c.Families {
		switch {
		case !slices.Contains(validFamilies, f):
			return fmt.Errorf("\"families\" holds %q, not one of %v", f, validFamilies)
		case seen[f]:
			return fmt.Errorf("\"families\" lists %q twice", f)
		}
		seen[f] = true
	}
	switch {
	case c.Floor && c.Preload != nil:
		return errors.New("a floor takes no \"preload\" (it keeps no state)")
	case c.Floor && len(c.Families) > 0 && !seen["ipv4"]:
		return errors.New("a floor's \"families\" must include \"ipv4\" (it is IPv4 or dual-stack)")
	}
	if p := c.Preload; p != nil {
		switch {
		case !slices.Contains(validFormats, p.Format):
			return fmt.Errorf("preload \"format\" %q is not one of %v", p.Format, validFormats)
		case p.Reservations < 1:
			return fmt.Errorf("preload \"reservations\" %d must be at least 1", p.Reservations)
		case seen["ipv6"]:
			return errors.New("preload writes IPv4 reservations only: no \"ipv6\" family with a preload")
		}
	}
	return nil
}

// families is the contender's address families, "ipv4" when unset.
func (c Contender) families() []string {
	if len(c.Families) == 0 {
		return []string{"ipv4"}
	}
	return c.Families
}
