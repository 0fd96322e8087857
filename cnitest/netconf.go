package cnitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/template"
)

// NetConfParams fill a network config template. A template is a plugin's
// config with these placeholders, so one suite can drive any plugin:
//
//	{{.CNIVersion}} {{.Name}} {{.DataDir}} {{.Network}} {{.Subnet}} {{.Network6}} {{.Subnet6}} {{.MTU}}
type NetConfParams struct {
	CNIVersion string
	Name       string
	// DataDir is a fresh directory for the plugin's (or its IPAM's) state.
	DataDir string
	// Network is the whole pod network, Subnet this node's share of it.
	Network, Subnet string
	// Network6 and Subnet6 are the same for IPv6. In a plain netconf an
	// empty one removes its knob's key (an IPv4-only variant of a
	// dual-stack conf).
	Network6, Subnet6 string
	MTU               int
}

// NetConfKnobs say where a plain netconf (no placeholders) takes the
// NetConfParams: dotted JSON paths, numbers indexing arrays
// ("ipam.ranges.0.0.subnet"). An empty path leaves that parameter out.
type NetConfKnobs struct {
	DataDir string `json:"dataDir"`
	Subnet  string `json:"subnet"`
	Network string `json:"network"`
	// Subnet6 and Network6 are the IPv6 knobs ("ipam.ranges.1.0.subnet":
	// host-local's second range).
	Subnet6  string `json:"subnet6"`
	Network6 string `json:"network6"`
	MTU      string `json:"mtu"`
}

// knobCandidates are where the common plugins keep each knob, tried in order
// when a plain netconf comes without the knob's path.
var knobCandidates = map[string][]string{
	"dataDir":  {"dataDir", "ipam.dataDir"},
	"subnet":   {"subnet", "ipam.subnet", "ipam.ranges.0.0.subnet"},
	"network":  {"network"},
	"subnet6":  {"subnet6"},
	"network6": {"network6"},
	"mtu":      {"mtu"},
}

// NetConfTemplate is a network config the suite or the bench fills per
// test: a Go template with NetConfParams placeholders, or a plain netconf
// whose cniVersion and name are set, and whose knobs are written at their
// paths.
type NetConfTemplate struct {
	path  string
	tmpl  *template.Template // nil: plain
	plain map[string]any
	knobs NetConfKnobs
}

// LoadNetConfTemplate reads a netconf (template or plain, see
// ParseNetConf) from path.
func LoadNetConfTemplate(path string) (*NetConfTemplate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("netconf: %w", err)
	}
	return ParseNetConf(path, data, NetConfKnobs{})
}

// ParseNetConf parses a netconf named name: a Go template when it holds
// "{{", else a plain JSON object whose knobs are found at the given paths or,
// for an empty path, at the first of the usual places that exists. It checks
// the config renders to a JSON object.
func ParseNetConf(name string, data []byte, knobs NetConfKnobs) (*NetConfTemplate, error) {
	t := &NetConfTemplate{path: name}
	if bytes.Contains(data, []byte("{{")) {
		tmpl, err := template.New(name).Option("missingkey=error").Parse(string(data))
		if err != nil {
			return nil, fmt.Errorf("netconf template %s: %w", name, err)
		}
		t.tmpl = tmpl
	} else {
		if err := json.Unmarshal(data, &t.plain); err != nil {
			return nil, fmt.Errorf("netconf %s is not a JSON object: %w", name, err)
		}
		t.knobs = knobs
		for key, path := range map[string]*string{"dataDir": &t.knobs.DataDir, "subnet": &t.knobs.Subnet, "network": &t.knobs.Network, "subnet6": &t.knobs.Subnet6, "network6": &t.knobs.Network6, "mtu": &t.knobs.MTU} {
			if *path != "" {
				if _, err := lookupPath(t.plain, *path); err != nil {
					return nil, fmt.Errorf("netconf %s: knob %s: %w", name, key, err)
				}
				continue
			}
			for _, candidate := range knobCandidates[key] {
				if _, err := lookupPath(t.plain, candidate); err == nil {
					*path = candidate
					break
				}
			}
		}
	}
	if _, err := t.Render(NetConfParams{CNIVersion: "1.0.0", Name: "probe", DataDir: "/probe", Network: "10.99.0.0/16", Subnet: "10.99.1.0/24", Network6: "fd00:10:99::/48", Subnet6: "fd00:10:99:1::/64", MTU: 1400}); err != nil {
		return nil, err
	}
	return t, nil
}

