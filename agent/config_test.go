package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const validConfig = `{"name":"podnet","network":"10.244.0.0/16","network6":"","mtu":1500,"ipMasq":true,"hairpinMode":true,` +
	`"routes":"node","portmap":true,"bridge":"cni0","dataDir":"/var/lib/cni/podnet","logFile":"/var/log/podnet.log"}`

func TestParseConfig(t *testing.T) {
	// with replaces the value of key in validConfig (or appends it).
	with := func(key, value string) string {
		i := strings.Index(validConfig, `"`+key+`":`)
		if i < 0 {
			return strings.TrimSuffix(validConfig, "}") + `,"` + key + `":` + value + "}"
		}
		rest := validConfig[i+len(key)+3:]
		end := strings.IndexAny(rest, ",}")
		return validConfig[:i] + `"` + key + `":` + value + rest[end:]
	}
	tests := []struct {
		name, conf string
		field      string // the field the error must name; "" for a valid config
	}{
		{"the contract's example", validConfig, ""},
		{"only network", `{"network":"10.244.0.0/16"}`, ""},
		{"only network6", `{"network6":"fd00:10:244::/56"}`, ""},
		{"dual", with("network6", `"fd00:10:244::/56"`), ""},
		{"routes none", with("routes", `"none"`), ""},
		{"no logFile", with("logFile", `""`), ""},
		{"no network", `{"name":"podnet"}`, "network"},
		{"unknown key", with("subnet", `"10.244.1.0/24"`), "subnet"},
		{"key in another case", with("Network", `"10.244.0.0/16"`), "Network"},
		{"key twice", strings.TrimSuffix(validConfig, "}") + `,"mtu":1400}`, "mtu"},
		{"name empty", with("name", `""`), "name"},
		{"name with slash", with("name", `"a/b"`), "name"},
		{"name too long", with("name", `"`+strings.Repeat("n", 129)+`"`), "name"},
		{"network not a CIDR", with("network", `"10.244.0.0"`), "network"},
		{"network host bits", with("network", `"10.244.0.1/16"`), "network"},
		{"network IPv6", with("network", `"fd00::/48"`), "network"},
		{"network too wide", with("network", `"10.0.0.0/7"`), "network"},
		{"network loopback", with("network", `"127.0.0.0/16"`), "network"},
		{"network6 IPv4", with("network6", `"10.245.0.0/16"`), "network6"},
		{"network6 mapped IPv4", with("network6", `"::ffff:10.244.0.0/112"`), "network6"},
		{"network6 link-local", with("network6", `"fe80::/64"`), "network6"},
		{"mtu too small", with("mtu", `67`), "mtu"},
		{"mtu too large", with("mtu", `65536`), "mtu"},
		{"mtu a string", with("mtu", `"1500"`), "mtu"},
		{"ipMasq a string", with("ipMasq", `"yes"`), "ipMasq"},
		{"hairpinMode a number", with("hairpinMode", `1`), "hairpinMode"},
		{"portmap a string", with("portmap", `"true"`), "portmap"},
		{"routes unknown", with("routes", `"bgp"`), "routes"},
		{"cniVersion 1.1.0", with("cniVersion", `"1.1.0"`), ""},
		{"cniVersion unknown", with("cniVersion", `"0.4.0"`), "cniVersion"},
		{"bridge empty", with("bridge", `""`), "bridge"},
		{"bridge too long", with("bridge", `"a-very-long-bridge"`), "bridge"},
		{"dataDir relative", with("dataDir", `"data"`), "dataDir"},
		{"dataDir unclean", with("dataDir", `"/var/lib/../tmp"`), "dataDir"},
		{"logFile relative", with("logFile", `"podnet.log"`), "logFile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tt.conf))
			if tt.field == "" {
				if err != nil {
					t.Fatalf("%s: %v", tt.conf, err)
				}
				if len(c.families()) == 0 {
					t.Fatal("no family configured")
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !strings.Contains(err.Error(), `"`+tt.field+`"`) {
				t.Fatalf("%s: got %v, want an error naming %q", tt.conf, err, tt.field)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(`{"network":"10.244.0.0/16"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Network = "10.244.0.0/16"
	if c.Name != want.Name || c.MTU != want.MTU || !c.IPMasq || !c.HairpinMode || c.Routes != RoutesNode ||
		!c.Portmap || c.Bridge != "cni0" || c.DataDir != "/var/lib/cni/podnet" || c.LogFile != "" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadConfig(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("missing file accepted")
	}
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(`{"network":"10.244.0.0/16","mtu":0}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `"mtu"`) {
		t.Fatalf("got %v, want an error naming the file and the field", err)
	}
	for _, bad := range []string{``, `[]`, `{"network":`} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}
