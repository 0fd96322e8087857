package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
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

var (
	validName    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	validMetrics = []string{"add_p50", "del_p50", "burst"}
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
