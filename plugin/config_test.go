package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/cnigate/cnigate/plugin/confcheck"
	"github.com/cnigate/cnigate/plugin/ipam"
)

func TestLoadNetConfDefaults(t *testing.T) {
	// The bash-cni tutorial's config with only "type" changed.
	n, cniVersion, err := loadNetConf([]byte(`{"cniVersion":"0.3.1","name":"mynet","type":"podnet","network":"10.244.0.0/16","subnet":"10.244.1.0/24"}`))
	if err != nil {
		t.Fatal(err)
	}
	if cniVersion != "0.3.1" || n.Bridge != "cni0" || n.MTU != 1500 || !n.masquerade() || !n.hairpin() || n.DataDir != "/var/lib/cni/podnet" || n.LogFile != "" {
		t.Fatalf("defaults: version=%s bridge=%s mtu=%d masq=%v hairpin=%v dataDir=%s logFile=%q", cniVersion, n.Bridge, n.MTU, n.masquerade(), n.hairpin(), n.DataDir, n.LogFile)
	}
	if n.families[0].pool.Gateway.String() != "10.244.1.1" {
		t.Fatalf("gateway %s, want 10.244.1.1", n.families[0].pool.Gateway)
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
		{"ipam section without type", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","ipam":{}}`, types.ErrUnsupportedField, `"ipam"`},
		{"ipam null", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","ipam":null}`, types.ErrUnsupportedField, `"ipam"`},
		{"name too long", `{"cniVersion":"1.0.0","name":"` + strings.Repeat("n", 129) + `","type":"podnet","network":"10.244.0.0/16","subnet":"10.244.1.0/24"}`, types.ErrInvalidNetworkConfig, `"name"`},
		{"name with space", `{"cniVersion":"1.0.0","name":"my net","type":"podnet","network":"10.244.0.0/16","subnet":"10.244.1.0/24"}`, types.ErrInvalidNetworkConfig, `"name"`},
		{"name dot", `{"cniVersion":"1.0.0","name":".","type":"podnet","network":"10.244.0.0/16","subnet":"10.244.1.0/24"}`, types.ErrInvalidNetworkConfig, `"name"`},
		{"name empty", `{"cniVersion":"1.0.0","name":"","type":"podnet","network":"10.244.0.0/16","subnet":"10.244.1.0/24"}`, types.ErrInvalidNetworkConfig, `"name"`},
		{"network everything", `{` + base + `,"network":"0.0.0.0/0","subnet":"10.244.1.0/24"}`, types.ErrInvalidNetworkConfig, `"network"`},
		{"network /7", `{` + base + `,"network":"10.0.0.0/7","subnet":"10.244.1.0/24"}`, types.ErrInvalidNetworkConfig, `"network"`},
		{"network this-network", `{` + base + `,"network":"0.0.0.0/8","subnet":"0.0.1.0/24"}`, types.ErrInvalidNetworkConfig, `"network"`},
		{"network loopback", `{` + base + `,"network":"127.0.0.0/16","subnet":"127.0.1.0/24"}`, types.ErrInvalidNetworkConfig, `"network"`},
		{"network link-local", `{` + base + `,"network":"169.254.0.0/16","subnet":"169.254.1.0/24"}`, types.ErrInvalidNetworkConfig, `"network"`},
		{"network multicast", `{` + base + `,"network":"239.1.0.0/16","subnet":"239.1.1.0/24"}`, types.ErrInvalidNetworkConfig, `"network"`},
		{"network reserved", `{` + base + `,"network":"250.0.0.0/8","subnet":"250.1.1.0/24"}`, types.ErrInvalidNetworkConfig, `"network"`},
		{"network covering link-local", `{` + base + `,"network":"169.0.0.0/8","subnet":"169.1.1.0/24"}`, types.ErrInvalidNetworkConfig, `"network"`},
		{"dataDir not clean", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","dataDir":"/var/lib/../tmp"}`, types.ErrInvalidNetworkConfig, `"dataDir"`},
		{"dataDir root", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","dataDir":"/"}`, types.ErrInvalidNetworkConfig, `"dataDir"`},
		{"logFile trailing slash", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","logFile":"/var/log/"}`, types.ErrInvalidNetworkConfig, `"logFile"`},
		{"key given twice", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","subnet":"10.244.2.0/24"}`, types.ErrInvalidNetworkConfig, `"subnet"`},
		{"key in another case", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","Subnet":"10.244.2.0/24"}`, types.ErrInvalidNetworkConfig, `"Subnet"`},
		{"mtu not a number", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","mtu":"1500"}`, types.ErrInvalidNetworkConfig, `"mtu"`},
		{"hairpinMode not a bool", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","hairpinMode":"yes"}`, types.ErrInvalidNetworkConfig, `"hairpinMode"`},
		{"ipMasq not a bool", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","ipMasq":1}`, types.ErrInvalidNetworkConfig, `"ipMasq"`},
		{"nodeAgent not a bool", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","nodeAgent":"yes"}`, types.ErrInvalidNetworkConfig, `"nodeAgent"`},
		{"capabilities not an object", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","capabilities":1}`, types.ErrInvalidNetworkConfig, `"capabilities"`},
		{"nodeAgent case", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","NodeAgent":true}`, types.ErrInvalidNetworkConfig, `"NodeAgent"`},
		{"not an object", `[1]`, types.ErrDecodingFailure, "parse"},
		{"nothing configured", `{` + base + `}`, types.ErrInvalidNetworkConfig, `invalid "network": required: "network" and "subnet" for IPv4, "network6" and "subnet6" for IPv6`},
		{"network6 without subnet6", `{` + base + `,"network6":"fd00:10:244::/56"}`, types.ErrInvalidNetworkConfig, `"subnet6"`},
		{"subnet6 without network6", `{` + base + `,"subnet6":"fd00:10:244:1::/64"}`, types.ErrInvalidNetworkConfig, `"network6"`},
		{"network6 IPv4", `{` + base + `,"network6":"10.244.0.0/16","subnet6":"10.244.1.0/24"}`, types.ErrInvalidNetworkConfig, `"network6"`},
		{"subnet6 IPv4", `{` + base + `,"network6":"fd00:10:244::/56","subnet6":"10.244.1.0/24"}`, types.ErrInvalidNetworkConfig, `"subnet6"`},
		{"network6 not a CIDR", `{` + base + `,"network6":"fd00::","subnet6":"fd00::/64"}`, types.ErrInvalidNetworkConfig, `"network6"`},
		{"network6 host bits", `{` + base + `,"network6":"fd00::1/56","subnet6":"fd00::/64"}`, types.ErrInvalidNetworkConfig, `"network6"`},
		{"subnet6 host bits", `{` + base + `,"network6":"fd00::/56","subnet6":"fd00::1/64"}`, types.ErrInvalidNetworkConfig, `"subnet6"`},
		{"network6 everything", `{` + base + `,"network6":"::/0","subnet6":"fd00::/64"}`, types.ErrInvalidNetworkConfig, `"network6"`},
		{"network6 /7", `{` + base + `,"network6":"fc00::/7","subnet6":"fd00::/64"}`, types.ErrInvalidNetworkConfig, `"network6"`},
		{"network6 link-local", `{` + base + `,"network6":"fe80::/16","subnet6":"fe80::/64"}`, types.ErrInvalidNetworkConfig, `"network6"`},
		{"network6 multicast", `{` + base + `,"network6":"ff05::/16","subnet6":"ff05::/64"}`, types.ErrInvalidNetworkConfig, `"network6"`},
		{"network6 loopback", `{` + base + `,"network6":"::1/128","subnet6":"::1/128"}`, types.ErrInvalidNetworkConfig, `"network6"`},
		{"network6 v4-mapped", `{` + base + `,"network6":"::ffff:10.0.0.0/104","subnet6":"::ffff:10.0.1.0/120"}`, types.ErrInvalidNetworkConfig, `"network6"`},
		{"network6 v4-mapped range", `{` + base + `,"network6":"::ffff:0:0/96","subnet6":"::ffff:0:0/112"}`, types.ErrInvalidNetworkConfig, `"network6"`},
		{"network6 covering ::/8", `{` + base + `,"network6":"::/7","subnet6":"::/64"}`, types.ErrInvalidNetworkConfig, `"network6"`},
		{"subnet6 outside network6", `{` + base + `,"network6":"fd00:10:244::/56","subnet6":"fd00:10:245::/64"}`, types.ErrInvalidNetworkConfig, `"subnet6"`},
		{"subnet6 wider than /64", `{` + base + `,"network6":"fd00:10::/32","subnet6":"fd00:10:244::/56"}`, types.ErrInvalidNetworkConfig, `"subnet6"`},
		{"subnet6 too small", `{` + base + `,"network6":"fd00:10:244::/56","subnet6":"fd00:10:244:1::/127"}`, types.ErrInvalidNetworkConfig, `"subnet6"`},
		{"dual with bad subnet6", `{` + base + `,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","network6":"fd00:10:244::/56","subnet6":"fd00:10:244:1::/65536"}`, types.ErrInvalidNetworkConfig, `"subnet6"`},
		{"subnet6 not a string", `{` + base + `,"network6":"fd00:10:244::/56","subnet6":64}`, types.ErrInvalidNetworkConfig, `"subnet6"`},
		{"Subnet6 in another case", `{` + base + `,"network6":"fd00:10:244::/56","Subnet6":"fd00:10:244:1::/64"}`, types.ErrInvalidNetworkConfig, `"Subnet6"`},
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

func TestLoadNetConfAccepts(t *testing.T) {
	base := `"cniVersion":"1.0.0","type":"podnet"`
	tests := []struct {
		name, conf string
		check      func(*NetConf) bool
	}{
		{"hairpin off", `{` + base + `,"name":"n","network":"10.244.0.0/16","subnet":"10.244.1.0/24","hairpinMode":false}`, func(n *NetConf) bool { return !n.hairpin() }},
		{"/8 network", `{` + base + `,"name":"n","network":"10.0.0.0/8","subnet":"10.244.1.0/24"}`, func(n *NetConf) bool { return n.families[0].network.String() == "10.0.0.0/8" }},
		{"longest name", `{` + base + `,"name":"` + strings.Repeat("n", confcheck.MaxNameLen) + `","network":"10.244.0.0/16","subnet":"10.244.1.0/24"}`, func(n *NetConf) bool { return len(n.Name) == confcheck.MaxNameLen }},
		{"name with _.-", `{` + base + `,"name":"a_b.c-d","network":"10.244.0.0/16","subnet":"10.244.1.0/24"}`, func(n *NetConf) bool { return true }},
		{"IPv6 only", `{` + base + `,"name":"n","network6":"fd00:10:244::/56","subnet6":"fd00:10:244:1::/64"}`, func(n *NetConf) bool {
			return len(n.families) == 1 && n.families[0].ipv6 && n.families[0].pool.Gateway.String() == "fd00:10:244:1::1"
		}},
		{"dual-stack, IPv4 first", `{` + base + `,"name":"n","network":"10.244.0.0/16","subnet":"10.244.1.0/24","network6":"fd00:10:244::/56","subnet6":"fd00:10:244:1::/64"}`, func(n *NetConf) bool {
			return len(n.families) == 2 && !n.families[0].ipv6 && n.families[1].ipv6 && n.families[1].network.String() == "fd00:10:244::/56"
		}},
		{"/8 network6, /126 subnet6", `{` + base + `,"name":"n","network6":"fd00::/8","subnet6":"fd00:1::/126"}`, func(n *NetConf) bool {
			return n.families[0].pool.Size() == 2
		}},
		{"unknown keys are CNI's business", `{` + base + `,"name":"n","network":"10.244.0.0/16","subnet":"10.244.1.0/24","runtimeConfig":{},"args":{"x":1},"somethingElse":true}`, func(n *NetConf) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, _, err := loadNetConf([]byte(tt.conf))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(n) {
				t.Fatalf("unexpected %+v", n)
			}
		})
	}
}

func TestGCKeep(t *testing.T) {
	conf := `{"cniVersion":"1.1.0","name":"n","type":"podnet","network":"10.244.0.0/16","subnet":"10.244.1.0/24"`
	c1 := ipam.Attachment{ContainerID: "c1", IfName: "eth0"}
	c2 := ipam.Attachment{ContainerID: "c2", IfName: "eth0"}
	tests := []struct {
		name, extra string
		want        map[ipam.Attachment]bool
		wantErr     string
	}{
		{name: "absent", extra: ``, wantErr: `"cni.dev/valid-attachments"`},
		{name: "misspelt", extra: `,"cni.dev/valid-attachment":[]`, wantErr: `"cni.dev/valid-attachments"`},
		{name: "empty: release everything", extra: `,"cni.dev/valid-attachments":[]`, want: map[ipam.Attachment]bool{}},
		{name: "null: libcni's empty list", extra: `,"cni.dev/valid-attachments":null,"cni.dev/attachments":null`, want: map[ipam.Attachment]bool{}},
		{name: "spec key", extra: `,"cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}]`, want: map[ipam.Attachment]bool{c1: true}},
		{name: "libcni key only", extra: `,"cni.dev/attachments":[{"containerID":"c2","ifname":"eth0"}]`, want: map[ipam.Attachment]bool{c2: true}},
		{name: "both: union", extra: `,"cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}],"cni.dev/attachments":[{"containerID":"c2","ifname":"eth0"}]`, want: map[ipam.Attachment]bool{c1: true, c2: true}},
		{name: "not a list", extra: `,"cni.dev/valid-attachments":{"containerID":"c1"}`, wantErr: `"cni.dev/valid-attachments"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, _, err := loadNetConf([]byte(conf + tt.extra + "}"))
			if err == nil {
				var keep map[ipam.Attachment]bool
				if keep, err = n.gcKeep(); err == nil {
					if tt.wantErr != "" || fmt.Sprint(keep) != fmt.Sprint(tt.want) {
						t.Fatalf("keep = %v, want %v (error %s)", keep, tt.want, tt.wantErr)
					}
					return
				}
			}
			var cniErr *types.Error
			if tt.wantErr == "" || !errors.As(err, &cniErr) || cniErr.Code != types.ErrInvalidNetworkConfig || !strings.Contains(cniErr.Msg, tt.wantErr) {
				t.Fatalf("error %v, want code 7 naming %s", err, tt.wantErr)
			}
		})
	}
}
