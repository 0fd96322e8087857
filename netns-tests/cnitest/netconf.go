package cnitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"text/template"
)

// NetConfParams fill a network config template. A template is a plugin's
// config with these placeholders, so one suite can drive any plugin:
//
//	{{.CNIVersion}} {{.Name}} {{.DataDir}} {{.Network}} {{.Subnet}} {{.MTU}}
type NetConfParams struct {
	CNIVersion string
	Name       string
	// DataDir is a fresh directory for the plugin's (or its IPAM's) state.
	DataDir string
	// Network is the whole pod network, Subnet this node's share of it.
	Network, Subnet string
	MTU             int
}

// NetConfTemplate is a parsed network config template.
type NetConfTemplate struct {
	path string
	tmpl *template.Template
}

// LoadNetConfTemplate parses the template at path and checks it renders to
// a JSON object.
func LoadNetConfTemplate(path string) (*NetConfTemplate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("netconf template: %w", err)
	}
	tmpl, err := template.New(path).Option("missingkey=error").Parse(string(data))
	if err != nil {
		return nil, fmt.Errorf("netconf template %s: %w", path, err)
	}
	t := &NetConfTemplate{path: path, tmpl: tmpl}
	if _, err := t.Render(NetConfParams{CNIVersion: "1.0.0", Name: "probe", DataDir: "/probe", Network: "10.99.0.0/16", Subnet: "10.99.1.0/24", MTU: 1400}); err != nil {
		return nil, err
	}
	return t, nil
}

// Render fills the template and returns the config bytes.
func (t *NetConfTemplate) Render(p NetConfParams) ([]byte, error) {
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
