package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/cnigate/cnigate/plugin/ipam"
)

func TestLoadNetConfDefaults(t *testing.T) {
	// The bash-cni tutorial's config with only "type" changed.
	n, cniVersion, err := loadNetConf([]byte(`{"cniVersion":"0.3.1","name":"mynet","type":"podnet","network":"10.244.0.0/16","subnet":"10.244.1.0/24"}`))
	if err != nil {
		t.Fatal(err)
	}
	if cniVersion != "0.3.1" || n.Bridge != "cni0" || n.MTU != 1500 || !n.masquerade() || n.DataDir != "/var/lib/cni/podnet" || n.LogFile != "" {
		t.Fatalf("defaults: version=%s bridge=%s mtu=%d masq=%v dataDir=%s logFile=%q", cniVersion, n.Bridge, n.MTU, n.masquerade(), n.DataDir, n.LogFile)
	}
	if n.pool.Gateway.String() != "10.244.1.1" {
		t.Fatalf("gateway %s, want 10.244.1.1", n.pool.Gateway)
	}
}

func TestLoadNetConfRejects(t *testing.T) {
	base := `"cniVersion":"1.0.0","name":"mynet","type":"podnet"`
	tests := []struct {
		name, conf string
		code       uint
		mention    string // the field the message must name
	}{
		{"not JSON", `{`, types.ErrDecodingFailure, "parse"},
		{"missing network", `{` + base + `,"subnet":"10.244.1.0/24"}`, types.ErrInvalidNetworkConfig, `"network"`},
		{"missing subnet", `{` + base + `,"network":"10.244.0.0/16"}`, types.ErrInvalidNetworkConfig, `"subnet"`},
		{"network not a CIDR", `{` + base + `,"network":"10.244.0.0","subnet":"10.244.1.0/24"}`, types.ErrInvalidNetworkConfig, `"network"`},
		{"subnet not a CIDR", `{` + base + `,"network":"10.244.0.0/16","subnet":"banana"}`, types.ErrInvalidNetworkConfig, `"subnet"`},
		{"subnet host bits", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.7/24"}`, types.ErrInvalidNetworkConfig, `"subnet"`},
		{"subnet outside network", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.245.1.0/24"}`, types.ErrInvalidNetworkConfig, `"subnet"`},
		{"subnet wider than network", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.0.0.0/8"}`, types.ErrInvalidNetworkConfig, `"subnet"`},
		{"subnet too small", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/31"}`, types.ErrInvalidNetworkConfig, `"subnet"`},
		{"IPv6", `{` + base + `,"network":"fd00::/48","subnet":"fd00::/64"}`, types.ErrInvalidNetworkConfig, `"network"`},
		{"MTU too small", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","mtu":67}`, types.ErrInvalidNetworkConfig, `"mtu"`},
		{"MTU too large", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","mtu":65536}`, types.ErrInvalidNetworkConfig, `"mtu"`},
		{"bridge too long", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","bridge":"a-very-long-bridge"}`, types.ErrInvalidNetworkConfig, `"bridge"`},
		{"bridge with slash", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","bridge":"br/0"}`, types.ErrInvalidNetworkConfig, `"bridge"`},
		{"empty bridge", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","bridge":""}`, types.ErrInvalidNetworkConfig, `"bridge"`},
		{"relative dataDir", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","dataDir":"data"}`, types.ErrInvalidNetworkConfig, `"dataDir"`},
		{"relative logFile", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","logFile":"podnet.log"}`, types.ErrInvalidNetworkConfig, `"logFile"`},
		{"name with slash", `{"cniVersion":"1.0.0","name":"../etc","type":"podnet","network":"10.244.0.0/16","subnet":"10.244.1.0/24"}`, types.ErrInvalidNetworkConfig, `"name"`},
		{"ipam section", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","ipam":{"type":"host-local"}}`, types.ErrUnsupportedField, `"ipam"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadNetConf([]byte(tt.conf))
			var cniErr *types.Error
			if !errors.As(err, &cniErr) {
				t.Fatalf("loadNetConf = %v, want a CNI error", err)
			}
			if cniErr.Code != tt.code || !strings.Contains(cniErr.Msg, tt.mention) {
				t.Fatalf("got code %d %q, want code %d naming %s", cniErr.Code, cniErr.Msg, tt.code, tt.mention)
			}
		})
	}
}

func TestHostVethName(t *testing.T) {
	netA := &NetConf{}
	netA.Name = "a"
	netB := &NetConf{}
	netB.Name = "b"
	c1 := ipam.Attachment{ContainerID: "c1", IfName: "eth0"}
	name := hostVethName(netA, c1)
	if len(name) > 15 || !strings.HasPrefix(name, "pn") {
		t.Fatalf("%q is not a valid podnet host veth name", name)
	}
	if name != hostVethName(netA, c1) {
		t.Fatal("name is not stable")
	}
	others := map[string]string{
		"other interface":            hostVethName(netA, ipam.Attachment{ContainerID: "c1", IfName: "net1"}),
		"other container":            hostVethName(netA, ipam.Attachment{ContainerID: "c2", IfName: "eth0"}),
		"same attachment, other net": hostVethName(netB, c1),
	}
	for what, other := range others {
		if other == name {
			t.Errorf("%s shares host veth %q", what, name)
		}
	}
}
