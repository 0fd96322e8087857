package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"reflect"
	"strings"

	"github.com/cnigate/cnigate/deploy"
	"github.com/cnigate/cnigate/plugin/confcheck"
	"github.com/cnigate/cnigate/plugin/netconf"
)

// Config is the cluster-wide settings (ConfigMap podnet-config, key
// config.json): deploy.AgentConfig, the schema the manifest renders, with
// the networks parsed. Every field is validated; unknown keys are refused.
type Config struct {
	deploy.AgentConfig

	network, network6 netip.Prefix // parsed; invalid when not configured
}

// Routes modes.
const (
	RoutesNode = deploy.RoutesNode
	RoutesNone = deploy.RoutesNone
)

// MTUAnnotation on a Node replaces Config.MTU on that node.
const MTUAnnotation = deploy.MTUAnnotation

// DefaultConfig is the config the fields of config.json override: the
// tutorial's settings but for the pod network, which has no default.
func DefaultConfig() Config {
	return Config{AgentConfig: deploy.AgentConfig{
		Name: "podnet", MTU: netconf.DefaultMTU, IPMasq: true, HairpinMode: true, Routes: RoutesNode,
		Portmap: true, Bridge: netconf.DefaultBridge, DataDir: netconf.DefaultDataDir, CNIVersion: "1.0.0",
	}}
}

// LoadConfig reads and validates the config file at path.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// FieldError is a config problem, naming the field.
type FieldError struct {
	Field, Problem string
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %q: %s", e.Field, e.Problem) }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// ParseConfig decodes and validates config.json.
func ParseConfig(data []byte) (*Config, error) {
	if err := checkKeys(data); err != nil {
		return nil, err
	}
	c := DefaultConfig()
	if err := json.Unmarshal(data, &c.AgentConfig); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return nil, fieldErr(typeErr.Field, "a JSON %s cannot be a %s", typeErr.Value, typeErr.Type)
		}
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

var knownKeys = func() map[string]bool {
	keys := map[string]bool{}
	t := reflect.TypeFor[deploy.AgentConfig]()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			keys[name] = true
		}
	}
	return keys
}()

// checkKeys refuses unknown keys, keys given twice and keys in another case
// (encoding/json would silently take "Network" for "network").
func checkKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("config is not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("config is not valid JSON: %w", err)
		}
		key, _ := tok.(string)
		switch {
		case seen[key]:
			return fieldErr(key, "given twice")
		case !knownKeys[key]:
			for known := range knownKeys {
				if strings.EqualFold(key, known) {
					return fieldErr(key, "unknown field (names are case-sensitive: did you mean %q?)", known)
				}
			}
			return fieldErr(key, "unknown field")
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("config is not valid JSON: %w", err)
		}
	}
	return nil
}

func (c *Config) validate() error {
	if err := confcheck.Name(c.Name); err != nil {
		return fieldErr("name", "%v", err)
	}
	var err error
	if c.network, err = parseNetwork("network", c.Network, false); err != nil {
		return err
	}
	if c.network6, err = parseNetwork("network6", c.Network6, true); err != nil {
		return err
	}
	if !c.network.IsValid() && !c.network6.IsValid() {
		return fieldErr("network", `required: the cluster pod network, e.g. "10.244.0.0/16" (or "network6" for IPv6, or both)`)
	}
	if err := confcheck.MTU(c.MTU); err != nil {
		return fieldErr("mtu", "%v", err)
	}
	if c.CNIVersion != "1.0.0" && c.CNIVersion != "1.1.0" {
		return fieldErr("cniVersion", "%q: \"1.0.0\" (every runtime) or \"1.1.0\" (runtimes that send STATUS and GC: containerd 2, CRI-O)", c.CNIVersion)
	}
	if c.Routes != RoutesNode && c.Routes != RoutesNone {
		return fieldErr("routes", "%q: %q (the agent routes other nodes' pod subnets) or %q (the fabric does)", c.Routes, RoutesNode, RoutesNone)
	}
	if err := confcheck.IfName(c.Bridge); err != nil {
		return fieldErr("bridge", "%v", err)
	}
	if err := confcheck.Path(c.DataDir); err != nil {
		return fieldErr("dataDir", "%v", err)
	}
	if c.LogFile != "" {
		if err := confcheck.Path(c.LogFile); err != nil {
			return fieldErr("logFile", "%v", err)
		}
	}
	return nil
}

// parseNetwork accepts "" (family not configured) or what podnet accepts as
// the family's network.
func parseNetwork(field, s string, ipv6 bool) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, nil
	}
	n, err := confcheck.CIDR(s, ipv6)
	if err == nil {
		err = confcheck.Network(n, ipv6)
	}
	if err != nil {
		return netip.Prefix{}, fieldErr(field, "%v", err)
	}
	p, ok := prefixOf(n)
	if !ok {
		return netip.Prefix{}, fieldErr(field, "%q is not a CIDR", s)
	}
	return p, nil
}

// networkOf returns the configured network of a family (invalid when the
// family is not configured).
func (c *Config) networkOf(ipv6 bool) netip.Prefix {
	if ipv6 {
		return c.network6
	}
	return c.network
}

// families lists the configured families, IPv4 first.
func (c *Config) families() []bool {
	var fs []bool
	if c.network.IsValid() {
		fs = append(fs, false)
	}
	if c.network6.IsValid() {
		fs = append(fs, true)
	}
	return fs
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func familyName(ipv6 bool) string {
	if ipv6 {
		return "IPv6"
	}
	return "IPv4"
}