// Knobs are the paths a plain netconf takes its parameters at (all empty
// for a template).
func (t *NetConfTemplate) Knobs() NetConfKnobs { return t.knobs }

// Render fills the template and returns the config bytes.
func (t *NetConfTemplate) Render(p NetConfParams) ([]byte, error) {
	if t.tmpl == nil {
		return t.renderPlain(p)
	}
	var buf bytes.Buffer
	if err := t.tmpl.Execute(&buf, p); err != nil {
		return nil, fmt.Errorf("netconf template %s: %w", t.path, err)
	}
	var obj map[string]any
	if err := json.Unmarshal(buf.Bytes(), &obj); err != nil {
		return nil, fmt.Errorf("netconf template %s does not render to a JSON object: %w", t.path, err)
	}
	return buf.Bytes(), nil
}

func (t *NetConfTemplate) renderPlain(p NetConfParams) ([]byte, error) {
	// A deep copy through JSON, so renders never share maps.
	data, err := json.Marshal(t.plain)
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	obj["cniVersion"], obj["name"] = p.CNIVersion, p.Name
	for _, k := range []struct {
		path  string
		value any
	}{{t.knobs.DataDir, p.DataDir}, {t.knobs.Subnet, p.Subnet}, {t.knobs.Network, p.Network}, {t.knobs.Subnet6, p.Subnet6}, {t.knobs.Network6, p.Network6}, {t.knobs.MTU, p.MTU}} {
		if k.path == "" {
			continue
		}
		if k.value == "" && (k.path == t.knobs.Subnet6 || k.path == t.knobs.Network6) {
			if err := deletePath(obj, k.path); err != nil {
				return nil, fmt.Errorf("netconf %s: %w", t.path, err)
			}
			continue
		}
		if err := setPath(obj, k.path, k.value); err != nil {
			return nil, fmt.Errorf("netconf %s: %w", t.path, err)
		}
	}
	return json.Marshal(obj)
}

// lookupPath returns the value at a dotted path of a decoded JSON object.
func lookupPath(obj map[string]any, path string) (any, error) {
	var cur any = obj
	for _, part := range strings.Split(path, ".") {
		switch node := cur.(type) {
		case map[string]any:
			v, ok := node[part]
			if !ok {
				return nil, fmt.Errorf("%s: no %q", path, part)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(node) {
				return nil, fmt.Errorf("%s: no element %q", path, part)
			}
			cur = node[i]
		default:
			return nil, fmt.Errorf("%s: %q is inside a %T", path, part, cur)
		}
	}
	return cur, nil
}

// parentOf returns the node holding the last element of a dotted path, and
// that element's name.
func parentOf(obj map[string]any, path string) (parent any, last string, err error) {
	i := strings.LastIndex(path, ".")
	if i < 0 {
		return obj, path, nil
	}
	parent, err = lookupPath(obj, path[:i])
	return parent, path[i+1:], err
}

// setPath sets the value at a dotted path whose parent exists.
func setPath(obj map[string]any, path string, value any) error {
	parent, last, err := parentOf(obj, path)
	if err != nil {
		return err
	}
	switch node := parent.(type) {
	case map[string]any:
		node[last] = value
	case []any:
		i, err := strconv.Atoi(last)
		if err != nil || i < 0 || i >= len(node) {
			return fmt.Errorf("%s: no element %q", path, last)
		}
		node[i] = value
	default:
		return fmt.Errorf("%s: parent is a %T", path, parent)
	}
	return nil
}

// deletePath removes the object key at a dotted path whose parent exists
// (an array element cannot be removed: host-local's range list keeps its
// shape).
func deletePath(obj map[string]any, path string) error {
	parent, last, err := parentOf(obj, path)
	if err != nil {
		return err
	}
	node, ok := parent.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: parent is a %T, the key cannot be removed", path, parent)
	}
	delete(node, last)
	return nil
}

// WithFields returns conf with top-level fields set (nil deletes), for specs
// that need a variant of a rendered config (prevResult, GC attachments, a
// broken value).
func WithFields(conf []byte, fields map[string]any) ([]byte, error) {
	var obj map[string]any
	if err := json.Unmarshal(conf, &obj); err != nil {
		return nil, err
	}
	for k, v := range fields {
		if v == nil {
			delete(obj, k)
		} else {
			obj[k] = v
		}
	}
	return json.Marshal(obj)
}

// IsTemplate reports whether the netconf is a Go template.
func (t *NetConfTemplate) IsTemplate() bool { return t.tmpl != nil }
